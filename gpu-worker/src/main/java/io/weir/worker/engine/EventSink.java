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

    /**
     * Runs {@code action} once every event emitted before it has been delivered (for Kafka: acknowledged), so that
     * what depends on the caller having its last event (committing the request's offset) cannot get ahead of it. A
     * sink that delivers at once runs it at once.
     */
    default void afterDelivery(Runnable action) {
        action.run();
    }
}
