package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.weir.infra.json.Json;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Which workers should serve which endpoint (the fleet scheduler writes it, workers follow it), and
 * when each endpoint last had a request (the completion-service records it, so an endpoint scaled to zero
 * is given a worker when traffic arrives).
 */
public final class FleetAssignments {
    static final String ASSIGNMENTS = "weir.assignments";
    static final String DEMAND = "weir.demand";

    private final IMap<String, String> assignments;
    private final IMap<String, Long> demand;

    public FleetAssignments(HazelcastInstance hazelcast) {
        this.assignments = hazelcast.getMap(ASSIGNMENTS);
        this.demand = hazelcast.getMap(DEMAND);
    }

    public List<String> workersOf(String endpoint) {
        String json = assignments.get(endpoint);
        return json == null ? List.of() : Arrays.asList(Json.fromString(json, String[].class));
    }

    public Map<String, String> all() {
        return Map.copyOf(assignments);
    }

    void assign(String endpoint, List<String> workerIds) {
        if (workerIds.isEmpty()) {
            assignments.remove(endpoint);
        } else {
            assignments.put(endpoint, Json.toString(workerIds));
        }
    }

    /** Notes that a request for the endpoint arrived now (fire and forget: it is a hint, not a record). */
    public void recordDemand(String endpoint, long epochMillis) {
        demand.setAsync(endpoint, epochMillis);
    }

    long lastDemand(String endpoint) {
        Long at = demand.get(endpoint);
        return at == null ? 0 : at;
    }

    /** Calls back with the endpoint name whenever its assignment changes; returns a handle that stops it. */
    public AutoCloseable onChange(Consumer<String> changedEndpoint) {
        var id = assignments.addEntryListener(new ModelRegistry.ChangeListener(changedEndpoint), false);
        return () -> assignments.removeEntryListener(id);
    }
}
