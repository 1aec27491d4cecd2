package io.weir.registry;

import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;
import io.weir.infra.topics.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The model-registry service: it holds the Hazelcast member that stores endpoints, workers and API keys,
 * and at start registers the endpoints and keys given on the command line.
 */
public final class RegistryService implements WeirService {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryService.class);
    /** Label of the generated demo endpoint; workers generate its random checkpoint if it is missing. */
    public static final String DEMO_LABEL = "weir.demo";
    public static final String DEMO_NAME = "demo";
    static final String DEFAULT_TENANT = "default";
    static final String ADMIN_TENANT = "admin";

    @Override
    public String name() {
        return "registry";
    }

    @Override
    public String description() {
        return "model endpoints, workers and API keys on Hazelcast";
    }

    @Override
    public int startOrder() {
        return 10;
    }

    @Override
    public Running start(ServiceContext context) throws IOException {
        List<String> banner = new ArrayList<>();
        banner.addAll(registerApiKeys(context));
        banner.addAll(registerModels(context));
        DeletedEndpointReaper reaper = new DeletedEndpointReaper(new ModelRegistry(context.hazelcast()),
                new WorkerDirectory(context.hazelcast()));
        FleetScheduler fleet = new FleetScheduler(context.hazelcast(), new ScalingPolicy(context.options().scaleDownAfterMs()));
        return new Running() {
            @Override
            public List<String> banner() {
                return banner;
            }

            @Override
            public void close() {
                fleet.close();
                reaper.close(); // the Hazelcast member belongs to the stack, which shuts it down
            }
        };
    }

    /**
     * Registers the keys of --api-key KEY[:TENANT] (tenant "default" when none is given; tenant "admin" makes an
     * admin key), or with none, the admin key generated once and kept under the data dir. Keys stay in the
     * durable key map: dropping a flag later does not revoke its key (revoke it through the admin API).
     */
    private static List<String> registerApiKeys(ServiceContext context) throws IOException {
        ApiKeys keys = new ApiKeys(context.hazelcast());
        if (!context.options().apiKeys().isEmpty()) {
            int admins = 0;
            for (String spec : context.options().apiKeys()) {
                int colon = spec.indexOf(':');
                String key = colon < 0 ? spec : spec.substring(0, colon);
                String tenant = colon < 0 ? DEFAULT_TENANT : spec.substring(colon + 1);
                boolean admin = ADMIN_TENANT.equals(tenant);
                ApiKey record = keys.register(key, tenant, admin);
                admins += admin ? 1 : 0;
                if (record.isRevoked()) {
                    LOG.warn("--api-key for tenant {} ({}) was revoked through the admin API and stays revoked", tenant, record.id());
                }
            }
            return List.of("API keys:  " + context.options().apiKeys().size() + " from --api-key (" + admins + " admin)");
        }
        Path keyFile = context.dataDir().resolve("admin-api-key");
        String key;
        if (Files.exists(keyFile)) {
            key = Files.readString(keyFile).strip();
        } else {
            key = ApiKeys.generate();
            Files.createDirectories(context.dataDir());
            Files.writeString(keyFile, key + "\n");
            Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        }
        keys.register(key, ADMIN_TENANT, true);
        return List.of("API key:   " + key + "  (admin; kept in " + keyFile + ")");
    }

    private static List<String> registerModels(ServiceContext context) {
        ModelRegistry registry = new ModelRegistry(context.hazelcast());
        CheckpointPolicy policy = new CheckpointPolicy(context.hazelcast());
        List<String> lines = new ArrayList<>();
        policy.allow(context.options().checkpointRoots());
        context.options().checkpointRoots().forEach(r -> lines.add("Checkpoint root: " + r.toAbsolutePath().normalize()));
        var now = registry.clock().instant();
        Map<String, Path> models = context.options().models();
        for (var entry : models.entrySet()) {
            String name = entry.getKey();
            if (!Topics.MODEL_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("--model name '" + name + "' may use only letters, digits, '.', '_' and '-'");
            }
            Path dir = entry.getValue().toAbsolutePath().normalize();
            if (!Files.isDirectory(dir) || !Files.exists(dir.resolve("config.json"))) {
                throw new IllegalArgumentException("--model " + name + ": " + dir + " is not a Hugging Face checkpoint directory (no config.json)");
            }
            policy.allow(List.of(dir));
            registry.put(ModelEndpoint.local(name, dir.toString(), ADMIN_TENANT, now, context.options().workers()));
            lines.add("Model:     " + name + " <- " + dir);
        }
        if (models.isEmpty()) {
            if (registry.list().isEmpty()) {
                Path demoDir = context.dataDir().resolve("models").resolve("demo-random").toAbsolutePath();
                registry.put(ModelEndpoint.local(DEMO_NAME, demoDir.toString(), ADMIN_TENANT, now, 1)
                        .withLabels(Map.of(DEMO_LABEL, "random-weights")));
                lines.add("Model:     demo  (no --model given: a small GENERATED model with RANDOM weights; its text is gibberish)");
            } else {
                lines.add("Models:    " + registry.list().stream().map(ModelEndpoint::name).toList() + " (from the registry)");
            }
        }
        return lines;
    }
}
