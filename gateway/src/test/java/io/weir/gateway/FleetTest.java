package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.hazelcast.HazelcastNodes;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.testing.TestModels;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.WorkerInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worker fleet on the real stack: an endpoint scales to zero and back on demand, and a worker
 * process killed mid-load loses no accepted request (another worker replays it; the client's stream goes on).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetTest {
    private static final String AUTH = "authorization";
    private TestStack stack;
    private HttpTestClient client;
    private WorkerDirectory workers;
    private String storiesDir;

    @BeforeAll
    void start() throws Exception {
        storiesDir = TestModels.require(TestStack.MODEL).toString();
        stack = TestStack.start(TestBrokers.embedded(), "--scale-down-after", "1");
        client = new HttpTestClient(stack.baseUrl);
        workers = new WorkerDirectory(stack.stack.context().hazelcast());
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private void createEndpoint(String name, int minWorkers, int maxWorkers) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", name);
        body.put("model_name", "stories");
        body.put("checkpoint_path", storiesDir);
        body.put("min_workers", minWorkers);
        body.put("max_workers", maxWorkers);
        body.put("per_worker", 2);
        HttpTestClient.Response r = client.post("/v1/llm/model-endpoints", Json.toString(body), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, r.status(), r.body());
    }

    private List<String> servingWorkers(String endpoint) {
        return workers.live().stream().filter(w -> w.models().contains(endpoint)).map(WorkerInfo::workerId).toList();
    }

    private String status(String endpoint) {
        return client.get("/v1/llm/model-endpoints/" + endpoint, AUTH, HttpTestClient.basic(TestStack.KEY)).json().get("status").asText();
    }

    private static String body(String prompt, int maxNewTokens) {
        return Json.toString(Map.of("prompt", prompt, "max_new_tokens", maxNewTokens, "temperature", 0));
    }

    @Test
    void anEndpointScalesToZeroAndTheNextRequestWaitsForAWorker() throws Exception {
        createEndpoint("zero", 0, 1);
        Await.until("zero loaded once (its checkpoint is checked)", Duration.ofSeconds(60), () -> "READY".equals(status("zero")));
        Await.until("zero scaled to no worker", Duration.ofSeconds(60), () -> servingWorkers("zero").isEmpty());
        assertEquals("READY", status("zero"), "an endpoint scaled to zero is still READY");

        JsonNode golden = Json.MAPPER.readTree(TestModels.require(TestStack.MODEL).resolve("golden.json").toFile()).get("cases").get(0);
        HttpTestClient.Response r = client.post("/v1/llm/completions-sync?model_endpoint_name=zero",
                body(golden.get("prompt").asText(), 32), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, r.status(), r.body());
        assertEquals(golden.get("completion_text").asText(), r.json().get("output").get("text").asText());
        assertEquals(1, servingWorkers("zero").size(), "served from zero by one worker");
    }

    @Test
    void aWorkerKilledMidLoadLosesNoRequest() throws Exception {
        createEndpoint("pair", 2, 2);
        String hz = HazelcastNodes.address(stack.stack.context().hazelcast());
        try (WeirProcess second = WeirProcess.start("worker", "--kafka", stack.stack.context().kafka().bootstrapServers(),
                "--hazelcast", hz, "--cluster", stack.stack.context().options().clusterName(),
                "--data", Files.createTempDirectory("weir-worker-2").toString(), "--max-seqs", "4")) {
            second.awaitLine("worker is up", 120);
            Await.until("pair served by two workers", Duration.ofSeconds(60), () -> servingWorkers("pair").size() == 2);

            List<String> prompts = List.of("Once upon a time", "Lily and Ben were playing in the park", "The sun was shining",
                    "Tom had a big red ball.", "Mom said", "The little dog was very happy because");
            Map<String, String> expected = new LinkedHashMap<>();
            for (String p : prompts) {
                expected.put(p, client.post("/v1/llm/completions-sync?model_endpoint_name=pair", body(p, 160), AUTH,
                        HttpTestClient.basic(TestStack.KEY)).json().get("output").get("text").asText());
            }
            String[] ids = servingWorkers("pair").toArray(String[]::new);
            String external = java.util.Arrays.stream(ids).filter(id -> !id.startsWith("worker-" + stack.stack.context().instanceId()))
                    .findFirst().orElseThrow();

            ExecutorService pool = Executors.newFixedThreadPool(12);
            try {
                List<CompletableFuture<String>> streams = new ArrayList<>();
                List<String> asked = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    String prompt = prompts.get(i % prompts.size());
                    asked.add(prompt);
                    streams.add(CompletableFuture.supplyAsync(() -> {
                        StringBuilder text = new StringBuilder();
                        HttpTestClient.Stream s = client.stream("/v1/llm/completions-stream?model_endpoint_name=pair",
                                body(prompt, 160), AUTH, HttpTestClient.basic(TestStack.KEY));
                        int last = 0;
                        for (JsonNode e : s.events()) {
                            int count = e.get("output").get("num_completion_tokens").asInt();
                            assertEquals(last + 1, count, "no token lost or repeated");
                            last = count;
                            text.append(e.get("output").get("text").asText());
                        }
                        return text.toString();
                    }, pool));
                }
                Await.until("the external worker busy", Duration.ofSeconds(60), () -> workers.live().stream()
                        .anyMatch(w -> w.workerId().equals(external) && w.load().getOrDefault("pair", 0) > 0));
                second.kill(); // SIGKILL mid-load
                for (int i = 0; i < streams.size(); i++) {
                    assertEquals(expected.get(asked.get(i)), streams.get(i).get(), "stream " + i + " (" + asked.get(i) + ")");
                }
            } finally {
                pool.shutdownNow();
            }
            Await.until("the killed worker marked gone", Duration.ofSeconds(15),
                    () -> workers.live().stream().noneMatch(w -> w.workerId().equals(external)));
            assertTrue(servingWorkers("pair").size() >= 1);
        }
    }
}
