package io.weir.gateway.completions;

import io.weir.gateway.metrics.LatencyHistogram;
import io.weir.gateway.metrics.PrometheusText;
import io.weir.gateway.metrics.PrometheusText.Type;
import io.weir.infra.messages.CancelRequest;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What this gateway's completion calls saw, per model endpoint, as their callers saw it: time to the first token and
 * between tokens, whole-request time, and how calls ended. Unlike the engines' series these are this instance's own
 * (each gateway counts the calls it served), as each vLLM API server reports its own.
 */
public final class CallMetrics {
    private static final class Endpoint {
        final LatencyHistogram firstToken = new LatencyHistogram(LatencyHistogram.FIRST_TOKEN_BOUNDS);
        final LatencyHistogram interToken = new LatencyHistogram(LatencyHistogram.INTER_TOKEN_BOUNDS);
        final LatencyHistogram request = new LatencyHistogram(LatencyHistogram.REQUEST_BOUNDS);
        final Map<String, LongAdder> finished = new ConcurrentHashMap<>(); // by finish reason
        final Map<String, LongAdder> failed = new ConcurrentHashMap<>(); // by HTTP status
        final Map<String, LongAdder> cancelled = new ConcurrentHashMap<>(); // by reason
    }

    private final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();

    private Endpoint of(String model) {
        return endpoints.computeIfAbsent(model, m -> new Endpoint());
    }

    void firstToken(String model, long nanos) {
        of(model).firstToken.record(nanos);
    }

    void interToken(String model, long nanos) {
        of(model).interToken.record(nanos);
    }

    /** A call that ended with its last token ({@code reason}: stop, length...) after {@code nanos}. */
    void finished(String model, String reason, long nanos) {
        Endpoint e = of(model);
        e.request.record(nanos);
        count(e.finished, reason == null ? "unknown" : reason);
    }

    void failed(String model, int status) {
        count(of(model).failed, Integer.toString(status));
    }

    /** A call the gateway cancelled; reasons other than Weir's own count as "other" (labels stay few). */
    void cancelled(String model, String reason) {
        boolean known = CancelRequest.TIMEOUT.equals(reason) || CancelRequest.CLIENT_GONE.equals(reason)
                || CancelRequest.RACE_LOST.equals(reason);
        count(of(model).cancelled, known ? reason : "other");
    }

    private static void count(Map<String, LongAdder> counters, String key) {
        counters.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    /** Appends this gateway's call series, endpoints in name order. */
    public void writeTo(PrometheusText text) {
        Map<String, Endpoint> sorted = new TreeMap<>(endpoints);
        histograms(text, sorted, "weir_time_to_first_token_seconds",
                "Seconds from a call's arrival at this gateway to its first token leaving it.", e -> e.firstToken);
        histograms(text, sorted, "weir_inter_token_latency_seconds",
                "Seconds between two tokens of a call, as this gateway relays them.", e -> e.interToken);
        histograms(text, sorted, "weir_e2e_request_latency_seconds",
                "Seconds from a call's arrival at this gateway to its last token, for calls that finished.", e -> e.request);
        counters(text, sorted, "weir_request_success_total", "Calls that finished, by finish reason.", "finished_reason",
                e -> e.finished);
        counters(text, sorted, "weir_request_failure_total", "Calls that ended with an error, by HTTP status.", "status",
                e -> e.failed);
        counters(text, sorted, "weir_request_cancelled_total",
                "Calls this gateway cancelled on the workers, by reason (timeout, client_disconnected, race_lost, other).",
                "reason", e -> e.cancelled);
    }

    private static void histograms(PrometheusText text, Map<String, Endpoint> sorted, String name, String help,
                                   java.util.function.Function<Endpoint, LatencyHistogram> which) {
        text.family(name, Type.HISTOGRAM, help);
        sorted.forEach((model, e) -> text.histogram(name, which.apply(e).snapshot(), "model_endpoint", model));
    }

    private static void counters(PrometheusText text, Map<String, Endpoint> sorted, String name, String help, String label,
                                 java.util.function.Function<Endpoint, Map<String, LongAdder>> which) {
        text.family(name, Type.COUNTER, help);
        sorted.forEach((model, e) -> new TreeMap<>(which.apply(e)).forEach((value, n) ->
                text.sample(name, n.sum(), "model_endpoint", model, label, value)));
    }
}
