package io.weir.gateway;

import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.launch.WeirOptions;
import io.weir.infra.launch.WeirStack;
import io.weir.infra.testing.TestModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The whole Weir stack in this JVM (registry, worker, completion-service, gateway...) on a real Kafka
 * broker and a real Hazelcast member, serving the real stories260K checkpoint: what `weir up` runs.
 */
final class TestStack implements AutoCloseable {
    static final String MODEL = "stories260K";
    static final String KEY = "test-key-a";
    static final String TENANT = "tenant-a";

    final WeirStack stack;
    final String baseUrl;

    private TestStack(WeirStack stack, String baseUrl) {
        this.stack = stack;
        this.baseUrl = baseUrl;
    }

    static TestStack start(String bootstrapServers) throws Exception {
        return start(bootstrapServers, Map.of());
    }

    /** The stack serving stories260K and these further models (endpoint name to checkpoint directory). */
    static TestStack start(String bootstrapServers, Map<String, Path> extraModels) throws Exception {
        Path model = TestModels.require(MODEL);
        int port = EmbeddedKafka.freePort();
        Path data = Files.createTempDirectory("weir-test-data");
        List<String> args = new ArrayList<>(List.of("up", "--port", String.valueOf(port), "--data", data.toString(),
                "--model", MODEL + "=" + model, "--api-key", KEY + ":" + TENANT, "--kafka", bootstrapServers,
                "--cluster", "weir-test-" + UUID.randomUUID(), "--max-seqs", "8"));
        extraModels.forEach((name, dir) -> args.addAll(List.of("--model", name + "=" + dir)));
        WeirStack stack = WeirStack.start(WeirOptions.parse(args.toArray(String[]::new)), WeirStack.discoverServices());
        return new TestStack(stack, "http://127.0.0.1:" + port);
    }

    @Override
    public void close() {
        stack.close();
    }
}
