package io.weir.worker.engine;

import io.weir.infra.messages.CompletionRequest;

/**
 * A request the worker accepted: tokenized and checked against the model's context length.
 *
 * @param onDone called once, from the engine thread, when the request has ended in any way
 */
public record PreparedRequest(CompletionRequest request, int[] promptIds, Runnable onDone) {
}
