package io.weir.gateway;

import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.launch.WeirOptions;
import io.weir.infra.launch.WeirService;
import io.weir.infra.launch.WeirStack;
import io.weir.infra.testing.TestModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

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

    /**
     * A stack with more {@code weir up} options after the defaults: a later option wins ({@code --max-seqs 1}),
     * {@code --model} adds an endpoint ({@code --model twin=PATH}).
     */
    static TestStack start(String bootstrapServers, String... extraArgs) throws Exception {
        return start(bootstrapServers, Files.createTempDirectory("weir-test-data"), List.of(extraArgs), service -> true);
    }

    /** The stack serving stories260K and these further models (endpoint name to checkpoint directory). */
    static TestStack start(String bootstrapServers, Map<String, Path> extraModels) throws Exception {
        List<String> args = new ArrayList<>();
        extraModels.forEach((name, dir) -> args.addAll(List.of("--model", name + "=" + dir)));
        return start(bootstrapServers, args.toArray(String[]::new));
    }

    /**
     * A stack on a given data directory (starting again on the same one brings back its durable state), with
     * extra command-line flags (e.g. more --api-key) and only the services {@code include} accepts.
     */
    static TestStack start(String bootstrapServers, Path data, List<String> extraArgs, Predicate<WeirService> include)
            throws Exception {
        Path model = TestModels.require(MODEL);
        int port = EmbeddedKafka.freePort();
        List<String> args = new ArrayList<>(List.of("up", "--port", String.valueOf(port), "--data", data.toString(),
                "--model", MODEL + "=" + model, "--api-key", KEY + ":" + TENANT, "--kafka", bootstrapServers,
                "--cluster", "weir-test-" + UUID.randomUUID(), "--max-seqs", "8"));
        args.addAll(extraArgs);
        List<WeirService> services = WeirStack.discoverServices().stream().filter(include).toList();
        WeirStack stack = WeirStack.start(WeirOptions.parse(args.toArray(String[]::new)), services);
        return new TestStack(stack, "http://127.0.0.1:" + port);
    }

    @Override
    public void close() {
        stack.close();
    }
}
