package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The {@code post_processor} of tokenizer.json: adds special tokens (BOS, EOS...) around one sequence. */
sealed interface PostProcessor {

    int[] process(int[] ids);

    /** Adds nothing: no post-processor, or one (ByteLevel) that only adjusts offsets. */
    PostProcessor NONE = new Sequence(List.of());

    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            for (PostProcessor step : steps) {
                ids = step.process(ids);
            }
            return ids;
        }
    }

    /**
     * TemplateProcessing's {@code single} template: fixed ids before and after the sequence.
     * (Only single sequences are encoded here; the {@code pair} template is not used.)
     */
    record Template(int[] before, int[] after) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            IntList out = new IntList(before.length + ids.length + after.length);
            out.addAll(before);
            out.addAll(ids);
            out.addAll(after);
            return out.toArray();
        }
    }

    static PostProcessor parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = TokenizerJson.type(node);
        return switch (type) {
            case "Sequence" -> {
                List<PostProcessor> steps = new ArrayList<>();
                node.path("processors").forEach(child -> steps.add(parse(child)));
                yield new Sequence(List.copyOf(steps));
            }
            case "ByteLevel" -> NONE;
            case "TemplateProcessing" -> parseTemplate(node);
            // BERT and RoBERTa wrap a single sequence as  CLS ... SEP.
            case "BertProcessing", "RobertaProcessing" -> new Template(
                    new int[] {node.path("cls").path(1).asInt()}, new int[] {node.path("sep").path(1).asInt()});
            default -> throw TokenizerJson.unsupported("post_processor " + type);
        };
    }

    private static Template parseTemplate(JsonNode node) {
        IntList before = new IntList();
        IntList after = new IntList();
        boolean seenSequence = false;
        for (JsonNode item : node.path("single")) {
            if (item.has("Sequence")) {
                String id = item.get("Sequence").path("id").asText();
                if (!id.equals("A") || seenSequence) {
                    throw TokenizerJson.unsupported("TemplateProcessing single template item " + item);
                }
                seenSequence = true;
            } else if (item.has("SpecialToken")) {
                String name = item.get("SpecialToken").path("id").asText();
                JsonNode ids = node.path("special_tokens").path(name).path("ids");
                if (!ids.isArray()) {
                    throw new IllegalArgumentException("TemplateProcessing special token " + name + " has no ids");
                }
                IntList target = seenSequence ? after : before;
                ids.forEach(id -> target.add(id.asInt()));
            } else {
                throw TokenizerJson.unsupported("TemplateProcessing single template item " + item);
            }
        }
        return new Template(before.toArray(), after.toArray());
    }
}
