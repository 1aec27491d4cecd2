package io.weir.gateway.completions;

import io.weir.gateway.metrics.LatencyHistogram;
import io.weir.gateway.metrics.PrometheusText;
import io.weir.infra.messages.CancelRequest;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gateway's own call series: latency histograms in Prometheus' layout and outcome counters. */
class CallMetricsTest {
    private static final long MS = 1_000_000;

    @Test
    void histogramBucketsAreCumulativeAndAValueOnABoundCountsInIt() {
        LatencyHistogram h = new LatencyHistogram(new double[] {0.01, 0.1, 1.0});
        for (long ms : new long[] {5, 10, 11, 100, 900, 4_000}) h.record(ms * MS);
        LatencyHistogram.Snapshot s = h.snapshot();
        assertEquals(List.of(2L, 4L, 5L, 6L), java.util.Arrays.stream(s.cumulative()).boxed().toList());
        assertEquals(6, s.count());
        assertEquals(5.026, s.sum(), 1e-9);
        String text = new PrometheusText().histogram("t_seconds", s, "model_endpoint", "m").toString();
        assertEquals(List.of(
                "t_seconds_bucket{model_endpoint=\"m\",le=\"0.01\"} 2",
                "t_seconds_bucket{model_endpoint=\"m\",le=\"0.1\"} 4",
                "t_seconds_bucket{model_endpoint=\"m\",le=\"1.0\"} 5",
                "t_seconds_bucket{model_endpoint=\"m\",le=\"+Inf\"} 6",
                "t_seconds_sum{model_endpoint=\"m\"} 5.026",
                "t_seconds_count{model_endpoint=\"m\"} 6"), text.lines().toList());
    }

    @Test
    void callsAreCountedPerEndpointByHowTheyEnded() {
        CallMetrics m = new CallMetrics();
        m.firstToken("b", 30 * MS);
        m.interToken("b", 4 * MS);
        m.interToken("b", 6 * MS);
        m.finished("b", "length", 50 * MS);
        m.firstToken("a", 2 * MS);
        m.finished("a", "stop", 2 * MS);
        m.failed("a", 500);
        m.cancelled("a", CancelRequest.TIMEOUT);
        m.cancelled("a", "some other reason");
        m.cancelled("a", "yet another");
        PrometheusText text = new PrometheusText();
        m.writeTo(text);
        String all = text.toString();
        List<String> lines = all.lines().toList();
        for (String line : List.of(
                "# TYPE weir_time_to_first_token_seconds histogram",
                "weir_time_to_first_token_seconds_count{model_endpoint=\"a\"} 1",
                "weir_time_to_first_token_seconds_bucket{model_endpoint=\"b\",le=\"0.02\"} 0",
                "weir_time_to_first_token_seconds_bucket{model_endpoint=\"b\",le=\"0.04\"} 1",
                "weir_inter_token_latency_seconds_count{model_endpoint=\"b\"} 2",
                "weir_inter_token_latency_seconds_sum{model_endpoint=\"b\"} 0.01",
                "weir_inter_token_latency_seconds_count{model_endpoint=\"a\"} 0",
                "weir_e2e_request_latency_seconds_count{model_endpoint=\"b\"} 1",
                "weir_request_success_total{model_endpoint=\"a\",finished_reason=\"stop\"} 1",
                "weir_request_success_total{model_endpoint=\"b\",finished_reason=\"length\"} 1",
                "weir_request_failure_total{model_endpoint=\"a\",status=\"500\"} 1",
                "weir_request_cancelled_total{model_endpoint=\"a\",reason=\"timeout\"} 1",
                "weir_request_cancelled_total{model_endpoint=\"a\",reason=\"other\"} 2")) {
            assertTrue(lines.contains(line), line + " in\n" + all);
        }
        assertTrue(lines.indexOf("weir_time_to_first_token_seconds_count{model_endpoint=\"a\"} 1")
                < lines.indexOf("weir_time_to_first_token_seconds_count{model_endpoint=\"b\"} 1"), "endpoints in name order");
    }
}
