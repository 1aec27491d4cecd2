package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-key concurrency limits on the real gateway, registry and completion-service, with the worker played by
 * the test ({@link ScriptedWorker}): a call then runs exactly as long as the test wants, so "while the first
 * call runs" and "after it ended" are certain, not a race. However a call ends (answer, worker error,
 * deadline, client gone) its slot comes back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrencyLimitTest {
    private static final String AUTH = "authorization";
    private static final String ADMIN_KEY = "concurrency-test-admin-key";
    private static final String SYNC = "/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL;
    private static final String STREAM = "/v1/llm/completions-stream?model_endpoint_name=" + TestStack.MODEL;
    private static final Duration ARRIVAL = Duration.ofSeconds(20);

    private ScriptedStack scripted;
    private HttpTestClient client;
    private ScriptedWorker worker;

    /** A key limited to one call at a time, and its tenant. */
    private record Limited(String key, String tenant) {
    }

    @BeforeAll
    void start() throws Exception {
        scripted = ScriptedStack.start("concurrency-test", List.of("--api-key", ADMIN_KEY + ":admin"));
        client = scripted.client;
        worker = scripted.worker;
    }

    @AfterAll
    void stop() throws Exception {
        if (scripted != null) {
            scripted.close();
        }
    }

    private Limited limitedKey() {
        String tenant = "one-at-a-time-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        HttpTestClient.Response r = client.post("/v1/admin/api-keys",
                Json.toString(Map.of("tenant", tenant, "max_concurrent_requests", 1)), AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, r.status(), r.body());
        return new Limited(r.json().get("key").asText(), tenant);
    }

    private static String body(Double timeoutSeconds) {
        return timeoutSeconds == null ? "{\"prompt\": \"Once upon a time\", \"max_new_tokens\": 8, \"temperature\": 0}"
                : "{\"prompt\": \"Once upon a time\", \"max_new_tokens\": 8, \"temperature\": 0, \"timeout\": " + timeoutSeconds + "}";
    }

    private CompletableFuture<HttpResponse<String>> syncAsync(Limited k, Double timeoutSeconds) {
        return client.exchangeAsync("POST", SYNC, body(timeoutSeconds), AUTH, HttpTestClient.basic(k.key()));
    }

    /** Starts a sync call and waits until the worker has it: the call was admitted and now holds the slot. */
    private Running admitted(Limited k, Double timeoutSeconds) throws Exception {
        CompletableFuture<HttpResponse<String>> answer = syncAsync(k, timeoutSeconds);
        CompletionRequest request = worker.next(k.tenant(), ARRIVAL);
        assertNotNull(request, () -> "the call was admitted and reached the worker; the gateway said " + answer.getNow(null));
        return new Running(request, answer);
    }

    private record Running(CompletionRequest request, CompletableFuture<HttpResponse<String>> answer) {
        HttpResponse<String> await() throws Exception {
            return answer.get(30, TimeUnit.SECONDS);
        }
    }

    /** Answers a held call with two tokens of a 4-token prompt. */
    private void answer(CompletionRequest request) {
        worker.token(request, 0, "Once", 4, 1, false);
        worker.token(request, 1, " more", 4, 2, true);
    }

    /** Answers a held call and checks the caller got the answer. */
    private void finish(Running call) throws Exception {
        answer(call.request());
        HttpResponse<String> done = call.await();
        assertEquals(200, done.statusCode(), done.body());
        assertEquals("Once more", Json.fromString(done.body(), JsonNode.class).get("output").get("text").asText());
    }

    private void assertRefused(Limited k) {
        HttpResponse<String> refused = client.exchange("POST", SYNC, body(null), AUTH, HttpTestClient.basic(k.key()));
        assertEquals(429, refused.statusCode(), refused.body());
        assertEquals("1", refused.headers().firstValue("retry-after").orElse(null));
        assertTrue(Json.fromString(refused.body(), JsonNode.class).get("detail").asText().contains("concurrent"), refused.body());
    }

    @Test
    void aSecondCallIs429WhileTheFirstRunsAndIsAcceptedOnceItHasEnded() throws Exception {
        Limited k = limitedKey();
        Running first = admitted(k, null);
        assertRefused(k);
        assertEquals(429, client.stream(STREAM, body(null), AUTH, HttpTestClient.basic(k.key())).status(), "streams count too");
        finish(first);
        finish(admitted(k, null)); // at once: the answer went out only after the slot was free
    }

    @Test
    void aCallEndedByAWorkerErrorGivesItsSlotBack() throws Exception {
        Limited k = limitedKey();
        Running first = admitted(k, null);
        worker.fail(first.request(), 0, 500, "the worker fell over");
        assertEquals(500, first.await().statusCode());
        finish(admitted(k, null));
    }

    @Test
    void aCallPastItsDeadlineGivesItsSlotBack() throws Exception {
        Limited k = limitedKey();
        Running first = admitted(k, 0.5); // the worker never answers it
        HttpResponse<String> late = first.await();
        assertEquals(504, late.statusCode(), late.body());
        finish(admitted(k, null));
    }

    @Test
    void aCallWhoseClientGoesAwayGivesItsSlotBackAndCountsWhatItGot() throws Exception {
        Limited k = limitedKey();
        URI base = URI.create(scripted.stack.baseUrl);
        byte[] json = body(null).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + STREAM + " HTTP/1.1\r\nHost: " + base.getHost() + "\r\nAuthorization: " + HttpTestClient.basic(k.key())
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + json.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(json);
            out.flush();
            CompletionRequest request = worker.next(k.tenant(), ARRIVAL);
            assertNotNull(request);
            worker.token(request, 0, "Once", 5, 1, false);
            socket.setSoTimeout(20_000);
            String received = readUntil(socket.getInputStream(), "data:");
            assertTrue(received.startsWith("HTTP/1.1 200"), received);
        } // the client goes away mid-stream

        // The slot comes back as soon as the gateway sees the connection closed: retry until admitted.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Running next = null;
        while (next == null) {
            assertTrue(System.nanoTime() < deadline, "the slot of the abandoned stream came back");
            CompletableFuture<HttpResponse<String>> answer = syncAsync(k, null);
            CompletionRequest request = worker.next(k.tenant(), Duration.ofMillis(300));
            if (request != null) {
                next = new Running(request, answer);
            } else {
                assertEquals(429, answer.get(30, TimeUnit.SECONDS).statusCode());
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        finish(next);

        // Usage: the abandoned stream's prompt and the one token it got, plus the finished call.
        JsonNode usage = null;
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < end; ) {
            usage = client.get("/v1/usage", AUTH, HttpTestClient.basic(k.key())).json();
            if (usage.get("requests").asInt() == 2) {
                break;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        assertEquals(2, usage.get("requests").asInt(), usage.toString());
        assertEquals(5 + 4, usage.get("prompt_tokens").asInt());
        assertEquals(1 + 2, usage.get("completion_tokens").asInt());
    }

    @Test
    void keysWithoutALimitAreNotHeldBack() throws Exception {
        String unlimited = HttpTestClient.basic(TestStack.KEY);
        List<CompletableFuture<HttpResponse<String>>> answers = List.of(
                client.exchangeAsync("POST", SYNC, body(null), AUTH, unlimited),
                client.exchangeAsync("POST", SYNC, body(null), AUTH, unlimited));
        CompletionRequest one = worker.next(TestStack.TENANT, ARRIVAL);
        CompletionRequest two = worker.next(TestStack.TENANT, ARRIVAL);
        assertNotNull(one, "both calls run at once");
        assertNotNull(two, "both calls run at once");
        for (CompletionRequest r : List.of(one, two)) {
            answer(r);
        }
        for (var a : answers) {
            assertEquals(200, a.get(30, TimeUnit.SECONDS).statusCode());
        }
    }

    private static String readUntil(InputStream in, String marker) throws java.io.IOException {
        StringBuilder seen = new StringBuilder();
        byte[] buf = new byte[1024];
        while (!seen.toString().contains(marker)) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        }
        assertFalse(seen.isEmpty());
        return seen.toString();
    }
}
