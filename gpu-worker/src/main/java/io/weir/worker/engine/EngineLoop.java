package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The engine of one model on one worker: a thread running steps. Each step admits waiting requests into
 * free KV-cache slots, runs all running sequences through one batched forward (decoding ones one token,
 * prefilling ones a chunk of their prompt), samples, emits, and retires finished sequences at once.
 * Requests thus join and leave between steps (iteration-level scheduling), and concurrent streams
 * advance together.
 */
public final class EngineLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    private final LoadedModel model;
    private final EventSink sink;
    private final LinkedBlockingQueue<PreparedRequest> waiting = new LinkedBlockingQueue<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final float[] logits;        // (vocab) the row a sequence samples from
    private final float[] batchLogits;   // (maxBatch, vocab) every row of a step
    private final Thread thread;
    private volatile boolean stopping;
    private volatile int runningCount;   // for load reports from other threads

    public EngineLoop(LoadedModel model, EventSink sink) {
        this.model = model;
        this.sink = sink;
        for (int s = 0; s < model.runner().maxSlots(); s++) {
            freeSlots.add(s);
        }
        this.logits = new float[model.config().vocabSize()];
        this.batchLogits = new float[model.runner().maxBatch() * model.config().vocabSize()];
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

    /** Requests running or waiting: the load this engine reports to the fleet scheduler. */
    public int load() {
        return runningCount + waiting.size();
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
                runningCount = running.size();
                step();
                runningCount = running.size();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // Unfinished requests are not failed: their offsets stay uncommitted, so Kafka hands them to
            // another worker of the model, which replays them (same seed, same tokens) for the same caller.
            running.clear();
        }
    }

    private void admit(PreparedRequest request) {
        running.add(new Sequence(request, freeSlots.pop(), model));
    }

    /**
     * One step: a single batched forward over every running sequence. Decoding sequences go first, one row
     * each; prefilling ones share the rows left (chunked prefill), so a long prompt never stalls the others.
     */
    private void step() {
        int budget = model.runner().maxBatch();
        List<Sequence> batch = new ArrayList<>();
        List<int[]> inputs = new ArrayList<>();
        int rows = 0;
        for (boolean decodePass : new boolean[]{true, false}) {
            for (Sequence seq : running) {
                if (seq.prefilled() == decodePass && rows < budget) {
                    int[] input = seq.nextInput(budget - rows);
                    batch.add(seq);
                    inputs.add(input);
                    rows += input.length;
                }
            }
        }
        int[] slots = new int[rows];
        int[] tokens = new int[rows];
        int[] positions = new int[rows];
        int row = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence seq = batch.get(i);
            int[] input = inputs.get(i);
            for (int t = 0; t < input.length; t++, row++) {
                slots[row] = seq.slot;
                tokens[row] = input[t];
                positions[row] = seq.position() + t;
            }
        }
        try {
            model.runner().forwardBatch(slots, tokens, positions, batchLogits);
        } catch (RuntimeException e) {
            LOG.error("forward step failed for {} sequences", batch.size(), e);
            for (Sequence seq : batch) {
                finishWith(seq, seq.fail(500, "generation failed: " + e.getMessage()));
            }
            return;
        }
        int vocab = model.config().vocabSize();
        row = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence seq = batch.get(i);
            int length = inputs.get(i).length;
            row += length;
            System.arraycopy(batchLogits, (row - 1) * vocab, logits, 0, vocab);
            CompletionEvent event;
            try {
                event = seq.advance(length, logits);
            } catch (RuntimeException e) {
                LOG.error("request {} failed after its forward step", seq.request().requestId(), e);
                event = seq.fail(500, "generation failed: " + e.getMessage());
            }
            if (event != null) {
                finishWith(seq, event);
            }
        }
    }

    /** Emits a sequence's event and retires the sequence if that event ended it. */
    private void finishWith(Sequence seq, CompletionEvent event) {
        sink.emit(seq.request().replyTopic(), event);
        if (seq.isDone()) {
            running.remove(seq);
            retire(seq);
        }
    }

    private void retire(Sequence seq) {
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
