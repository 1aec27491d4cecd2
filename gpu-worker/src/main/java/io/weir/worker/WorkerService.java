package io.weir.worker;

import io.weir.infra.kafka.ReplySender;
import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;
import io.weir.registry.ChatTemplate;
import io.weir.registry.EngineMetrics;
import io.weir.registry.EndpointStatus;
import io.weir.registry.FleetAssignments;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;
import io.weir.registry.RegistryService;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.WorkerInfo;
import io.weir.infra.launch.WeirOptions;
import io.weir.worker.engine.EngineSettings;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.kafka.CancelConsumer;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.WeightStorage;
import io.weir.worker.model.RandomCheckpoint;
import io.weir.worker.model.TarCheckpoint;
import io.weir.worker.tokenizer.CheckpointChatTemplate;
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
 * Every cancel on the cancel topic goes to every model it serves: whichever engine has the request stops it.
 */
public final class WorkerService implements WeirService {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerService.class);
    /** The demo model's weights are random but fixed, so its (gibberish) output is reproducible. */
    private static final long DEMO_SEED = 42;
    private static final long SYSTEM_MEMORY_BYTES =
            ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
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

    /** Starts --workers workers (each its own id, engines and consumers) and waits until the endpoints are served. */
    @Override
    public Running start(ServiceContext context) throws InterruptedException {
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < context.options().workers(); i++) {
            Worker worker = new Worker(context, "worker-" + context.instanceId() + (i == 0 ? "" : "-" + i));
            workers.add(worker);
            worker.follow();
        }
        awaitServed(context, Duration.ofSeconds(120));
        return new Running() {
            @Override
            public List<String> banner() {
                return workers.stream().flatMap(w -> w.banner().stream()).toList();
            }

            @Override
            public void close() throws Exception {
                for (Worker w : workers) {
                    w.close();
                }
            }
        };
    }

    /** Waits until every endpoint that must always have a worker is served or has failed to load. */
    private static void awaitServed(ServiceContext context, Duration timeout) throws InterruptedException {
        ModelRegistry registry = new ModelRegistry(context.hazelcast());
        WorkerDirectory directory = new WorkerDirectory(context.hazelcast());
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var served = directory.servedEndpoints();
            boolean settled = registry.list().stream().filter(e -> e.minWorkers() > 0)
                    .allMatch(e -> e.status() == EndpointStatus.UPDATE_FAILED
                            || e.status() == EndpointStatus.READY && served.contains(e.name()));
            if (settled) {
                return;
            }
            Thread.sleep(100); // polling the registry, bounded by the deadline
        }
        LOG.warn("some endpoints were not served within {} s; continuing", timeout.toSeconds());
    }

    /** How this worker runs each model it loads, from the command line (--max-seqs, --quantize, --kv-cache-dtype, ...). */
    static EngineSettings engineSettings(WeirOptions o) {
        return new EngineSettings(o.maxSlots(), o.maxBatchTokens(), (long) o.kvCacheMb() << 20, o.kvBlockSize(),
                WeightStorage.parse(o.quantize()), KvDtype.parseOrAuto(o.kvCacheDtype()));
    }

    /** One worker: the endpoints assigned to it, loaded and served. */
    private static final class Worker implements Running {
        private final ServiceContext context;
        private final String workerId;
        private final ModelRegistry registry;
        private final WorkerDirectory directory;
        private final KafkaProducer<String, byte[]> producer;
        private final ReplySender replies;
        private final CancelConsumer cancels;
        private final Map<String, ModelHost> hosts = new ConcurrentHashMap<>();
        private final ExecutorService loader = Executors.newSingleThreadExecutor(r -> new Thread(r, "model-loader"));
        private final ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "worker-heartbeat"));
        private final List<String> loadErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final FleetAssignments assignments;
        private AutoCloseable endpointChanges = () -> { };
        private AutoCloseable assignmentChanges = () -> { };

        Worker(ServiceContext context, String workerId) {
            this.context = context;
            this.workerId = workerId;
            this.assignments = new FleetAssignments(context.hazelcast());
            this.registry = new ModelRegistry(context.hazelcast());
            this.directory = new WorkerDirectory(context.hazelcast());
            this.producer = context.kafka().producer(workerId, REPLY_LINGER_MS);
            this.replies = new ReplySender(producer);
            this.cancels = new CancelConsumer(context.kafka(), workerId, c -> hosts.values().forEach(h -> h.cancel(c.requestId())));
            long period = WorkerDirectory.HEARTBEAT_INTERVAL.toMillis();
            heartbeat.scheduleAtFixedRate(this::beat, 0, period, TimeUnit.MILLISECONDS);
        }

        /** Follows the registry and the fleet assignments from now on. */
        void follow() {
            endpointChanges = registry.onChange(name -> loader.submit(() -> reconcile(name)));
            assignmentChanges = assignments.onChange(name -> loader.submit(() -> reconcile(name)));
            registry.list().forEach(e -> loader.submit(() -> reconcile(e.name())));
        }

        /**
         * Brings this worker in line with the registry and the fleet scheduler: serve the endpoint when it is
         * assigned here (reloading when its checkpoint changed), stop serving it when it is not, or is being
         * deleted. Runs on the loader thread.
         */
        private void reconcile(String name) {
            ModelEndpoint endpoint = registry.get(name).orElse(null);
            ModelHost host = hosts.get(name);
            boolean gone = endpoint == null || endpoint.status() == EndpointStatus.DELETE_IN_PROGRESS
                    || !assignments.workersOf(name).contains(workerId);
            if (host != null && (gone || !host.checkpointPath().equals(endpoint.checkpointPath()))) {
                unload(name);
                host = null;
            }
            if (host == null && !gone && endpoint.status() != EndpointStatus.UPDATE_FAILED) {
                load(endpoint);
            }
        }

        private void load(ModelEndpoint endpoint) {
            String name = endpoint.name();
            registry.setStatus(name, EndpointStatus.UPDATE_IN_PROGRESS, null, null);
            try {
                Path dir = checkpointDirectory(endpoint);
                LoadedModel model = LoadedModel.load(name, dir, engineSettings(context.options()));
                ModelHost host = new ModelHost(model, endpoint.checkpointPath(), context.kafka(), workerId, replies);
                host.onBusyChange(this::beatSoon); // the fleet sees a model become busy or idle at once
                hosts.put(name, host);
                // Published before READY: gateways render chat prompts from it and may not see the checkpoint.
                CheckpointChatTemplate chat = CheckpointChatTemplate.read(dir);
                registry.update(name, e -> e.withChatTemplate(new ChatTemplate(chat.template(), chat.bosToken(), chat.eosToken())));
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

        /** The directory to load: the checkpoint itself, a .tar unpacked under the data dir, or the generated demo. */
        private Path checkpointDirectory(ModelEndpoint endpoint) throws java.io.IOException {
            Path path = Path.of(endpoint.checkpointPath());
            if (endpoint.labels().containsKey(RegistryService.DEMO_LABEL) && !Files.exists(path.resolve("config.json"))) {
                RandomCheckpoint.write(path, RandomCheckpoint.Spec.tiny(DEMO_SEED));
            }
            if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".tar")) {
                Path target = context.dataDir().resolve("checkpoints").resolve(endpoint.name() + "-" + Integer.toHexString(path.toString().hashCode()));
                return TarCheckpoint.unpack(path, target.toAbsolutePath());
            }
            return path;
        }

        private void unload(String name) {
            ModelHost host = hosts.remove(name);
            try {
                host.close();
            } catch (Exception e) {
                LOG.warn("error while unloading {}: {}", name, e.toString());
            }
            beat();
            LOG.info("{} no longer serves {}", workerId, name);
        }

        private void beatSoon() {
            try {
                heartbeat.execute(this::beat);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // shutting down: no more heartbeats
            }
        }

        private void beat() {
            try {
                String backend = hosts.values().stream().findFirst().map(h -> h.model().runner().backendName()).orElse("none");
                Map<String, Integer> load = new java.util.HashMap<>();
                Map<String, EngineMetrics> engines = new java.util.HashMap<>();
                hosts.forEach((name, host) -> {
                    EngineMetrics m = host.metrics(); // one snapshot: the load is its running and waiting requests
                    engines.put(name, m);
                    load.put(name, m.running() + m.waiting());
                });
                directory.heartbeat(new WorkerInfo(workerId, backend, Runtime.getRuntime().availableProcessors() + " CPUs",
                        SYSTEM_MEMORY_BYTES, context.options().maxModels(), List.copyOf(hosts.keySet()), load, engines,
                        Instant.now()));
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
            endpointChanges.close();
            assignmentChanges.close();
            heartbeat.shutdownNow();
            loader.shutdownNow();
            cancels.close();
            for (ModelHost host : hosts.values()) {
                host.close();
            }
            hosts.clear();
            directory.remove(workerId);
            producer.close(Duration.ofSeconds(2));
        }
    }
}
