package io.weir.worker;

import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.ReplySender;
import io.weir.registry.EngineMetrics;
import io.weir.worker.engine.AsyncEventSink;
import io.weir.worker.engine.EngineLoop;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.engine.RequestPreparer;
import io.weir.worker.kafka.ModelRequestConsumer;

import java.time.Duration;

/** One model served by this worker: the loaded checkpoint, its engine, and the consumer that feeds it. */
final class ModelHost implements AutoCloseable {
    private final LoadedModel model;
    private final String checkpointPath;
    private final AsyncEventSink events;
    private final EngineLoop engine;
    private final ModelRequestConsumer consumer;

    /** @param checkpointPath the endpoint's checkpoint_path this host serves; a new one means a reload */
    ModelHost(LoadedModel model, String checkpointPath, KafkaClients kafka, String workerId, ReplySender replies)
            throws InterruptedException {
        this.model = model;
        this.checkpointPath = checkpointPath;
        this.events = new AsyncEventSink("replies-" + model.name(), replies::send);
        this.engine = new EngineLoop(model, events);
        this.consumer = new ModelRequestConsumer(kafka, model.name(), workerId, engine, new RequestPreparer(model), replies);
        if (!consumer.awaitJoined(Duration.ofSeconds(60))) {
            close();
            throw new IllegalStateException("the request consumer of " + model.name() + " did not join its group within 60 s");
        }
    }

    /** Stops the request if this model's engine has it, or remembers the cancel in case it comes. */
    void cancel(String requestId) {
        engine.cancel(requestId);
    }

    LoadedModel model() {
        return model;
    }

    /** The engine's counters now, as the worker's heartbeat announces them. */
    EngineMetrics metrics() {
        var s = engine.stats();
        var kv = s.kvCache();
        return new EngineMetrics(s.running(), s.waiting(), kv.totalBlocks(), kv.blockSize(), kv.usedBlocks(),
                kv.cachedBlocks(), s.steps(), s.promptTokens(), s.sampledTokens(), s.preemptions(), kv.prefixQueries(),
                kv.prefixHits(), kv.evictions());
    }

    /** Calls {@code action} when the engine goes from idle to busy or back (see {@link EngineLoop#onBusyChange}). */
    void onBusyChange(Runnable action) {
        engine.onBusyChange(action);
    }

    String checkpointPath() {
        return checkpointPath;
    }

    @Override
    public void close() throws InterruptedException {
        consumer.close();
        engine.close();
        events.close();
        model.close();
    }
}
