package io.weir.gateway.routes.llmengine;

import io.vertx.core.buffer.Buffer;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.JsonFields;
import io.weir.infra.topics.Topics;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelEndpoint;

import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * LLM Engine's CreateLLMEndpointRequest and UpdateLLMEndpointRequest. The client sends every field, most
 * as null (GPU counts, image tags, vLLM engine arguments...): Weir ignores what does not apply to it and
 * refuses (400) what it cannot honour rather than pretending.
 */
final class ModelEndpointRequests {
    /** The inference_framework values the llmengine client can parse back. */
    private static final Set<String> FRAMEWORKS = Set.of("deepspeed", "text_generation_inference", "vllm", "lightllm", "tensorrt_llm");

    private ModelEndpointRequests() {
    }

    /** A new endpoint (UPDATE_PENDING) from a create body; {@code checkpointPath} was checked by the caller. */
    static ModelEndpoint create(Buffer body, String owner, Instant now, CheckpointCheck checkpoints) {
        JsonFields f = JsonFields.parse(body);
        String name = f.requiredString("name");
        if (!Topics.MODEL_NAME.matcher(name).matches()) {
            throw ApiException.badRequest("name may use only letters, digits, '.', '_' and '-' (and start with a letter or digit), got '" + name + "'");
        }
        String modelName = f.requiredString("model_name");
        String source = orDefault(f.optionalString("source"), "hugging_face");
        if (!source.equals("hugging_face")) {
            throw ApiException.badRequest("source must be hugging_face, got " + source);
        }
        String framework = orDefault(f.optionalString("inference_framework"), "vllm");
        if (!FRAMEWORKS.contains(framework)) {
            throw ApiException.badRequest("inference_framework must be one of " + FRAMEWORKS + ", got " + framework);
        }
        String endpointType = orDefault(f.optionalString("endpoint_type"), "streaming");
        if (!endpointType.equals("streaming")) {
            throw ApiException.badRequest("endpoint_type must be streaming, got " + endpointType);
        }
        rejectQuantize(f);
        int numShards = orDefault(f.optionalInt("num_shards"), 1);
        if (numShards != 1) {
            throw ApiException.badRequest("num_shards must be 1: Weir runs each model on one worker, got " + numShards);
        }
        String checkpointPath = checkpoints.check(f.optionalString("checkpoint_path"));
        Workers workers = workers(f, new Workers(0, 1, 2));
        Map<String, String> labels = orDefault(f.optionalStringMap("labels"), Map.of());
        boolean publicInference = orDefault(f.optionalBoolean("public_inference"), true);
        return new ModelEndpoint(name, modelName, source, checkpointPath, EndpointStatus.UPDATE_PENDING, null, framework,
                numShards, null, workers.min(), workers.max(), workers.perWorker(), Map.copyOf(labels), owner,
                publicInference, null, now, now, f.optionalString("chat_template_override"), null);
    }

    /** The change an update body asks for; a new checkpoint_path sends the endpoint back to UPDATE_PENDING. */
    static UnaryOperator<ModelEndpoint> update(Buffer body, Instant now, CheckpointCheck checkpoints) {
        JsonFields f = JsonFields.parse(body);
        rejectQuantize(f);
        String newPath = f.has("checkpoint_path") ? checkpoints.check(f.optionalString("checkpoint_path")) : null;
        Map<String, String> labels = f.optionalStringMap("labels");
        Boolean publicInference = f.optionalBoolean("public_inference");
        String modelName = f.optionalString("model_name");
        String chatTemplateOverride = f.optionalString("chat_template_override");
        return current -> {
            Workers workers = workers(f, new Workers(current.minWorkers(), current.maxWorkers(), current.perWorker()));
            boolean reload = newPath != null && !newPath.equals(current.checkpointPath());
            return new ModelEndpoint(current.name(), orDefault(modelName, current.modelName()), current.source(),
                    reload ? newPath : current.checkpointPath(),
                    reload ? EndpointStatus.UPDATE_PENDING : current.status(), reload ? null : current.statusReason(),
                    current.inferenceFramework(), current.numShards(), current.quantize(), workers.min(), workers.max(),
                    workers.perWorker(), labels == null ? current.labels() : Map.copyOf(labels), current.ownerTenant(),
                    publicInference == null ? current.publicInference() : publicInference,
                    reload ? null : current.contextLength(), current.createdAt(), now,
                    orDefault(chatTemplateOverride, current.chatTemplateOverride()),
                    reload ? null : current.chatTemplate()); // a reloaded checkpoint publishes its own template
        };
    }

    /** Validates a checkpoint_path against the allowed roots, returning the path to store. */
    @FunctionalInterface
    interface CheckpointCheck {
        String check(String checkpointPath);
    }

    private record Workers(int min, int max, int perWorker) {
    }

    private static Workers workers(JsonFields f, Workers defaults) {
        int min = orDefault(f.optionalInt("min_workers"), defaults.min());
        int max = orDefault(f.optionalInt("max_workers"), defaults.max());
        int perWorker = orDefault(f.optionalInt("per_worker"), defaults.perWorker());
        if (min < 0 || max < 1 || min > max) {
            throw ApiException.badRequest("need 0 <= min_workers <= max_workers and max_workers >= 1, got " + min + ".." + max);
        }
        if (perWorker < 1) {
            throw ApiException.badRequest("per_worker must be at least 1, got " + perWorker);
        }
        return new Workers(min, max, perWorker);
    }

    private static void rejectQuantize(JsonFields f) {
        String quantize = f.optionalString("quantize");
        if (quantize != null) {
            throw ApiException.badRequest("quantize '" + quantize + "' is not supported; leave it null");
        }
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }
}
