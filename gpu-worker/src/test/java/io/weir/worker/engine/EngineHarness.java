package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real model in a real engine loop, with the events of each request collected: no Kafka. Submit requests,
 * wait for them to end, read what they emitted.
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

    /** stories260K with the default engine settings and {@code maxSeqs} sequences at once. */
    EngineHarness(int maxSeqs) throws Exception {
        this(TestModels.require("stories260K"), EngineSettings.defaults(maxSeqs));
    }

    EngineHarness(Path checkpoint, EngineSettings settings) throws java.io.IOException {
        model = LoadedModel.load("m", checkpoint, settings);
        engine = new EngineLoop(model, (topic, e) -> {
            onEvent.accept(e);
            emitted.add(e.requestId());
            events.computeIfAbsent(e.requestId(), k -> new CopyOnWriteArrayList<>()).add(e);
        });
        preparer = new RequestPreparer(model);
    }

    /** Submits a request; a request the preparer rejects throws and never reaches the engine. */
    String submit(String id, String prompt, SamplingParams params) throws RequestPreparer.RejectedRequestException {
        done.put(id, new CountDownLatch(1));
        CompletionRequest r = new CompletionRequest(id, "m", prompt, params, "t", "tenant", System.currentTimeMillis());
        engine.submit(preparer.prepare(r, () -> done.get(id).countDown()));
        return id;
    }

    /** The events of {@code id}, once it has ended (fails after 120 s). */
    List<CompletionEvent> await(String id) throws InterruptedException {
        assertTrue(done.get(id).await(120, TimeUnit.SECONDS), "request " + id + " finished");
        return eventsOf(id);
    }

    List<CompletionEvent> eventsOf(String id) {
        return events.getOrDefault(id, List.of());
    }

    static String text(List<CompletionEvent> es) {
        StringBuilder sb = new StringBuilder();
        es.forEach(e -> sb.append(e.text()));
        return sb.toString();
    }

    static int[] tokenIds(List<CompletionEvent> es) {
        return es.stream().filter(e -> e.kind() == CompletionEvent.Kind.TOKEN && e.tokenId() != null)
                .mapToInt(CompletionEvent::tokenId).toArray();
    }

    @Override
    public void close() throws Exception {
        engine.close();
        model.close();
    }
}
