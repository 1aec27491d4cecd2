package io.weir.worker.engine;

import io.weir.infra.messages.CompletionRequest;

/**
 * A request the worker accepted: tokenized and checked against the model's context length.
 *
 * @param onDone called once when the request has ended in any way and its last event has been delivered (from the
 *               engine thread, or the thread that saw the delivery)
 */
public record PreparedRequest(CompletionRequest request, int[] promptIds, Runnable onDone) {
}
