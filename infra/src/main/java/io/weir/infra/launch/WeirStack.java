package io.weir.infra.launch;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.weir.infra.hazelcast.HazelcastNodes;
import io.weir.infra.kafka.EmbeddedKafka;
import io.weir.infra.kafka.KafkaClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.ServiceLoader;
import java.util.UUID;

/**
 * A set of running services with the Kafka and Hazelcast they use: embedded ones (broker and member in
 * this process, the {@code weir up} default) or existing clusters named by --kafka/--hazelcast.
 * Closing it stops everything in reverse order of start.
 */
public final class WeirStack implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WeirStack.class);
    /** Where a member keeps its durable maps (API keys, model endpoints, usage), under the data dir. */
    public static final String DURABLE_MAPS_DIR = "maps";

    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();
    private final List<String> banner = new ArrayList<>();
    private final ServiceContext context;

    private WeirStack(WeirOptions options, List<WeirService> services, boolean embedClusters) throws Exception {
        try {
            String bootstrap = options.kafka().orElse(null);
            if (bootstrap == null) {
                if (!embedClusters) {
                    throw new IllegalArgumentException("this service needs --kafka HOST:PORT (or run `weir up`)");
                }
                EmbeddedKafka broker = EmbeddedKafka.start(options.dataDir().resolve("kafka"), kafkaPort(options));
                toClose.push(broker);
                bootstrap = broker.bootstrapServers();
            }
            HazelcastInstance hz = joinHazelcast(options, embedClusters || services.stream().anyMatch(s -> s.name().equals("registry")));
            toClose.push(hz::shutdown);
            Vertx vertx = Vertx.vertx();
            toClose.push(() -> vertx.close().await());
            context = new ServiceContext(vertx, new KafkaClients(bootstrap), hz, options,
                    UUID.randomUUID().toString().substring(0, 8));
            banner.add("Kafka:     " + bootstrap + (options.kafka().isPresent() ? "" : " (embedded)"));
            String hzAddress = hz instanceof com.hazelcast.client.impl.clientside.HazelcastClientProxy
                    ? options.hazelcast().orElse("?") : HazelcastNodes.address(hz);
            banner.add("Hazelcast: " + hzAddress + " (cluster " + options.clusterName() + ")");
            for (WeirService service : services.stream().sorted(Comparator.comparingInt(WeirService::startOrder)).toList()) {
                LOG.info("starting {}", service.name());
                WeirService.Running running = service.start(context);
                toClose.push(running);
                banner.addAll(running.banner());
            }
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** Starts the given services, embedding Kafka and Hazelcast where the options name none. */
    public static WeirStack start(WeirOptions options, List<WeirService> services) throws Exception {
        return new WeirStack(options, services, true);
    }

    /** Starts one service as its own process: it joins the clusters given by --kafka/--hazelcast. */
    public static WeirStack startStandalone(WeirOptions options, WeirService service) throws Exception {
        return new WeirStack(options, List.of(service), false);
    }

    /** Every service on the class path. */
    public static List<WeirService> discoverServices() {
        return ServiceLoader.load(WeirService.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    public ServiceContext context() {
        return context;
    }

    public List<String> banner() {
        return List.copyOf(banner);
    }

    @Override
    public void close() {
        while (!toClose.isEmpty()) {
            AutoCloseable c = toClose.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("error while stopping: {}", e.toString());
            }
        }
    }

    private static HazelcastInstance joinHazelcast(WeirOptions options, boolean asMember) {
        if (asMember) {
            String[] members = options.hazelcast().map(a -> new String[]{a}).orElse(new String[0]);
            return HazelcastNodes.member(options.clusterName(), "127.0.0.1", options.hazelcastPort(),
                    options.dataDir().resolve(DURABLE_MAPS_DIR), members);
        }
        String address = options.hazelcast().orElseThrow(
                () -> new IllegalArgumentException("this service needs --hazelcast HOST:PORT (or run `weir up`)"));
        return HazelcastNodes.client(options.clusterName(), address);
    }

    private static int kafkaPort(WeirOptions options) throws IOException {
        if (options.kafkaPort() >= 0) {
            return options.kafkaPort();
        }
        try (var s = new java.net.ServerSocket(9092, 1, java.net.InetAddress.getLoopbackAddress())) {
            return 9092;
        } catch (IOException busy) {
            return 0;
        }
    }
}
