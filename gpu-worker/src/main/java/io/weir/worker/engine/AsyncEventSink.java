package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Hands events to a batch target on a thread of its own, in order, so the engine thread only queues them: encoding
 * events and giving them to the Kafka producer then overlaps the next forward step instead of delaying it. The engine
 * thread collects a step's events and hands them over at {@link #flush} in one piece (one wake-up of the sender, one
 * record per reply topic; handing them over one by one woke the sender mid-step and split a step into several
 * records). Each send takes everything handed over since the last one, per reply topic, so an idle engine's single
 * token goes alone at once and batching never waits for more.
 *
 * <p>{@link #emit} and {@link #flush} are for one thread, the engine's.
 */
public final class AsyncEventSink implements EventSink, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncEventSink.class);
    /** Events per send at most: keeps a record well under Kafka's default 1 MB even with top logprobs. */
    static final int MAX_BATCH = 256;

    /** Where batches go: in order per topic. The future completes once the batch is delivered (or failed: logged). */
    @FunctionalInterface
    public interface BatchTarget {
        CompletionStage<?> send(String replyTopic, List<CompletionEvent> events);
    }

    /** An event for a topic, or (topic and event null) an action to run once what came before is delivered. */
    private record Item(String topic, CompletionEvent event, Runnable afterDelivery) {
    }

    private final BatchTarget target;
    private final LinkedBlockingQueue<List<Item>> queue = new LinkedBlockingQueue<>();
    private List<Item> step = new ArrayList<>(); // the engine thread's events since its last flush
    private final Thread thread;
    private volatile boolean closing;

    public AsyncEventSink(String name, BatchTarget target) {
        this.target = target;
        this.thread = Thread.ofPlatform().name(name).daemon().start(this::run);
    }

    @Override
    public void emit(String replyTopic, CompletionEvent event) {
        step.add(new Item(replyTopic, event, null));
    }

    @Override
    public void afterDelivery(Runnable action) {
        step.add(new Item(null, null, action));
    }

    @Override
    public void flush() {
        if (!step.isEmpty()) {
            queue.add(step);
            step = new ArrayList<>();
        }
    }

    private void run() {
        List<List<Item>> drained = new ArrayList<>();
        try {
            while (!closing || !queue.isEmpty()) {
                List<Item> first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                drained.add(first);
                queue.drainTo(drained);
                sendByTopic(drained);
                drained.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void sendByTopic(List<List<Item>> steps) {
        Map<String, List<CompletionEvent>> byTopic = new LinkedHashMap<>();
        List<Runnable> afterDelivery = new ArrayList<>();
        for (List<Item> items : steps) {
            for (Item item : items) {
                if (item.afterDelivery() != null) {
                    afterDelivery.add(item.afterDelivery());
                } else {
                    byTopic.computeIfAbsent(item.topic(), t -> new ArrayList<>()).add(item.event());
                }
            }
        }
        List<CompletableFuture<?>> sent = new ArrayList<>();
        byTopic.forEach((topic, events) -> {
            for (int from = 0; from < events.size(); from += MAX_BATCH) {
                List<CompletionEvent> batch = events.subList(from, Math.min(events.size(), from + MAX_BATCH));
                try {
                    sent.add(target.send(topic, batch).toCompletableFuture());
                } catch (RuntimeException e) {
                    LOG.error("{} event(s) to {} could not be sent", batch.size(), topic, e);
                }
            }
        });
        if (!afterDelivery.isEmpty()) {
            // Actions wait for every send of these steps: coarser than per request, but a step's sends are acknowledged
            // together anyway, and an action runs even if a send failed (that failure is logged where it happened).
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                    .whenComplete((ok, error) -> afterDelivery.forEach(AsyncEventSink::runQuietly));
        }
    }

    private static void runQuietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.warn("an after-delivery action failed: {}", e.toString());
        }
    }

    /** Sends what is queued, then stops (waits at most 10 s). Call once the engine thread has stopped. */
    @Override
    public void close() throws InterruptedException {
        flush();
        closing = true;
        thread.join(10_000);
    }
}
