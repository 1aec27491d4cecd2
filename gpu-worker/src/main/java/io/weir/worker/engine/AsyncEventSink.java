package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Hands events to a batch target on a thread of its own, in order, so the engine thread only queues them: encoding
 * events and giving them to the Kafka producer then overlaps the next forward step instead of delaying it. Each send
 * takes everything queued since the last one, per reply topic: one step's tokens of all running sequences travel
 * together, and an idle engine's single token goes alone at once (batching never waits for more).
 */
public final class AsyncEventSink implements EventSink, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncEventSink.class);
    /** Events per send at most: keeps a record well under Kafka's default 1 MB even with top logprobs. */
    static final int MAX_BATCH = 256;

    /** Where batches go: in order per topic. */
    @FunctionalInterface
    public interface BatchTarget {
        void send(String replyTopic, List<CompletionEvent> events);
    }

    private record Item(String topic, CompletionEvent event) {
    }

    private final BatchTarget target;
    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closing;

    public AsyncEventSink(String name, BatchTarget target) {
        this.target = target;
        this.thread = Thread.ofPlatform().name(name).daemon().start(this::run);
    }

    @Override
    public void emit(String replyTopic, CompletionEvent event) {
        queue.add(new Item(replyTopic, event));
    }

    private void run() {
        List<Item> drained = new ArrayList<>();
        try {
            while (!closing || !queue.isEmpty()) {
                Item first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                drained.add(first);
                queue.drainTo(drained, MAX_BATCH - 1);
                sendByTopic(drained);
                drained.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void sendByTopic(List<Item> items) {
        Map<String, List<CompletionEvent>> byTopic = new LinkedHashMap<>();
        for (Item item : items) {
            byTopic.computeIfAbsent(item.topic(), t -> new ArrayList<>()).add(item.event());
        }
        byTopic.forEach((topic, events) -> {
            try {
                target.send(topic, events);
            } catch (RuntimeException e) {
                LOG.error("{} event(s) to {} could not be sent", events.size(), topic, e);
            }
        });
    }

    /** Sends what is queued, then stops (waits at most 10 s). */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        thread.join(10_000);
    }
}
