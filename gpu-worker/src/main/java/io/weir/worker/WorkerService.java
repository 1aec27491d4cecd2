package io.weir.worker;

import io.weir.infra.kafka.ReplySender;
import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;
import io.weir.registry.RegistryService;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.WorkerInfo;
import io.weir.infra.launch.WeirOptions;
import io.weir.worker.engine.EngineSettings;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.kernels.WeightStorage;
import io.weir.worker.model.RandomCheckpoint;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The gpu-worker service: loads the registry's model endpoints into the kernel library, serves each from
 * its Kafka topic, reports load results as endpoint status, and heartbeats into the worker directory.
 */
public final class WorkerService implements WeirService {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerService.class);
    /** The demo model's weights are random but fixed, so its (gibberish) output is reproducible. */
    private static final long DEMO_SEED = 42;
    /**
     * The events of one engine step leave within microseconds of each other; waiting this long lets them share one
     * produce request (and the gateway one fetch) instead of one each, which is most of the stack's cost per token.
     */
    private static final int REPLY_LINGER_MS = 1;

    @Override
    public String name() {
        return "worker";
    }

    @Override
    public String description() {
        return "runs models on the kernel library (CUDA or CPU) and serves their requests";
    }

    @Override
    public int startOrder() {
        return 20;
    }

    @Override
    public Running start(ServiceContext context) {
        Worker worker = new Worker(context);
        worker.loadAll();
        return worker;
    }

    private static final class Worker implements Running {
        private final ServiceContext context;
        private final String workerId;
        private final ModelRegistry registry;
        private final WorkerDirectory directory;
        private final KafkaProducer<String, byte[]> producer;
        private final ReplySender replies;
        private final Map<String, ModelHost> hosts = new ConcurrentHashMap<>();
        private final ExecutorService loader = Executors.newSingleThreadExecutor(r -> new Thread(r, "model-loader"));
        private final ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "worker-heartbeat"));
        private final List<String> loadErrors = new ArrayList<>();

        Worker(ServiceContext context) {
            this.context = context;
            this.workerId = "worker-" + context.instanceId();
            this.registry = new ModelRegistry(context.hazelcast());
            this.directory = new WorkerDirectory(context.hazelcast());
            this.producer = context.kafka().producer(workerId, REPLY_LINGER_MS);
            this.replies = new ReplySender(producer);
            long period = WorkerDirectory.HEARTBEAT_INTERVAL.toMillis();
            heartbeat.scheduleAtFixedRate(this::beat, 0, period, TimeUnit.MILLISECONDS);
        }

        /** Loads every endpoint now (so `weir up` is ready when it says so), then any that appear later. */
        void loadAll() {
            registry.list().forEach(e -> load(e.name()));
            registry.onChange(name -> loader.submit(() -> load(name)));
        }

        private synchronized void load(String name) {
            ModelEndpoint endpoint = registry.get(name).orElse(null);
            if (endpoint == null || hosts.containsKey(name) || endpoint.status() == EndpointStatus.DELETE_IN_PROGRESS
                    || endpoint.status() == EndpointStatus.UPDATE_FAILED) {
                return;
            }
            registry.setStatus(name, EndpointStatus.UPDATE_IN_PROGRESS, null, null);
            try {
                Path dir = Path.of(endpoint.checkpointPath());
                if (endpoint.labels().containsKey(RegistryService.DEMO_LABEL) && !Files.exists(dir.resolve("config.json"))) {
                    RandomCheckpoint.write(dir, RandomCheckpoint.Spec.tiny(DEMO_SEED));
                }
                LoadedModel model = LoadedModel.load(name, dir, engineSettings(context.options()));
                hosts.put(name, new ModelHost(model, context.kafka(), workerId, replies));
                registry.setStatus(name, EndpointStatus.READY, null, model.config().maxSeqLen());
                beat();
                LOG.info("{} serves {} on {}", workerId, name, model.runner().backendName());
            } catch (Exception | Error e) {
                String reason = e.getClass().getSimpleName() + ": " + e.getMessage();
                LOG.error("cannot load model endpoint {}: {}", name, reason, e);
                loadErrors.add(name + ": " + reason);
                registry.setStatus(name, EndpointStatus.UPDATE_FAILED, reason, null);
            }
        }

        private static EngineSettings engineSettings(WeirOptions o) {
            return new EngineSettings(o.maxSlots(), o.maxBatchTokens(), (long) o.kvCacheMb() << 20, o.kvBlockSize(),
                    WeightStorage.parse(o.quantize()));
        }

        private void beat() {
            try {
                String backend = hosts.values().stream().findFirst().map(h -> h.model().runner().backendName()).orElse("none");
                directory.heartbeat(new WorkerInfo(workerId, backend, Runtime.getRuntime().availableProcessors() + " CPUs",
                        List.copyOf(hosts.keySet()), Instant.now()));
            } catch (RuntimeException e) {
                LOG.warn("heartbeat failed: {}", e.toString());
            }
        }

        @Override
        public List<String> banner() {
            List<String> lines = new ArrayList<>();
            hosts.values().forEach(h -> lines.add("Worker:    " + workerId + " serves " + h.model().name()
                    + " on the " + h.model().runner().backendName() + " backend"));
            loadErrors.forEach(err -> lines.add("FAILED:    " + err));
            return lines;
        }

        @Override
        public void close() throws Exception {
            heartbeat.shutdownNow();
            loader.shutdownNow();
            for (ModelHost host : hosts.values()) {
                host.close();
            }
            hosts.clear();
            directory.remove(workerId);
            producer.close(Duration.ofSeconds(2));
        }
    }
}
