package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LLM Engine's Model API on the real stack: endpoints created, loaded by the worker, served, updated,
 * deleted; who may see and change what; which checkpoint paths are refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelEndpointApiTest {
    private static final String KEY_B = "test-key-b";
    private static final String AUTH = "authorization";
    private TestStack stack;
    private HttpTestClient client;
    private Path root;
    private Path stories;
    private JsonNode golden;

    @BeforeAll
    void start() throws Exception {
        Path shared = TestModels.require(TestStack.MODEL);
        golden = Json.MAPPER.readTree(shared.resolve("golden.json").toFile()).get("cases").get(0);
        root = Files.createTempDirectory("weir-checkpoint-root");
        stories = copyCheckpoint(shared, root.resolve("stories-copy"));
        stack = TestStack.start(TestBrokers.embedded(), "--api-key", KEY_B + ":tenant-b", "--checkpoint-root", root.toString());
        client = new HttpTestClient(stack.baseUrl);
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static Path copyCheckpoint(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        for (String f : new String[]{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(from.resolve(f), to.resolve(f));
        }
        return to;
    }

    private static String[] as(String key) {
        return new String[]{AUTH, HttpTestClient.basic(key)};
    }

    private static final String A = TestStack.KEY;
    private static final String B = KEY_B;

    /** The body Model.create sends with the client's defaults: every optional field, mostly null. */
    private static Map<String, Object> createBody(String name, String checkpointPath, boolean publicInference) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("name", name);
        b.put("model_name", "llama-2-7b");
        b.put("source", "hugging_face");
        b.put("inference_framework", "vllm");
        b.put("inference_framework_image_tag", "latest");
        b.put("num_shards", 1);
        b.put("quantize", null);
        b.put("checkpoint_path", checkpointPath);
        b.put("metadata", Map.of());
        b.put("post_inference_hooks", null);
        b.put("endpoint_type", "streaming");
        for (String k : new String[]{"cpus", "gpus", "memory", "gpu_type", "storage", "optimize_costs", "prewarm",
                "billing_tags", "default_callback_url", "default_callback_auth", "chat_template_override", "max_model_len"}) {
            b.put(k, null);
        }
        b.put("nodes_per_worker", 1);
        b.put("min_workers", 0);
        b.put("max_workers", 1);
        b.put("per_worker", 2);
        b.put("labels", Map.of("team", "tests"));
        b.put("high_priority", false);
        b.put("public_inference", publicInference);
        return b;
    }

    private HttpTestClient.Response create(String key, Map<String, Object> body) {
        return client.post("/v1/llm/model-endpoints", Json.toString(body), as(key));
    }

    private HttpTestClient.Response get(String key, String name) {
        return client.get("/v1/llm/model-endpoints/" + name, as(key));
    }

    private JsonNode awaitStatus(String key, String name, String status) throws InterruptedException {
        return Await.until(name + " reaching " + status, java.time.Duration.ofSeconds(60), () -> {
            HttpTestClient.Response r = get(key, name);
            return r.status() == 200 && status.equals(r.json().get("status").asText()) ? r.json() : null;
        });
    }

    private void awaitGone(String key, String name) throws InterruptedException {
        Await.until(name + " deleted", java.time.Duration.ofSeconds(60), () -> get(key, name).status() == 404);
    }

    private HttpTestClient.Response complete(String key, String model) {
        String body = Json.toString(Map.of("prompt", golden.get("prompt").asText(), "max_new_tokens", 32, "temperature", 0));
        return client.post("/v1/llm/completions-sync?model_endpoint_name=" + model, body, as(key));
    }

    @Test
    void createdEndpointIsLoadedServedAndDeletedWithTenantVisibility() throws Exception {
        HttpTestClient.Response created = create(A, createBody("a-private", stories.toString(), false));
        assertEquals(200, created.status(), created.body());
        assertTrue(created.json().get("endpoint_creation_task_id").asText().startsWith("task-"));
        assertEquals(400, create(A, createBody("a-private", stories.toString(), false)).status(), "a duplicate name is refused");
        JsonNode ready = awaitStatus(A, "a-private", "READY");
        assertEquals(512, ready.get("context_length").asInt());
        assertEquals("tests", ready.get("labels").get("team").asText());
        assertEquals(golden.get("completion_text").asText(), complete(A, "a-private").json().get("output").get("text").asText());

        // Tenant B cannot see A's private endpoint at all.
        assertEquals(404, get(B, "a-private").status());
        assertEquals(404, complete(B, "a-private").status());
        assertEquals(404, client.put("/v1/llm/model-endpoints/a-private", "{\"max_workers\": 2}", as(B)).status());
        assertEquals(404, client.delete("/v1/llm/model-endpoints/a-private", as(B)).status());
        assertFalse(client.get("/v1/llm/model-endpoints", as(B)).body().contains("a-private"));
        assertTrue(client.get("/v1/llm/model-endpoints", as(A)).body().contains("a-private"));

        // A public endpoint of A's: B may see and use it, not change it.
        assertEquals(200, create(A, createBody("a-public", stories.toString(), true)).status());
        awaitStatus(A, "a-public", "READY");
        assertEquals(200, get(B, "a-public").status());
        assertEquals(200, complete(B, "a-public").status());
        assertEquals(403, client.put("/v1/llm/model-endpoints/a-public", "{\"max_workers\": 2}", as(B)).status());
        assertEquals(403, client.delete("/v1/llm/model-endpoints/a-public", as(B)).status());

        // The owner updates and deletes.
        HttpTestClient.Response updated = client.put("/v1/llm/model-endpoints/a-public", "{\"max_workers\": 3, \"labels\": {\"x\": \"y\"}}", as(A));
        assertEquals(200, updated.status(), updated.body());
        JsonNode after = get(A, "a-public").json();
        assertEquals(3, after.get("max_workers").asInt());
        assertEquals("y", after.get("labels").get("x").asText());
        HttpTestClient.Response deleted = client.delete("/v1/llm/model-endpoints/a-private", as(A));
        assertEquals(200, deleted.status());
        assertTrue(deleted.json().get("deleted").asBoolean());
        awaitGone(A, "a-private");
        assertEquals(404, complete(A, "a-private").status());
    }

    @Test
    void checkpointPathsOutsideTheRootsAreRefused() throws Exception {
        Path outside = Files.createTempDirectory("weir-outside");
        Files.writeString(outside.resolve("config.json"), "{}");
        Path link = root.resolve("sneaky-link");
        Files.createSymbolicLink(link, outside);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("/etc", "outside the allowed checkpoint roots");
        cases.put(outside.toString(), "outside the allowed checkpoint roots");
        cases.put(root + "/../" + outside.getFileName(), "outside the allowed checkpoint roots");
        cases.put(link.toString(), "leads outside");
        cases.put("relative/path", "must be absolute");
        cases.put("s3://bucket/model", "local directory or a file:// URL");
        cases.put(root.resolve("missing").toString(), "does not exist");
        cases.put(root.toString(), "neither a Hugging Face checkpoint directory");
        int i = 0;
        for (var c : cases.entrySet()) {
            HttpTestClient.Response r = create(A, createBody("refused-" + i++, c.getKey(), true));
            assertEquals(400, r.status(), c.getKey() + ": " + r.body());
            assertTrue(r.json().get("detail").asText().contains(c.getValue()), c.getKey() + ": " + r.body());
        }
        assertFalse(client.get("/v1/llm/model-endpoints", as(A)).body().contains("refused-"), "nothing was registered");
        // A file:// URL inside the root is fine.
        assertEquals(200, create(A, createBody("by-url", stories.toUri().toString(), true)).status());
        awaitStatus(A, "by-url", "READY");
    }

    @Test
    void aBrokenCheckpointEndsInUpdateFailedWithItsReason() throws Exception {
        Path broken = copyCheckpoint(stories, root.resolve("broken"));
        Files.writeString(broken.resolve("config.json"), Files.readString(broken.resolve("config.json"))
                .replace("LlamaForCausalLM", "GPT2LMHeadModel").replace("\"llama\"", "\"gpt2\""));
        assertEquals(200, create(A, createBody("broken", broken.toString(), true)).status());
        JsonNode failed = awaitStatus(A, "broken", "UPDATE_FAILED");
        assertTrue(failed.get("status_reason").asText().contains("GPT2LMHeadModel"), failed.toString());
        HttpTestClient.Response r = complete(A, "broken");
        assertEquals(503, r.status(), r.body());
        assertTrue(r.json().get("detail").asText().contains("failed to load"));

        // Pointing it at a good checkpoint (a .tar of one) loads it.
        Path tar = root.resolve("stories.tar");
        Process p = new ProcessBuilder("tar", "-cf", tar.toString(), "-C", stories.getParent().toString(), stories.getFileName().toString())
                .redirectErrorStream(true).start();
        assertEquals(0, p.waitFor());
        assertEquals(200, client.put("/v1/llm/model-endpoints/broken", Json.toString(Map.of("checkpoint_path", tar.toString())), as(A)).status());
        awaitStatus(A, "broken", "READY");
        assertEquals(golden.get("completion_text").asText(), complete(A, "broken").json().get("output").get("text").asText());
    }

    @Test
    void badCreateBodiesAre4xx() {
        Map<String, Object> bad = new HashMap<>(createBody("bad name!", stories.toString(), true));
        assertEquals(400, create(A, bad).status());
        bad = new HashMap<>(createBody("ok-name", stories.toString(), true));
        bad.put("min_workers", 3);
        bad.put("max_workers", 1);
        assertEquals(400, create(A, bad).status());
        bad.put("max_workers", "many");
        assertEquals(422, create(A, bad).status());
        bad = new HashMap<>(createBody("ok-name", stories.toString(), true));
        bad.put("quantize", "awq");
        assertEquals(400, create(A, bad).status());
        bad.remove("quantize");
        bad.remove("name");
        assertEquals(422, create(A, bad).status());
    }

    @Test
    void downloadUrlsAreSignedAndServeTheCheckpointFiles() throws Exception {
        HttpTestClient.Response r = client.post("/v1/llm/model-endpoints/download",
                "{\"model_name\": \"" + TestStack.MODEL + "\", \"download_format\": \"hugging_face\"}", as(B));
        assertEquals(200, r.status(), r.body());
        JsonNode urls = r.json().get("urls");
        assertTrue(urls.has("config.json") && urls.has("model.safetensors") && urls.has("tokenizer.json"), urls.toString());
        String url = urls.get("config.json").asText();
        String path = url.substring(stack.baseUrl.length());
        HttpTestClient.Response file = client.get(path); // no API key: the signature is the authorization
        assertEquals(200, file.status());
        assertArrayEquals(Files.readAllBytes(TestModels.require(TestStack.MODEL).resolve("config.json")),
                file.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(403, client.get(path.replace("signature=", "signature=0")).status(), "a tampered signature");
        assertEquals(403, client.get(path.replace("config.json", "tokenizer.json")).status(), "a signature is for one file");
        assertEquals(404, client.post("/v1/llm/model-endpoints/download", "{\"model_name\": \"nope\"}", as(A)).status());
    }
}
