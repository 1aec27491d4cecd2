package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;

/** Where the engine's reply events go: Kafka in production, a list in engine tests. */
@FunctionalInterface
public interface EventSink {
    void emit(String replyTopic, CompletionEvent event);
}
