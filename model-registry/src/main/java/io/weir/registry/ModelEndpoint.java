package io.weir.registry;

import java.time.Instant;
import java.util.Map;

/**
 * A model endpoint: a name users send requests to, and the checkpoint behind it. Field names follow
 * LLM Engine's Model API.
 *
 * @param name           endpoint name (also a part of its Kafka topic name)
 * @param modelName      the base model's name
 * @param checkpointPath Hugging Face checkpoint directory the workers load
 * @param status         where the endpoint is in its life cycle
 * @param statusReason   why it is in that status (the load error of UPDATE_FAILED)
 * @param contextLength  the model's context length, known once a worker has loaded it
 * @param ownerTenant    the tenant that created it
 * @param chatTemplateOverride LLM Engine's chat_template_override: a Jinja chat template that replaces the
 *                       checkpoint's; null when not set
 * @param chatTemplate   the checkpoint's chat template and special-token texts, as the worker that loaded it
 *                       published them; null until a worker has loaded the checkpoint
 */
public record ModelEndpoint(
        String name,
        String modelName,
        String source,
        String checkpointPath,
        EndpointStatus status,
        String statusReason,
        String inferenceFramework,
        int numShards,
        String quantize,
        int minWorkers,
        int maxWorkers,
        int perWorker,
        Map<String, String> labels,
        String ownerTenant,
        boolean publicInference,
        Integer contextLength,
        Instant createdAt,
        Instant updatedAt,
        String chatTemplateOverride,
        ChatTemplate chatTemplate) {

    /** Workers an endpoint given on the command line may scale up to (it never goes below minWorkers). */
    public static final int LOCAL_MAX_WORKERS = 64;

    /**
     * A public endpoint for a local checkpoint given on the command line, waiting for a worker to load it:
     * always served by at least {@code minWorkers}, more under load.
     */
    public static ModelEndpoint local(String name, String checkpointPath, String ownerTenant, Instant now, int minWorkers) {
        return new ModelEndpoint(name, name, "hugging_face", checkpointPath, EndpointStatus.UPDATE_PENDING, null,
                "vllm", 1, null, minWorkers, Math.max(minWorkers, LOCAL_MAX_WORKERS), 2, Map.of(), ownerTenant, true, null, now, now, null, null);
    }

    /** A tenant sees its own endpoints and the public ones; to it, any other does not exist. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isVisibleTo(String tenant) {
        return publicInference || ownerTenant.equals(tenant);
    }

    public ModelEndpoint withLabels(Map<String, String> newLabels) {
        return new ModelEndpoint(name, modelName, source, checkpointPath, status, statusReason, inferenceFramework,
                numShards, quantize, minWorkers, maxWorkers, perWorker, Map.copyOf(newLabels), ownerTenant,
                publicInference, contextLength, createdAt, updatedAt, chatTemplateOverride, chatTemplate);
    }

    public ModelEndpoint withStatus(EndpointStatus newStatus, String reason, Integer newContextLength, Instant now) {
        return new ModelEndpoint(name, modelName, source, checkpointPath, newStatus, reason, inferenceFramework,
                numShards, quantize, minWorkers, maxWorkers, perWorker, labels, ownerTenant, publicInference,
                newContextLength == null ? contextLength : newContextLength, createdAt, now, chatTemplateOverride, chatTemplate);
    }

    /** What the loaded checkpoint says about chat formatting (see {@link #chatTemplate}). */
    public ModelEndpoint withChatTemplate(ChatTemplate published) {
        return new ModelEndpoint(name, modelName, source, checkpointPath, status, statusReason, inferenceFramework,
                numShards, quantize, minWorkers, maxWorkers, perWorker, labels, ownerTenant, publicInference,
                contextLength, createdAt, updatedAt, chatTemplateOverride, published);
    }

    public ModelEndpoint withChatTemplateOverride(String override) {
        return new ModelEndpoint(name, modelName, source, checkpointPath, status, statusReason, inferenceFramework,
                numShards, quantize, minWorkers, maxWorkers, perWorker, labels, ownerTenant, publicInference,
                contextLength, createdAt, updatedAt, override, chatTemplate);
    }
}
