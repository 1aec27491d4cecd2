package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;

/** Where the engine's reply events go: Kafka in production, a list in engine tests. Called on the engine thread. */
@FunctionalInterface
public interface EventSink {
    void emit(String replyTopic, CompletionEvent event);

    /**
     * The engine calls this at the end of each turn of its loop (after a step): the events emitted since the last
     * flush may leave now, together. A sink that sends each event at once has nothing to do.
     */
    default void flush() {
    }
}
