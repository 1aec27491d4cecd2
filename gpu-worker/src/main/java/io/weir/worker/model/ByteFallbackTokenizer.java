package io.weir.worker.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Builds Llama-2-style ("legacy") tokenizer files for a random checkpoint: a SentencePiece-shaped BPE
 * with byte fallback, laid out like {@code stories260K/tokenizer.json}. Ids: 0 {@code <unk>},
 * 1 {@code <s>}, 2 {@code </s>}, 3..258 the byte tokens {@code <0x00>}..{@code <0xFF>}, then filler
 * pieces ({@code ▁}, single characters, then lower-case letter strings with and without {@code ▁})
 * up to the vocabulary size. There are no merges: text encodes to single characters and bytes.
 */
final class ByteFallbackTokenizer {
    static final String SPACE = "\u2581"; // ▁, SentencePiece's word boundary
    static final int SPECIAL_AND_BYTES = 3 + 256;

    private ByteFallbackTokenizer() {}

    /** tokenizer.json for {@code vocabSize} ids (at least {@value #SPECIAL_AND_BYTES}). */
    static ObjectNode tokenizerJson(ObjectMapper json, int vocabSize) {
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < specials.length; id++) {
            added.addObject().put("id", id).put("content", specials[id]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }

        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode norms = normalizer.putArray("normalizers");
        norms.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode replace = norms.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");

        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");

        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decs = decoder.putArray("decoders");
        ObjectNode unspace = decs.addObject().put("type", "Replace");
        unspace.putObject("pattern").put("String", SPACE);
        unspace.put("content", " ");
        decs.addObject().put("type", "ByteFallback");
        decs.addObject().put("type", "Fuse");
        decs.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);

        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        int id = 0;
        for (String piece : pieces(vocabSize)) vocab.put(piece, id++);
        model.putArray("merges");
        return root;
    }

    /** tokenizer_config.json, as for stories260K. */
    static ObjectNode tokenizerConfig(ObjectMapper json, int modelMaxLength) {
        ObjectNode c = json.createObjectNode();
        c.put("tokenizer_class", "LlamaTokenizerFast");
        c.put("add_bos_token", true);
        c.put("add_eos_token", false);
        c.put("bos_token", "<s>");
        c.put("eos_token", "</s>");
        c.put("unk_token", "<unk>");
        c.putNull("pad_token");
        c.put("clean_up_tokenization_spaces", false);
        c.put("legacy", true);
        c.put("model_max_length", modelMaxLength);
        ObjectNode decoder = c.putObject("added_tokens_decoder");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < specials.length; id++) {
            decoder.putObject(Integer.toString(id)).put("content", specials[id]).put("lstrip", false).put("normalized", false)
                    .put("rstrip", false).put("single_word", false).put("special", true);
        }
        return c;
    }

    /** special_tokens_map.json */
    static ObjectNode specialTokensMap(ObjectMapper json) {
        return json.createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>");
    }

    /** The vocabulary, in id order. */
    static Set<String> pieces(int vocabSize) {
        if (vocabSize < SPECIAL_AND_BYTES)
            throw new IllegalArgumentException("vocab size " + vocabSize + " < " + SPECIAL_AND_BYTES
                    + " (3 special tokens + 256 byte tokens)");
        Set<String> out = new LinkedHashSet<>();
        out.add("<unk>");
        out.add("<s>");
        out.add("</s>");
        for (int b = 0; b < 256; b++) out.add(String.format(Locale.ROOT, "<0x%02X>", b));
        out.add(SPACE);
        String singles = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()";
        for (int i = 0; i < singles.length() && out.size() < vocabSize; i++) out.add(singles.substring(i, i + 1));
        // then lower-case strings of growing length, each also as a word start: a, ▁a, b, ▁b, ..., aa, ▁aa, ...
        for (int len = 1; out.size() < vocabSize; len++) {
            long count = (long) Math.pow(26, len);
            for (long k = 0; k < count && out.size() < vocabSize; k++) {
                StringBuilder s = new StringBuilder();
                for (long r = k, j = 0; j < len; j++, r /= 26) s.insert(0, (char) ('a' + r % 26));
                out.add(s.toString());
                if (out.size() < vocabSize) out.add(SPACE + s);
            }
        }
        return out;
    }
}
