package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import io.weir.worker.kvcache.BlockManager;
import io.weir.worker.model.ModelRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The engine of one model on one worker: a thread running steps (iteration-level scheduling). Each step admits
 * waiting requests while there is room (at most {@code maxSeqs} running, and KV blocks for their prompts), then
 * runs one batched forward over up to {@code maxBatchTokens} rows: one row per decoding sequence first, then
 * prompt chunks of prefilling ones in the rows left (chunked prefill, so a long prompt never stalls the streams).
 * It samples, emits, and retires finished sequences at once, giving their blocks back.
 *
 * <p>KV blocks are taken as sequences grow. When a decoding sequence needs a block and none is left, the
 * youngest running sequence is preempted: it gives its blocks back and waits at the head of the queue, to be
 * recomputed (prompt plus the tokens it already produced) when there is room. Its output continues exactly where
 * it stopped. Prompts sharing a cached prefix reuse its blocks ({@link BlockManager}).
 *
 * <p>A cancel ({@link #cancel}) takes effect right before the next step: a running sequence leaves the batch
 * and gives its blocks back, a waiting one never starts, and one not arrived yet is remembered for a while
 * ({@link RecentCancels}) and dropped on arrival. A cancelled request ends with a {@code cancelled} event.
 * A request still unfinished when the engine stops gets no event at all: its Kafka offset stays
 * uncommitted, so another worker of the model replays it (same seed, same tokens) for the same caller.
 */
public final class EngineLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    private final LoadedModel model;
    private final EventSink sink;
    private final int maxSeqs;
    private final int maxBatchTokens;
    private final BlockManager blocks;
    private final LinkedBlockingQueue<PreparedRequest> incoming = new LinkedBlockingQueue<>();
    private final ConcurrentLinkedQueue<String> cancels = new ConcurrentLinkedQueue<>();
    private final RecentCancels recentCancels = new RecentCancels(10_000, Duration.ofMinutes(10), System::nanoTime);
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>(); // engine thread: preempted first, then new
    private final List<Sequence> running = new ArrayList<>();       // engine thread, in admission order
    private final StepPlan plan;
    private final float[] logits;
    private final Thread thread;
    private long arrivals;
    private int rotation;          // fairness when decoding sequences outnumber the rows of a step
    private volatile int waitingSize, runningSize;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Runnable onBusyChange = () -> { };
    private volatile boolean stopping;
    private volatile long steps, promptTokens, sampledTokens, preemptions, cancelled, forwardNanos, stepNanos;

    public EngineLoop(LoadedModel model, EventSink sink) {
        this.model = model;
        this.sink = sink;
        ModelRunner runner = model.runner();
        this.maxSeqs = model.settings().maxSeqs();
        this.maxBatchTokens = runner.maxBatch();
        this.blocks = new BlockManager(runner.kvBlocks(), runner.kvBlockSize());
        this.plan = new StepPlan(maxBatchTokens, runner.tableStride());
        this.logits = new float[model.config().vocabSize()];
        this.thread = Thread.ofPlatform().name("engine-" + model.name()).start(this::run);
    }

    /** Queues a request; thread-safe. */
    public void submit(PreparedRequest request) {
        incoming.add(request);
        noticeBusy();
    }

    /**
     * Calls {@code action} whenever this engine goes from idle to busy or back (from the thread that saw it: the
     * caller of submit, or the engine thread), so load is published at once rather than at the next heartbeat.
     */
    public void onBusyChange(Runnable action) {
        onBusyChange = action;
    }

    private void noticeBusy() {
        boolean now = load() > 0;
        if (busy.getAndSet(now) != now) {
            onBusyChange.run();
        }
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
        return cancelled;
    }

    /** Sequences running, as of the end of the last step. */
    public int runningCount() {
        return runningSize;
    }

    /** Tokens sampled so far, all requests together. */
    public long generatedTokens() {
        return sampledTokens;
    }

    /** Requests running or waiting: the load this engine reports to the fleet scheduler. */
    public int load() {
        return runningSize + waitingCount();
    }

    /** Requests waiting to run (new, or preempted and waiting for room). */
    public int waitingCount() {
        return incoming.size() + waitingSize;
    }

    public int maxSequences() {
        return maxSeqs;
    }

    /** A snapshot of the counters and the KV cache; thread-safe. */
    public EngineStats stats() {
        return new EngineStats(runningSize, waitingCount(), steps, promptTokens, sampledTokens, preemptions, forwardNanos,
                stepNanos, blocks.stats());
    }

    private void run() {
        try {
            while (!stopping) {
                if (running.isEmpty() && waiting.isEmpty()) {
                    PreparedRequest next = incoming.poll(200, TimeUnit.MILLISECONDS);
                    if (next == null) {
                        applyCancels(); // while idle too, so unknown ids move to the bounded memory
                        sink.flush();
                        continue;
                    }
                    enqueue(next);
                }
                PreparedRequest next;
                while ((next = incoming.poll()) != null) {
                    enqueue(next);
                }
                applyCancels(); // right before admission and the step: a cancelled sequence takes no part
                admit();
                if (!running.isEmpty()) {
                    long t0 = System.nanoTime();
                    step();
                    stepNanos += System.nanoTime() - t0;
                }
                sink.flush(); // this turn's events leave together
                publishSizes();
                logStatsNowAndThen();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOG.error("engine of {} stopped", model.name(), e);
        } finally {
            sink.flush(); // what finished before the stop still reaches its callers
            // No event and no onDone for unfinished requests: another worker replays them (class comment).
            running.clear();
            waiting.clear();
        }
    }

    private void enqueue(PreparedRequest request) {
        applyCancels(); // a cancel queued before this request was must find it
        if (recentCancels.take(request.request().requestId())) {
            dropCancelled(request);
            return;
        }
        waiting.addLast(new Sequence(request, model, arrivals++));
    }

    private void applyCancels() {
        String requestId;
        while ((requestId = cancels.poll()) != null) {
            String id = requestId;
            Sequence seq = running.stream().filter(s -> s.request().requestId().equals(id)).findFirst()
                    .or(() -> waiting.stream().filter(s -> s.request().requestId().equals(id)).findFirst())
                    .orElse(null);
            if (seq != null) {
                running.remove(seq);
                waiting.remove(seq);
                cancelled++;
                retire(seq, seq.cancel());
                continue;
            }
            List<PreparedRequest> queued = new ArrayList<>();
            incoming.removeIf(p -> p.request().requestId().equals(id) && queued.add(p));
            if (queued.isEmpty()) {
                recentCancels.add(id);
            }
            queued.forEach(this::dropCancelled);
        }
        publishSizes();
    }

    /** Ends a request cancelled before it became a sequence. */
    private void dropCancelled(PreparedRequest request) {
        cancelled++;
        sink.emit(request.request().replyTopic(),
                CompletionEvent.cancelled(request.request().requestId(), 0, request.promptIds().length, 0));
        sink.afterDelivery(() -> runDone(request));
    }

    /** Moves waiting sequences into the running batch while there is room for their prompts. */
    private void admit() {
        while (!waiting.isEmpty() && running.size() < maxSeqs) {
            Sequence seq = waiting.peekFirst();
            int cached = blocks.matchPrefix(seq.blocks, seq.tokens(), seq.length());
            if (blocks.blocksNeeded(seq.blocks, seq.length() - 1) > blocks.freeBlocks()) {
                blocks.release(seq.blocks); // no room yet: wait for running sequences to finish
                return;
            }
            waiting.removeFirst();
            seq.startAt(cached);
            running.add(seq);
        }
    }

    /** One forward step over the running sequences: plan rows and blocks, run, sample, emit. */
    private void step() {
        plan.clear();
        List<Sequence> order = new ArrayList<>(running);
        // decoding sequences first (one row each), rotating who goes first when they outnumber the rows
        order.sort(Comparator.comparingInt(s -> s.pending() == 1 ? 0 : 1));
        int decoding = (int) order.stream().filter(s -> s.pending() == 1).count();
        if (decoding > maxBatchTokens) {
            java.util.Collections.rotate(order.subList(0, decoding), -(rotation++ % decoding));
        }
        for (Sequence seq : order) {
            if (!running.contains(seq) || plan.rowsLeft() == 0) {
                continue; // preempted while planning, or no rows left
            }
            int n = Math.min(seq.pending(), plan.rowsLeft());
            n = reserveBlocks(seq, n);
            if (n > 0) {
                plan.add(seq, n);
            }
        }
        if (plan.rows() == 0) {
            return;
        }
        try {
            long t0 = System.nanoTime();
            plan.run(model.runner());
            forwardNanos += System.nanoTime() - t0;
        } catch (RuntimeException e) {
            LOG.error("forward step failed for {} sequences", plan.sequences().size(), e);
            for (Sequence seq : plan.sequences()) {
                finishWith(seq, seq.fail(500, "generation failed: " + e.getMessage()));
            }
            return;
        }
        steps++;
        int logitRow = 0;
        for (int i = 0; i < plan.sequences().size(); i++) {
            Sequence seq = plan.sequences().get(i);
            if (!seq.decoding()) {
                promptTokens += plan.rowsOf(i);
            }
            boolean sampleNow = seq.fed(plan.rowsOf(i));
            blocks.registerFull(seq.blocks, seq.tokens(), seq.position());
            if (!sampleNow) {
                continue;
            }
            CompletionEvent event;
            try {
                int row = logitRow++;
                if (seq.needsOnlyArgmax()) {
                    event = seq.acceptArgmax(model.runner().argmaxOf(row));
                } else {
                    model.runner().logitsOf(row, logits);
                    event = seq.sample(logits);
                }
                sampledTokens++;
            } catch (RuntimeException e) {
                LOG.error("request {} failed after its forward step", seq.request().requestId(), e);
                event = seq.fail(500, "generation failed: " + e.getMessage());
            }
            finishWith(seq, event);
        }
    }

    /**
     * Makes sure {@code seq} has blocks for its next {@code n} positions, and returns how many it may feed this
     * step: a prompt chunk shrinks to the blocks left; a decoding sequence preempts the youngest running sequence
     * that is not in this step's plan (possibly itself, then it returns 0) until its block is there.
     */
    private int reserveBlocks(Sequence seq, int n) {
        int first = seq.position();
        if (seq.pending() > 1) {
            int room = (seq.blocks.size() + blocks.freeBlocks()) * blocks.blockSize() - first;
            n = Math.min(n, room);
            return n > 0 && blocks.ensure(seq.blocks, first + n - 1) ? n : 0;
        }
        while (!blocks.ensure(seq.blocks, first)) {
            Sequence victim = youngestUnplanned();
            preempt(victim);
            if (victim == seq) {
                return 0;
            }
        }
        return 1;
    }

    private Sequence youngestUnplanned() {
        Sequence youngest = null;
        for (Sequence s : running) {
            if (!plan.contains(s) && (youngest == null || s.arrival > youngest.arrival)) {
                youngest = s;
            }
        }
        return youngest;
    }

    private void preempt(Sequence seq) {
        blocks.release(seq.blocks);
        seq.restart();
        running.remove(seq);
        waiting.addFirst(seq);
        preemptions++;
        LOG.debug("preempted {} at {} tokens to free KV blocks", seq.request().requestId(), seq.length());
    }

    /** Emits a sequence's event and retires the sequence if that event ended it. */
    private void finishWith(Sequence seq, CompletionEvent event) {
        sink.emit(seq.request().replyTopic(), event);
        if (seq.isDone()) {
            running.remove(seq);
            retire(seq, null);
        }
    }

    private void retire(Sequence seq, CompletionEvent lastWords) {
        if (lastWords != null) {
            sink.emit(seq.request().replyTopic(), lastWords);
        }
        blocks.release(seq.blocks);
        publishSizes(); // before onDone: whoever waits for the request sees it gone
        sink.afterDelivery(() -> runDone(seq.prepared)); // the offset is committed only once the caller has its last event
    }

    private static void runDone(PreparedRequest request) {
        try {
            request.onDone().run();
        } catch (RuntimeException e) {
            LOG.warn("completion callback of {} failed: {}", request.request().requestId(), e.toString());
        }
    }

    private long lastStatsLog = System.nanoTime(), stepsAtLastLog;

    /** One line of counters a minute while the engine works: KV use, prefix-cache hits, preemptions. */
    private void logStatsNowAndThen() {
        long now = System.nanoTime();
        if (now - lastStatsLog < STATS_LOG_INTERVAL_NS || steps == stepsAtLastLog) {
            return;
        }
        lastStatsLog = now;
        stepsAtLastLog = steps;
        LOG.info("engine {}: {}", model.name(), stats());
    }

    private static final long STATS_LOG_INTERVAL_NS = 60_000_000_000L;

    private void publishSizes() {
        waitingSize = waiting.size();
        runningSize = running.size();
        noticeBusy();
    }

    @Override
    public void close() throws InterruptedException {
        stopping = true;
        thread.join(10_000);
    }
}
