package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestBrokers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tenancy end to end on the whole stack (real broker, Hazelcast member with durable maps, the stories260K
 * checkpoint): admin routes for API keys, per-key rate limits, per-tenant usage, and all of it surviving a
 * restart on the same data directory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TenancyApiTest {
    private static final String AUTH = "authorization";
    private static final String ADMIN_KEY = "tenancy-test-admin-key";
    private static final List<String> FLAGS = List.of("--api-key", ADMIN_KEY + ":admin");
    private static final String SYNC = "/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL;
    private static final String STREAM = "/v1/llm/completions-stream?model_endpoint_name=" + TestStack.MODEL;
    private static final String KEYS = "/v1/admin/api-keys";

    private Path data;
    private TestStack stack;
    private HttpTestClient client;

    @BeforeAll
    void startStack() throws Exception {
        data = Files.createTempDirectory("weir-tenancy-test");
        stack = TestStack.start(TestBrokers.embedded(), data, FLAGS, service -> true);
        client = new HttpTestClient(stack.baseUrl);
    }

    @AfterAll
    void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    private static String unique(String prefix) {
        return prefix + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    }

    private static String body(String prompt, int maxNewTokens) {
        return Json.toString(Map.of("prompt", prompt, "max_new_tokens", maxNewTokens, "temperature", 0));
    }

    /** Creates a key as the admin; answers the created record, raw key included. */
    private JsonNode createKey(Map<String, Object> request) {
        HttpTestClient.Response r = client.post(KEYS, Json.toString(request), AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private HttpTestClient.Response sync(String key, String prompt, int maxNewTokens) {
        return client.post(SYNC, body(prompt, maxNewTokens), AUTH, HttpTestClient.basic(key));
    }

    private HttpTestClient.Response usage(String key, String tenantParam) {
        return client.get("/v1/usage" + (tenantParam == null ? "" : "?tenant=" + tenantParam), AUTH, HttpTestClient.basic(key));
    }

    /** Polls a tenant's usage until it counts {@code requests} requests (counting follows the answer by moments). */
    private JsonNode awaitUsage(String key, long requests) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            HttpTestClient.Response r = usage(key, null);
            assertEquals(200, r.status(), r.body());
            if (r.json().get("requests").asLong() >= requests || System.nanoTime() > deadline) {
                assertEquals(requests, r.json().get("requests").asLong(), r.body());
                return r.json();
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    @Test
    void anAdminCreatesListsAndRevokesKeysAndARevokedKeyIs401() {
        String tenant = unique("team");
        JsonNode created = createKey(Map.of("tenant", tenant, "rate_limit_per_minute", 100, "max_concurrent_requests", 4));
        String key = created.get("key").asText();
        String id = created.get("id").asText();
        assertTrue(id.startsWith("key_") && key.startsWith("weir-"), created.toString());
        assertEquals(tenant, created.get("tenant").asText());
        assertFalse(created.get("admin").asBoolean());
        assertEquals(100, created.get("rate_limit_per_minute").asInt());
        assertEquals(4, created.get("max_concurrent_requests").asInt());
        assertFalse(created.get("revoked").asBoolean());
        assertEquals(200, sync(key, "Once upon a time", 4).status(), "the new key works at once");

        HttpTestClient.Response list = client.get(KEYS, AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, list.status());
        assertFalse(list.body().contains(key), "listing never shows a raw key");
        assertFalse(list.body().contains(ADMIN_KEY));
        JsonNode listed = null;
        for (JsonNode k : list.json().get("api_keys")) {
            assertFalse(k.has("key"));
            if (k.get("id").asText().equals(id)) {
                listed = k;
            }
        }
        assertEquals(tenant, listed.get("tenant").asText());

        HttpTestClient.Response revoked = client.delete(KEYS + "/" + id, AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, revoked.status(), revoked.body());
        assertTrue(revoked.json().get("revoked").asBoolean());
        assertFalse(revoked.json().get("revoked_at").isNull());
        HttpTestClient.Response refused = sync(key, "Once upon a time", 4);
        assertEquals(401, refused.status());
        assertTrue(refused.json().get("detail").asText().contains("revoked"), refused.body());
        assertEquals(401, usage(key, null).status());
        assertEquals(404, client.delete(KEYS + "/key_doesnotexist", AUTH, HttpTestClient.basic(ADMIN_KEY)).status());
    }

    @Test
    void adminRoutesAre403ForOtherKeysAnd401WithoutOne() {
        String user = HttpTestClient.basic(TestStack.KEY);
        HttpTestClient.Response create = client.post(KEYS, Json.toString(Map.of("tenant", "x")), AUTH, user);
        assertEquals(403, create.status());
        assertTrue(create.json().get("detail").asText().contains("admin"));
        assertEquals(403, client.get(KEYS, AUTH, user).status());
        assertEquals(403, client.delete(KEYS + "/key_x", AUTH, user).status());
        assertEquals(401, client.get(KEYS).status());
        // A key an admin creates without "admin": true is no admin either.
        String created = createKey(Map.of("tenant", unique("plain"))).get("key").asText();
        assertEquals(403, client.get(KEYS, AUTH, HttpTestClient.basic(created)).status());
        String admin = createKey(Map.of("tenant", unique("ops"), "admin", true)).get("key").asText();
        assertEquals(200, client.get(KEYS, AUTH, HttpTestClient.basic(admin)).status());
    }

    @Test
    void badCreateRequestsAre422() {
        String admin = HttpTestClient.basic(ADMIN_KEY);
        record Bad(String body, String field) {
        }
        for (Bad bad : List.of(new Bad("{}", "tenant"), new Bad("{\"tenant\": 5}", "tenant"),
                new Bad("{\"tenant\": \"has space\"}", "tenant"), new Bad("{\"tenant\": \"t\", \"rate_limit_per_minute\": 0}", "rate_limit_per_minute"),
                new Bad("{\"tenant\": \"t\", \"max_concurrent_requests\": \"two\"}", "max_concurrent_requests"),
                new Bad("{\"tenant\": \"t\", \"admin\": \"yes\"}", "admin"))) {
            HttpTestClient.Response r = client.post(KEYS, bad.body(), AUTH, admin);
            assertEquals(422, r.status(), bad.body() + " -> " + r.body());
            assertEquals(bad.field(), r.json().get("detail").get(0).get("loc").get(1).asText(), r.body());
        }
    }

    @Test
    void aKeyLimitedTo3PerMinuteGets429WithRetryAfterOnItsFourthRequest() {
        String key = createKey(Map.of("tenant", unique("rate"), "rate_limit_per_minute", 3)).get("key").asText();
        for (int i = 0; i < 3; i++) {
            assertEquals(200, sync(key, "Once upon a time", 2).status(), "request " + (i + 1));
        }
        HttpResponse<String> fourth = client.exchange("POST", SYNC, body("Once upon a time", 2), AUTH, HttpTestClient.basic(key));
        assertEquals(429, fourth.statusCode(), fourth.body());
        long retryAfter = Long.parseLong(fourth.headers().firstValue("retry-after").orElseThrow());
        // 3 per minute refill one every 20 s: the wait is at most that, and at least 1 s.
        assertTrue(retryAfter >= 1 && retryAfter <= 20, "Retry-After " + retryAfter);
        JsonNode detail = Json.fromString(fourth.body(), JsonNode.class).get("detail");
        assertTrue(detail.asText().contains("3 requests per minute"), fourth.body());
        assertEquals(429, client.stream(STREAM, body("Once upon a time", 2), AUTH, HttpTestClient.basic(key)).status(),
                "the stream route is limited too");
        assertEquals(200, sync(TestStack.KEY, "Once upon a time", 2).status(), "other keys are not affected");
    }

    @Test
    void eachTenantSeesExactlyItsOwnUsage() {
        String tenantA = unique("usage-a");
        String keyA = createKey(Map.of("tenant", tenantA)).get("key").asText();
        String keyB = createKey(Map.of("tenant", unique("usage-b"))).get("key").asText();
        long prompt = 0;
        long completion = 0;
        for (String p : List.of("Once upon a time", "The little dog")) {
            JsonNode out = sync(keyA, p, 6).json().get("output");
            prompt += out.get("num_prompt_tokens").asLong();
            completion += out.get("num_completion_tokens").asLong();
        }
        HttpTestClient.Stream s = client.stream(STREAM, body("Lily liked to", 9), AUTH, HttpTestClient.basic(keyA));
        assertEquals(200, s.status());
        JsonNode last = s.events().getLast().get("output");
        prompt += last.get("num_prompt_tokens").asLong();
        completion += last.get("num_completion_tokens").asLong();
        assertEquals(6 + 6 + 9, completion, "greedy runs of stories260K this short never stop early");

        JsonNode a = awaitUsage(keyA, 3);
        assertEquals(tenantA, a.get("tenant").asText());
        assertEquals(prompt, a.get("prompt_tokens").asLong());
        assertEquals(completion, a.get("completion_tokens").asLong());
        assertEquals(prompt + completion, a.get("total_tokens").asLong());
        assertEquals(1, a.get("models").size());
        assertEquals(TestStack.MODEL, a.get("models").get(0).get("model").asText());
        assertEquals(prompt, a.get("models").get(0).get("prompt_tokens").asLong());

        JsonNode b = usage(keyB, null).json();
        assertEquals(0, b.get("requests").asLong(), "B sees none of A's usage");
        assertEquals(0, b.get("total_tokens").asLong());
        assertEquals(403, usage(keyB, tenantA).status(), "B may not read A's usage");
        HttpTestClient.Response asAdmin = usage(ADMIN_KEY, tenantA);
        assertEquals(200, asAdmin.status());
        assertEquals(a, asAdmin.json(), "an admin reads any tenant's usage");
    }

    @Test
    void keysRevocationsAndUsageSurviveARestartOnTheSameDataDirectory() throws Exception {
        JsonNode kept = createKey(Map.of("tenant", unique("durable"), "rate_limit_per_minute", 50));
        String keptKey = kept.get("key").asText();
        JsonNode gone = createKey(Map.of("tenant", unique("gone")));
        assertEquals(200, client.delete(KEYS + "/" + gone.get("id").asText(), AUTH, HttpTestClient.basic(ADMIN_KEY)).status());
        assertEquals(200, sync(keptKey, "Once upon a time", 5).status());
        JsonNode usageBefore = awaitUsage(keptKey, 1);

        stack.close();
        stack = TestStack.start(TestBrokers.embedded(), data, FLAGS, service -> true);
        client = new HttpTestClient(stack.baseUrl);

        assertEquals(usageBefore, usage(keptKey, null).json(), "usage is back as it was");
        assertEquals(401, sync(gone.get("key").asText(), "Once upon a time", 2).status(), "a revoked key stays revoked");
        assertEquals(200, sync(keptKey, "Once upon a time", 5).status(), "a created key still works");
        assertEquals(2, awaitUsage(keptKey, 2).get("requests").asLong(), "and its usage goes on from where it was");
        JsonNode listed = client.get(KEYS, AUTH, HttpTestClient.basic(ADMIN_KEY)).json().get("api_keys");
        boolean keptListed = false;
        boolean goneListedRevoked = false;
        for (JsonNode k : listed) {
            keptListed |= k.get("id").equals(kept.get("id")) && k.get("rate_limit_per_minute").asInt() == 50;
            goneListedRevoked |= k.get("id").equals(gone.get("id")) && k.get("revoked").asBoolean();
        }
        assertTrue(keptListed && goneListedRevoked, listed.toString());
    }
}
