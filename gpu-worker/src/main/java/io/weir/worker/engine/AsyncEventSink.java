package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Hands events to another sink on a thread of its own, in order, so the engine thread only queues them: encoding
 * an event and giving it to the Kafka producer then overlaps the next forward step instead of delaying it.
 */
public final class AsyncEventSink implements EventSink, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncEventSink.class);

    private record Item(String topic, CompletionEvent event) {
    }

    private final EventSink target;
    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closing;

    public AsyncEventSink(String name, EventSink target) {
        this.target = target;
        this.thread = Thread.ofPlatform().name(name).daemon().start(this::run);
    }

    @Override
    public void emit(String replyTopic, CompletionEvent event) {
        queue.add(new Item(replyTopic, event));
    }

    private void run() {
        try {
            while (!closing || !queue.isEmpty()) {
                Item item = queue.poll(100, TimeUnit.MILLISECONDS);
                if (item == null) {
                    continue;
                }
                try {
                    target.emit(item.topic(), item.event());
                } catch (RuntimeException e) {
                    LOG.error("event of {} could not be sent", item.event().requestId(), e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends what is queued, then stops (waits at most 10 s). */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        thread.join(10_000);
    }
}
