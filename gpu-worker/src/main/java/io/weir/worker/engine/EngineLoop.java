package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine of one model on one worker: a thread running steps. Each step admits waiting requests into
 * free KV-cache slots, runs all running sequences through one batched forward (decoding ones one token,
 * prefilling ones a chunk of their prompt), samples, emits, and retires finished sequences at once.
 * Requests thus join and leave between steps (iteration-level scheduling), and concurrent streams
 * advance together.
 *
 * <p>Cancels ({@link #cancel}) are applied before every step: a running request leaves the batch at once
 * (it generates no token after the step that was running when the cancel came), a waiting one never
 * starts, and one not seen yet is remembered ({@link RecentCancels}) and dropped when it arrives. Each
 * ends with a {@link CompletionEvent#cancelled} event and its {@code onDone}, so its slot is free and its
 * Kafka offset committed.
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
    private final ConcurrentLinkedQueue<String> cancels = new ConcurrentLinkedQueue<>();
    private final RecentCancels recentCancels = new RecentCancels(10_000, Duration.ofMinutes(10), System::nanoTime);
    private final AtomicLong cancelledCount = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final Thread thread;
    private volatile int runningCount;
    private volatile boolean stopping;

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

    /**
     * Stops a request wherever it is: running, waiting, or not arrived yet (see the class comment).
     * Thread-safe; takes effect before the engine's next step.
     */
    public void cancel(String requestId) {
        cancels.add(requestId);
    }

    /** Requests ended by a cancel so far. */
    public long cancelledCount() {
        return cancelledCount.get();
    }

    /** Sequences holding a slot, as of the end of the last step. */
    public int runningCount() {
        return runningCount;
    }

    /** Tokens sampled so far, all requests together. */
    public long generatedTokens() {
        return generatedTokens.get();
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
                        applyCancels(); // while idle too, so unknown ids move to the bounded memory
                        continue;
                    }
                    admit(next);
                }
                PreparedRequest next;
                while (!freeSlots.isEmpty() && (next = waiting.poll()) != null) {
                    admit(next);
                }
                applyCancels(); // right before the step: a cancelled sequence takes no part in it
                if (!running.isEmpty()) {
                    step();
                }
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
        applyCancels(); // a cancel queued before this request was must find it
        if (recentCancels.take(request.request().requestId())) {
            dropCancelled(request);
            return;
        }
        running.add(new Sequence(request, freeSlots.pop(), model));
    }

    private void applyCancels() {
        String requestId;
        while ((requestId = cancels.poll()) != null) {
            String id = requestId;
            Sequence seq = running.stream().filter(s -> s.request().requestId().equals(id)).findFirst().orElse(null);
            if (seq != null) {
                running.remove(seq);
                cancelledCount.incrementAndGet();
                sink.emit(seq.request().replyTopic(), seq.cancel());
                retire(seq);
                continue;
            }
            List<PreparedRequest> queued = new ArrayList<>();
            waiting.removeIf(p -> p.request().requestId().equals(id) && queued.add(p));
            if (queued.isEmpty()) {
                recentCancels.add(id);
            }
            queued.forEach(this::dropCancelled);
        }
        runningCount = running.size();
    }

    /** Ends a request cancelled before it took a slot. */
    private void dropCancelled(PreparedRequest request) {
        cancelledCount.incrementAndGet();
        sink.emit(request.request().replyTopic(), CompletionEvent.cancelled(request.request().requestId(), 0, request.promptIds().length, 0));
        runDone(request);
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
                if (event != null) {
                    generatedTokens.incrementAndGet();
                }
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
        runDone(seq.prepared);
    }

    private static void runDone(PreparedRequest request) {
        try {
            request.onDone().run();
        } catch (RuntimeException e) {
            LOG.warn("completion callback of {} failed: {}", request.request().requestId(), e.toString());
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        thread.join(10_000);
    }
}
