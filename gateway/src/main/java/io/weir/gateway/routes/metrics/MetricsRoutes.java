package io.weir.gateway.routes.metrics;

import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.completions.CallMetrics;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.metrics.PrometheusText;
import io.weir.gateway.metrics.PrometheusText.Type;
import io.weir.registry.EngineMetrics;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.WorkerInfo;

import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * {@code GET /metrics}: every live worker's engines in Prometheus' text format, read from the worker directory (each
 * worker announces its engines' counters in its heartbeats, every 2 s and whenever an engine goes busy or idle). The
 * series are labelled by worker and model endpoint; every gateway reports all of them, so scrape one gateway (or
 * aggregate with {@code max by (worker, model_endpoint)}). The names follow vLLM's ({@code vllm:num_requests_running}
 * is {@code weir_num_requests_running} here), with the prefix cache counted in blocks. After them come this gateway's
 * own call latencies and outcomes ({@link CallMetrics}).
 */
public final class MetricsRoutes {
    private record EngineSeries(String name, Type type, String help, ToDoubleFunction<EngineMetrics> value) {
    }

    private static final List<EngineSeries> ENGINE = List.of(
            new EngineSeries("weir_num_requests_running", Type.GAUGE, "Sequences in the engine's running batch.",
                    EngineMetrics::running),
            new EngineSeries("weir_num_requests_waiting", Type.GAUGE,
                    "Requests waiting to be admitted (new, or preempted and waiting for KV-cache room).", EngineMetrics::waiting),
            new EngineSeries("weir_kv_cache_usage_ratio", Type.GAUGE, "Fraction of the KV cache's blocks held by sequences.",
                    m -> m.kvBlocksTotal() == 0 ? 0 : (double) m.kvBlocksUsed() / m.kvBlocksTotal()),
            new EngineSeries("weir_kv_cache_blocks", Type.GAUGE, "Blocks in the KV cache.", EngineMetrics::kvBlocksTotal),
            new EngineSeries("weir_kv_cache_block_size", Type.GAUGE,
                    "Positions per KV-cache block: a prefix-cache hit saves this many prompt tokens.", EngineMetrics::kvBlockSize),
            new EngineSeries("weir_kv_cache_cached_blocks", Type.GAUGE,
                    "Unused KV-cache blocks that still hold a prompt prefix, reusable until evicted.", EngineMetrics::kvBlocksCached),
            new EngineSeries("weir_engine_steps_total", Type.COUNTER, "Forward steps the engine ran.", EngineMetrics::steps),
            new EngineSeries("weir_prompt_tokens_total", Type.COUNTER,
                    "Prompt tokens computed (recomputed ones included, prefix-cache hits not).", EngineMetrics::promptTokens),
            new EngineSeries("weir_generation_tokens_total", Type.COUNTER, "Tokens generated.", EngineMetrics::generationTokens),
            new EngineSeries("weir_num_preemptions_total", Type.COUNTER,
                    "Sequences that gave their KV blocks back to make room and were recomputed later.", EngineMetrics::preemptions),
            new EngineSeries("weir_prefix_cache_queries_total", Type.COUNTER,
                    "Full prompt blocks looked up in the prefix cache.", EngineMetrics::prefixQueries),
            new EngineSeries("weir_prefix_cache_hits_total", Type.COUNTER,
                    "Full prompt blocks found in the prefix cache (their keys and values not recomputed).", EngineMetrics::prefixHits),
            new EngineSeries("weir_kv_cache_evictions_total", Type.COUNTER,
                    "Cached prefix blocks reused for other content.", EngineMetrics::kvEvictions));

    private final WorkerDirectory workers;
    private final CallMetrics calls;

    public MetricsRoutes(WorkerDirectory workers, CallMetrics calls) {
        this.workers = workers;
        this.calls = calls;
    }

    public void get(RoutingContext ctx) {
        ctx.vertx().executeBlocking(() -> {
            PrometheusText text = render(workers.live());
            calls.writeTo(text);
            return text.toString();
        }).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().putHeader("content-type", PrometheusText.CONTENT_TYPE).end(ar.result());
            } else {
                HttpErrors.detail(ctx, 503, "worker directory unavailable: " + ar.cause().getMessage());
            }
        });
    }

    /** The exposition of these workers: one info series per worker, then each engine series over every engine. */
    static PrometheusText render(List<WorkerInfo> live) {
        List<WorkerInfo> sorted = live.stream().sorted(Comparator.comparing(WorkerInfo::workerId)).toList();
        PrometheusText text = new PrometheusText();
        text.family("weir_worker_info", Type.GAUGE, "A live worker (1), with the kernel backend and device it runs on.");
        for (WorkerInfo w : sorted) {
            text.sample("weir_worker_info", 1, "worker", w.workerId(), "backend", w.backend(), "device", w.device());
        }
        for (EngineSeries series : ENGINE) {
            text.family(series.name(), series.type(), series.help());
            for (WorkerInfo w : sorted) {
                w.engines().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e ->
                        text.sample(series.name(), series.value().applyAsDouble(e.getValue()),
                                "worker", w.workerId(), "model_endpoint", e.getKey()));
            }
        }
        return text;
    }
}
