package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The engine of one model on one worker: a thread running steps. Each step admits waiting requests into
 * free KV-cache slots, runs every running sequence one token forward (a new sequence's whole prompt in its
 * first step), samples, emits, and retires finished sequences at once. Requests thus join and leave between
 * steps (iteration-level scheduling), and concurrent streams advance together.
 */
public final class EngineLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    private final LoadedModel model;
    private final EventSink sink;
    private final LinkedBlockingQueue<PreparedRequest> waiting = new LinkedBlockingQueue<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final float[] logits;
    private final Thread thread;
    private volatile boolean stopping;

    public EngineLoop(LoadedModel model, EventSink sink) {
        this.model = model;
        this.sink = sink;
        for (int s = 0; s < model.runner().maxSlots(); s++) {
            freeSlots.add(s);
        }
        this.logits = new float[model.config().vocabSize()];
        this.thread = Thread.ofPlatform().name("engine-" + model.name()).start(this::run);
    }

    /** Queues a request; thread-safe. */
    public void submit(PreparedRequest request) {
        waiting.add(request);
    }

    /** Requests waiting for a slot. */
    public int waitingCount() {
        return waiting.size();
    }

    public int maxSequences() {
        return model.runner().maxSlots();
    }

    private void run() {
        try {
            while (!stopping) {
                if (running.isEmpty()) {
                    PreparedRequest next = waiting.poll(200, TimeUnit.MILLISECONDS);
                    if (next == null) {
                        continue;
                    }
                    admit(next);
                }
                PreparedRequest next;
                while (!freeSlots.isEmpty() && (next = waiting.poll()) != null) {
                    admit(next);
                }
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            running.forEach(s -> retire(s, s.fail(503, "worker shutting down")));
            running.clear();
        }
    }

    private void admit(PreparedRequest request) {
        running.add(new Sequence(request, freeSlots.pop(), model));
    }

    private void step() {
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence seq = it.next();
            CompletionEvent event;
            try {
                int[] input = seq.nextInput();
                model.runner().forward(seq.slot, input, seq.position(), logits);
                event = seq.advance(input.length, logits);
            } catch (RuntimeException e) {
                LOG.error("request {} failed in the engine", seq.request().requestId(), e);
                event = seq.fail(500, "generation failed: " + e.getMessage());
            }
            sink.emit(seq.request().replyTopic(), event);
            if (seq.isDone()) {
                it.remove();
                retire(seq, null);
            }
        }
    }

    private void retire(Sequence seq, CompletionEvent lastWords) {
        if (lastWords != null) {
            sink.emit(seq.request().replyTopic(), lastWords);
        }
        freeSlots.push(seq.slot);
        try {
            seq.prepared.onDone().run();
        } catch (RuntimeException e) {
            LOG.warn("completion callback of {} failed: {}", seq.request().requestId(), e.toString());
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        thread.join(10_000);
    }
}
