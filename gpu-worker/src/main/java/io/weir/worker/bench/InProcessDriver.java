package io.weir.worker.bench;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.worker.engine.EngineLoop;
import io.weir.worker.engine.EngineStats;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.engine.RequestPreparer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** The engine loop driven directly: no Kafka, no HTTP; events are timestamped as the engine emits them. */
final class InProcessDriver implements LoadDriver {
    private final LoadedModel model;
    private final EngineLoop engine;
    private final RequestPreparer preparer;
    private final Map<String, Trace> traces = new ConcurrentHashMap<>();
    private int next;

    InProcessDriver(LoadedModel model) {
        this.model = model;
        this.engine = new EngineLoop(model, this::onEvent);
        this.preparer = new RequestPreparer(model);
    }

    private void onEvent(String topic, CompletionEvent e) {
        long now = System.nanoTime();
        Trace t = traces.get(e.requestId());
        if (e.kind() == CompletionEvent.Kind.ERROR) t.fail(e.error().message());
        else t.token(now);
    }

    @Override
    public RunResult run(List<String> prompts, int maxNewTokens) throws Exception {
        CountDownLatch done = new CountDownLatch(prompts.size());
        List<Trace> run = new ArrayList<>();
        ThreadCpu cpu0 = ThreadCpu.now();
        for (String prompt : prompts) {
            String id = "bench-" + next++;
            CompletionRequest r = new CompletionRequest(id, model.name(), prompt, SamplingParams.greedy(maxNewTokens), "bench",
                    "bench", System.currentTimeMillis());
            Trace t = new Trace(System.nanoTime());
            traces.put(id, t);
            run.add(t);
            engine.submit(preparer.prepare(r, done::countDown));
        }
        if (!done.await(30, TimeUnit.MINUTES)) throw new IllegalStateException("in-process run did not finish in 30 minutes");
        return new RunResult(run, ThreadCpu.now().delta(cpu0));
    }

    EngineStats stats() {
        return engine.stats();
    }

    @Override
    public void close() throws Exception {
        engine.close();
    }
}
