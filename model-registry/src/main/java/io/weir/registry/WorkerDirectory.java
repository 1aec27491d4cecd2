package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.weir.infra.json.Json;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Which workers are alive and what they serve. Each worker re-announces itself every
 * {@link #HEARTBEAT_INTERVAL}; an entry expires after {@link #TIME_TO_LIVE} without one, so a dead
 * worker disappears within seconds with no one having to notice it died.
 */
public final class WorkerDirectory {
    static final String MAP_NAME = "weir.workers";
    public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
    public static final Duration TIME_TO_LIVE = Duration.ofSeconds(6);

    private final IMap<String, String> workers;

    public WorkerDirectory(HazelcastInstance hazelcast) {
        this.workers = hazelcast.getMap(MAP_NAME);
    }

    public void heartbeat(WorkerInfo info) {
        workers.put(info.workerId(), Json.toString(info), TIME_TO_LIVE.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void remove(String workerId) {
        workers.remove(workerId);
    }

    public List<WorkerInfo> live() {
        return workers.values().stream().map(json -> Json.fromString(json, WorkerInfo.class)).toList();
    }

    /** Every endpoint some live worker has loaded (one read of the directory, for checks over many endpoints). */
    public java.util.Set<String> servedEndpoints() {
        return live().stream().flatMap(w -> w.models().stream()).collect(java.util.stream.Collectors.toSet());
    }
}
