package io.weir.worker.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A real model in a real engine loop, with the events of each request collected: no Kafka. */
final class EngineHarness implements AutoCloseable {
    final LoadedModel model;
    final EngineLoop engine;
    final RequestPreparer preparer;
    private final Map<String, List<CompletionEvent>> events = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> done = new ConcurrentHashMap<>();

    EngineHarness(Path checkpoint, EngineSettings settings) throws java.io.IOException {
        model = LoadedModel.load("m", checkpoint, settings);
        engine = new EngineLoop(model, (topic, e) -> events.computeIfAbsent(e.requestId(),
                k -> Collections.synchronizedList(new ArrayList<>())).add(e));
        preparer = new RequestPreparer(model);
    }

    /** Submits a request; a request the preparer rejects throws and never reaches the engine. */
    String submit(String id, String prompt, SamplingParams params) throws RequestPreparer.RejectedRequestException {
        done.put(id, new CountDownLatch(1));
        CompletionRequest r = new CompletionRequest(id, "m", prompt, params, "t", "tenant", System.currentTimeMillis());
        engine.submit(preparer.prepare(r, () -> done.get(id).countDown()));
        return id;
    }

    /** The events of {@code id}, once it has ended. */
    List<CompletionEvent> await(String id) throws InterruptedException {
        assertTrue(done.get(id).await(120, TimeUnit.SECONDS), "request " + id + " finished");
        return events.getOrDefault(id, List.of());
    }

    static int[] tokenIds(List<CompletionEvent> es) {
        return es.stream().filter(e -> e.kind() == CompletionEvent.Kind.TOKEN).mapToInt(CompletionEvent::tokenId).toArray();
    }

    @Override
    public void close() throws Exception {
        engine.close();
        model.close();
    }
}
