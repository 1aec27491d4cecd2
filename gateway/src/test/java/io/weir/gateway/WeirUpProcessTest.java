package io.weir.gateway;

import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `weir up` as a real OS process: it prints the URL and a generated key when ready, serves, stops on
 * SIGTERM promptly, and a restart on the same data directory keeps the key and the keys created with it.
 */
class WeirUpProcessTest {
    private static final Pattern KEY = Pattern.compile("API key:\\s+(weir-[0-9a-f]{32})");

    private record Running(WeirProcess process, List<String> banner) {
    }

    private static Running start(Path data, int port) throws Exception {
        Path model = TestModels.require(TestStack.MODEL);
        WeirProcess p = WeirProcess.start("up", "--port", String.valueOf(port), "--data", data.toString(), "--kafka-port", "0",
                "--hazelcast-port", String.valueOf(EmbeddedKafka.freePort()), "--cluster", "weir-up-test-" + port,
                "--model", TestStack.MODEL + "=" + model);
        return new Running(p, p.awaitLine("Gateway:", 120));
    }

    private static String key(List<String> banner) {
        for (String line : banner) {
            Matcher m = KEY.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new AssertionError("no API key in the banner: " + banner);
    }

    private static String goldenCompletion() throws Exception {
        var golden = io.weir.infra.json.Json.MAPPER.readTree(TestModels.require(TestStack.MODEL).resolve("golden.json").toFile());
        return golden.get("cases").get(0).get("completion_text").asText();
    }

    private static void stop(WeirProcess p) throws InterruptedException {
        p.stop(); // SIGTERM; fails unless it stops within 30 s
    }

    @Test
    void upServesWithAGeneratedKeyStopsOnSigtermAndKeepsKeysAndEndpointsAcrossRestarts() throws Exception {
        Path data = Files.createTempDirectory("weir-up-test");
        int port = EmbeddedKafka.freePort();
        String prompt = "{\"prompt\": \"Once upon a time\", \"max_new_tokens\": 8, \"temperature\": 0}";
        String path = "/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL;

        Running first = start(data, port);
        String key = key(first.banner());
        assertTrue(first.banner().stream().anyMatch(l -> l.contains("http://127.0.0.1:" + port)), first.banner().toString());
        assertEquals(key, Files.readString(data.resolve("admin-api-key")).strip());
        HttpTestClient client = new HttpTestClient("http://127.0.0.1:" + port);
        assertEquals(200, client.get("/readyz").status());
        HttpTestClient.Response r = client.post(path, prompt, "authorization", HttpTestClient.basic(key));
        assertEquals(200, r.status(), r.body());
        String text = r.json().get("output").get("text").asText();
        assertEquals(8, r.json().get("output").get("num_completion_tokens").asInt());
        assertTrue(!text.isEmpty() && goldenCompletion().startsWith(text), "greedy text is a prefix of the golden one: " + text);
        // The generated key is an admin key: it creates a key for a tenant, which must outlive the process.
        HttpTestClient.Response created = client.post("/v1/admin/api-keys", "{\"tenant\": \"team-up\"}", "authorization", HttpTestClient.basic(key));
        assertEquals(200, created.status(), created.body());
        String teamKey = created.json().get("key").asText();
        assertEquals(200, client.post(path, prompt, "authorization", HttpTestClient.basic(teamKey)).status());
        // An endpoint created over the Model API (private to team-up, scaled to zero when idle) must outlive it too.
        String endpoint = "{\"name\": \"team-model\", \"model_name\": \"stories\", \"checkpoint_path\": \""
                + TestModels.require(TestStack.MODEL) + "\", \"min_workers\": 0, \"public_inference\": false}";
        assertEquals(200, client.post("/v1/llm/model-endpoints", endpoint, "authorization", HttpTestClient.basic(teamKey)).status());
        Await.until("team-model READY", java.time.Duration.ofSeconds(60), () -> "READY".equals(
                client.get("/v1/llm/model-endpoints/team-model", "authorization", HttpTestClient.basic(teamKey)).json().get("status").asText()));
        stop(first.process());

        Running second = start(data, port);
        try {
            assertEquals(key, key(second.banner()), "the generated key survives a restart");
            HttpTestClient.Response again = client.post(path, prompt, "authorization", HttpTestClient.basic(key));
            assertEquals(200, again.status(), again.body());
            assertNotNull(again.json().get("output"));
            HttpTestClient.Response team = client.post(path, prompt, "authorization", HttpTestClient.basic(teamKey));
            assertEquals(200, team.status(), "a key created through the admin API survives a restart: " + team.body());
            HttpTestClient.Response usage = client.get("/v1/usage", "authorization", HttpTestClient.basic(teamKey));
            assertEquals("team-up", usage.json().get("tenant").asText());
            HttpTestClient.Response model = client.get("/v1/llm/model-endpoints/team-model", "authorization", HttpTestClient.basic(teamKey));
            assertEquals(200, model.status(), "an endpoint survives a full restart: " + model.body());
            assertEquals("READY", model.json().get("status").asText());
            assertEquals(false, model.json().get("public_inference").asBoolean());
            assertEquals(404, client.get("/v1/llm/model-endpoints/team-model", "authorization", HttpTestClient.basic(key)).status(),
                    "still private to its tenant");
            HttpTestClient.Response served = client.post("/v1/llm/completions-sync?model_endpoint_name=team-model", prompt,
                    "authorization", HttpTestClient.basic(teamKey));
            assertEquals(200, served.status(), "served after the restart (from zero): " + served.body());
            assertTrue(goldenCompletion().startsWith(served.json().get("output").get("text").asText()));
        } finally {
            stop(second.process());
        }
    }
}
