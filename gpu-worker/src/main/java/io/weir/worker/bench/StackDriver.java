package io.weir.worker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.launch.WeirOptions;
import io.weir.infra.launch.WeirStack;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * The full stack in this process, as `weir up` runs it (embedded Kafka broker, Hazelcast member, registry, worker,
 * completion-service, gateway), driven over HTTP: each stream is a {@code completions-stream} call whose SSE chunks
 * are timestamped as they arrive.
 */
final class StackDriver implements LoadDriver {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "bench-key";

    private final WeirStack stack;
    private final String url;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();

    StackDriver(String model, Path checkpoint, BenchOptions o, int maxSeqs) throws Exception {
        int port = EmbeddedKafka.freePort();
        Path data = Files.createTempDirectory("weir-bench-stack");
        stack = WeirStack.start(WeirOptions.parse("up", "--port", String.valueOf(port), "--data", data.toString(),
                "--model", model + "=" + checkpoint, "--api-key", KEY + ":bench", "--cluster", "weir-bench-" + UUID.randomUUID(),
                "--max-seqs", String.valueOf(maxSeqs), "--max-batch-tokens", String.valueOf(o.maxBatchTokens()),
                "--quantize", o.storage().name().toLowerCase(java.util.Locale.ROOT)), WeirStack.discoverServices());
        url = "http://127.0.0.1:" + port + "/v1/llm/completions-stream?model_endpoint_name=" + model;
    }

    @Override
    public RunResult run(List<String> prompts, int maxNewTokens) throws Exception {
        List<Trace> traces = new ArrayList<>();
        long cpu0 = RunResult.processCpuNanos();
        List<Future<?>> calls = new ArrayList<>();
        for (String prompt : prompts) {
            String body = JSON.createObjectNode().put("prompt", prompt).put("max_new_tokens", maxNewTokens)
                    .put("temperature", 0).toString();
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(30))
                    .header("content-type", "application/json").header("authorization", "Bearer " + KEY)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            Trace t = new Trace(System.nanoTime());
            traces.add(t);
            calls.add(clients.submit(() -> stream(request, t)));
        }
        for (Future<?> f : calls) f.get();
        return new RunResult(traces, RunResult.processCpuNanos() - cpu0);
    }

    private Void stream(HttpRequest request, Trace t) throws Exception {
        HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            t.fail("HTTP " + response.statusCode() + ": " + String.join("\n", response.body().toList()));
            return null;
        }
        try (Stream<String> lines = response.body()) {
            lines.forEach(line -> {
                if (!line.startsWith("data:")) return;
                long now = System.nanoTime();
                if (line.endsWith("\"error\":null}")) { // a token chunk: the client's work stays small
                    t.token(now);
                    return;
                }
                try {
                    JsonNode chunk = JSON.readTree(line.substring(5));
                    t.fail(chunk.path("error").toString());
                } catch (Exception e) {
                    t.fail("unreadable chunk " + line + ": " + e.getMessage());
                }
            });
        }
        return null;
    }

    @Override
    public void close() {
        clients.shutdownNow();
        stack.close();
    }
}
