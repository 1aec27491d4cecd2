package io.weir.worker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.launch.WeirOptions;
import io.weir.infra.launch.WeirStack;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The full stack in this process, as `weir up` runs it (embedded Kafka broker, Hazelcast member, registry, worker,
 * completion-service, gateway), driven over HTTP: each stream is a {@code completions-stream} call whose SSE chunks
 * are timestamped as they arrive.
 *
 * <p>The client is a load generator sharing the machine with the stack, so it is kept as cheap as the ones serving
 * benchmarks use (vLLM's aiohttp client, wrk): one event loop of its own for every connection, and each chunk only
 * scanned for its {@code data:} lines. (The JDK's HttpClient with a line stream per call took ~12% of both cores at
 * 32 streams of stories15M: CPU the engine then did not get.)
 */
final class StackDriver implements LoadDriver {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "bench-key";

    private final WeirStack stack;
    private final int port;
    private final String uri;
    private final Vertx clientVertx;
    private final HttpClient http;
    private final Map<Long, String> clientThreads; // the client's event loop, reported apart from the gateway's

    StackDriver(String model, Path checkpoint, BenchOptions o, int maxSeqs) throws Exception {
        port = EmbeddedKafka.freePort();
        Path data = Files.createTempDirectory("weir-bench-stack");
        stack = WeirStack.start(WeirOptions.parse("up", "--port", String.valueOf(port), "--data", data.toString(),
                "--model", model + "=" + checkpoint, "--api-key", KEY + ":bench", "--cluster", "weir-bench-" + UUID.randomUUID(),
                "--max-seqs", String.valueOf(maxSeqs), "--max-batch-tokens", String.valueOf(o.maxBatchTokens()),
                "--quantize", o.storage().name().toLowerCase(java.util.Locale.ROOT),
                "--kv-cache-dtype", o.kvDtype() == null ? "auto" : o.kvDtype().name().toLowerCase(java.util.Locale.ROOT)),
                WeirStack.discoverServices());
        uri = "/v1/llm/completions-stream?model_endpoint_name=" + model;
        clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
        http = clientVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(Math.max(maxSeqs, 1)));
        Promise<Long> loop = Promise.promise();
        clientVertx.runOnContext(v -> loop.complete(Thread.currentThread().threadId()));
        clientThreads = Map.of(loop.future().await(10, TimeUnit.SECONDS), "bench client (Vert.x event loop)");
    }

    @Override
    public RunResult run(List<String> prompts, int maxNewTokens) throws Exception {
        List<Trace> traces = new ArrayList<>();
        List<Future<Void>> calls = new ArrayList<>();
        ThreadCpu cpu0 = ThreadCpu.now(clientThreads);
        for (String prompt : prompts) {
            Buffer body = Buffer.buffer(JSON.createObjectNode().put("prompt", prompt).put("max_new_tokens", maxNewTokens)
                    .put("temperature", 0).toString());
            Trace t = new Trace(System.nanoTime());
            traces.add(t);
            calls.add(stream(body, t));
        }
        Future.join(calls).await(30, TimeUnit.MINUTES);
        return new RunResult(traces, ThreadCpu.now(clientThreads).delta(cpu0));
    }

    private Future<Void> stream(Buffer body, Trace t) {
        RequestOptions request = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
                .setURI(uri).putHeader("content-type", "application/json").putHeader("authorization", "Bearer " + KEY)
                .setIdleTimeout(TimeUnit.MINUTES.toMillis(30));
        return http.request(request).compose(req -> req.send(body)).compose(response -> {
            if (response.statusCode() != 200) {
                return response.body().map(b -> {
                    t.fail("HTTP " + response.statusCode() + ": " + b);
                    return null;
                });
            }
            SseLines lines = new SseLines(t);
            response.handler(lines::accept);
            return response.end();
        }).otherwise(e -> {
            t.fail(e.toString());
            return null;
        });
    }

    /** Splits a response's chunks into lines and timestamps every token event; reads the JSON of errors only. */
    private static final class SseLines {
        private final Trace trace;
        private Buffer partial = Buffer.buffer(); // a line split across chunks

        SseLines(Trace trace) {
            this.trace = trace;
        }

        void accept(Buffer chunk) {
            long now = System.nanoTime();
            Buffer data = partial.length() == 0 ? chunk : partial.appendBuffer(chunk);
            int start = 0;
            for (int i = 0; i < data.length(); i++) {
                if (data.getByte(i) == '\n') {
                    line(data, start, i, now);
                    start = i + 1;
                }
            }
            partial = Buffer.buffer().appendBuffer(data, start, data.length() - start);
        }

        private void line(Buffer data, int from, int to, long now) {
            if (to > from && data.getByte(to - 1) == '\r') to--;
            if (to - from < 5 || data.getByte(from) != 'd' || !data.getString(from, from + 5).equals("data:")) return;
            String tail = "\"error\":null}";
            if (to - from >= tail.length() && data.getString(to - tail.length(), to).equals(tail)) {
                trace.token(now); // a token chunk: the client's work stays small
                return;
            }
            String json = data.getString(from + 5, to, StandardCharsets.UTF_8.name());
            try {
                JsonNode event = JSON.readTree(json);
                trace.fail(event.path("error").toString());
            } catch (Exception e) {
                trace.fail("unreadable chunk " + json + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        try {
            clientVertx.close().await(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // the stack closes anyway; its connections are gone with it
        }
        stack.close();
    }
}
