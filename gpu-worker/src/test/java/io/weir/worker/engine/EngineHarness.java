package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An engine loop on the real stories260K checkpoint with its events captured per request, for engine tests
 * that need no Kafka: submit requests, wait for them to end, read what they emitted.
 */
final class EngineHarness implements AutoCloseable {
    final LoadedModel model;
    final EngineLoop engine;
    final RequestPreparer preparer;
    private final Map<String, List<CompletionEvent>> events = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> done = new ConcurrentHashMap<>();
    /** Request id of every event, in emission order. */
    final List<String> emitted = new CopyOnWriteArrayList<>();
    /** Called on the engine thread for every event, before it is recorded (mid-step). */
    volatile Consumer<CompletionEvent> onEvent = e -> { };

    /** @param slots KV-cache slots, i.e. sequences that may run at once */
    EngineHarness(int slots) throws Exception {
        model = LoadedModel.load("stories260K", TestModels.require("stories260K"), slots);
        engine = new EngineLoop(model, (topic, e) -> {
            onEvent.accept(e);
            emitted.add(e.requestId());
            events.computeIfAbsent(e.requestId(), k -> new CopyOnWriteArrayList<>()).add(e);
        });
        preparer = new RequestPreparer(model);
    }

    String submit(String id, String prompt, SamplingParams params) throws Exception {
        done.put(id, new CountDownLatch(1));
        CompletionRequest r = new CompletionRequest(id, "stories260K", prompt, params, "t", "tenant", System.currentTimeMillis());
        engine.submit(preparer.prepare(r, () -> done.get(id).countDown()));
        return id;
    }

    /** The request's events once it has ended (fails after 60 s). */
    List<CompletionEvent> await(String id) throws InterruptedException {
        assertTrue(done.get(id).await(60, TimeUnit.SECONDS), "request " + id + " ended");
        return events.get(id);
    }

    List<CompletionEvent> eventsOf(String id) {
        return events.getOrDefault(id, List.of());
    }

    static String text(List<CompletionEvent> es) {
        StringBuilder sb = new StringBuilder();
        es.forEach(e -> sb.append(e.text()));
        return sb.toString();
    }

    @Override
    public void close() throws Exception {
        engine.close();
        model.close();
    }
}
