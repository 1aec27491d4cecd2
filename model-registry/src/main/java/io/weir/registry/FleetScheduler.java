package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * Assigns endpoints to workers: every half second, on the oldest registry member only, it compares each
 * endpoint's workers and load with its {@link ScalingPolicy} and adds or removes one worker at a time. Dead
 * workers (no heartbeat) drop out of every assignment. Workers load and unload what the assignments say.
 */
final class FleetScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetScheduler.class);
    private static final long PERIOD_MS = 500;
    static final long DEMAND_WINDOW_MS = 10_000;

    private final HazelcastInstance hazelcast;
    private final ModelRegistry registry;
    private final WorkerDirectory workers;
    private final FleetAssignments assignments;
    private final ScalingPolicy policy;
    private final LongSupplier clock;
    private final Map<String, Long> busyAt = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "fleet-scheduler"));

    FleetScheduler(HazelcastInstance hazelcast, ScalingPolicy policy) {
        this.hazelcast = hazelcast;
        this.registry = new ModelRegistry(hazelcast);
        this.workers = new WorkerDirectory(hazelcast);
        this.assignments = new FleetAssignments(hazelcast);
        this.policy = policy;
        this.clock = System::currentTimeMillis;
        timer.scheduleWithFixedDelay(this::tickIfLeader, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    private void tickIfLeader() {
        try {
            if (hazelcast.getCluster().getMembers().iterator().next().localMember()) {
                tick();
            }
        } catch (RuntimeException e) {
            LOG.warn("fleet scheduling failed: {}", e.toString());
        }
    }

    void tick() {
        long now = clock.getAsLong();
        Map<String, WorkerInfo> live = workers.live().stream().collect(Collectors.toMap(WorkerInfo::workerId, w -> w));
        Map<String, Integer> endpointsPerWorker = new HashMap<>();
        List<ModelEndpoint> endpoints = registry.list();
        Map<String, List<String>> stored = new HashMap<>();
        Map<String, List<String>> current = new HashMap<>();
        for (ModelEndpoint e : endpoints) {
            stored.put(e.name(), assignments.workersOf(e.name()));
            List<String> assigned = stored.get(e.name()).stream().filter(live::containsKey).toList();
            current.put(e.name(), assigned);
            assigned.forEach(w -> endpointsPerWorker.merge(w, 1, Integer::sum));
        }
        for (ModelEndpoint e : endpoints) {
            List<String> assigned = new ArrayList<>(current.get(e.name()));
            if (e.status() == EndpointStatus.DELETE_IN_PROGRESS || e.status() == EndpointStatus.UPDATE_FAILED) {
                assigned.clear();
            } else {
                int load = assigned.stream().mapToInt(w -> live.get(w).load().getOrDefault(e.name(), 0)).sum();
                boolean demand = now - assignments.lastDemand(e.name()) < DEMAND_WINDOW_MS;
                boolean firstLoad = e.status() == EndpointStatus.UPDATE_PENDING;
                var seen = new ScalingPolicy.Observation(assigned.size(), load, demand, firstLoad,
                        now - busyAt.getOrDefault(e.name(), now));
                if (ScalingPolicy.busy(e, seen) || !busyAt.containsKey(e.name())) {
                    busyAt.put(e.name(), now);
                }
                int desired = Math.min(policy.desiredWorkers(e, seen), live.size());
                if (desired > assigned.size()) {
                    pickWorkerFor(e.name(), assigned, live, endpointsPerWorker).ifPresent(w -> {
                        assigned.add(w);
                        endpointsPerWorker.merge(w, 1, Integer::sum);
                        busyAt.put(e.name(), now);
                    });
                } else if (desired < assigned.size()) {
                    String idlest = assigned.stream().min(Comparator.comparingInt(w -> live.get(w).load().getOrDefault(e.name(), 0))).orElseThrow();
                    assigned.remove(idlest);
                    endpointsPerWorker.merge(idlest, -1, Integer::sum);
                    busyAt.put(e.name(), now);
                }
            }
            if (!assigned.equals(stored.get(e.name()))) {
                LOG.info("endpoint {} now on workers {}", e.name(), assigned);
                assignments.assign(e.name(), assigned);
            }
        }
        assignments.all().keySet().stream().filter(name -> endpoints.stream().noneMatch(e -> e.name().equals(name)))
                .forEach(gone -> assignments.assign(gone, List.of()));
    }

    /** The live worker with room and the fewest endpoints that does not serve this one yet. */
    private static java.util.Optional<String> pickWorkerFor(String endpoint, List<String> assigned, Map<String, WorkerInfo> live,
                                                            Map<String, Integer> endpointsPerWorker) {
        return live.values().stream()
                .filter(w -> !assigned.contains(w.workerId()))
                .filter(w -> endpointsPerWorker.getOrDefault(w.workerId(), 0) < w.maxModels())
                .min(Comparator.comparingInt((WorkerInfo w) -> endpointsPerWorker.getOrDefault(w.workerId(), 0)).thenComparing(WorkerInfo::workerId))
                .map(WorkerInfo::workerId);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
