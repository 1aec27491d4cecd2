package io.weir.infra.hazelcast;

import com.hazelcast.config.Config;
import com.hazelcast.config.MapStoreConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Hazelcast maps that must survive a restart, and the member configuration that makes them durable:
 * each is backed by a {@link JournalMapStore} writing {@code <dir>/<map name>.jsonl} (write-through, and
 * following the other members' writes), loaded eagerly when the member starts. Every other map (workers, rate-limit windows, concurrency
 * leases) lives in memory only, on purpose: it describes the running cluster, not its history.
 */
public final class DurableMaps {
    public static final String API_KEYS = "weir.api-keys";
    public static final String MODEL_ENDPOINTS = "weir.model-endpoints";
    public static final String USAGE = "weir.usage";
    public static final List<String> ALL = List.of(API_KEYS, MODEL_ENDPOINTS, USAGE);

    private DurableMaps() {
    }

    /**
     * Makes every map of {@link #ALL} durable under {@code dir}; once the member runs, call {@link #follow}
     * with what this returns.
     */
    public static Map<String, JournalMapStore> configure(Config config, Path dir) {
        Map<String, JournalMapStore> stores = new LinkedHashMap<>();
        for (String name : ALL) {
            JournalMapStore store = new JournalMapStore(dir.resolve(name + ".jsonl"));
            stores.put(name, store);
            config.getMapConfig(name).setMapStoreConfig(new MapStoreConfig()
                    .setEnabled(true)
                    .setImplementation(store)
                    .setWriteDelaySeconds(0) // write-through: a put returns once the line is on disk
                    .setInitialLoadMode(MapStoreConfig.InitialLoadMode.EAGER));
        }
        return stores;
    }

    /**
     * Loads the durable maps now (so a restarted member serves its state at once) and has each member's
     * file follow the writes of the whole cluster.
     */
    public static void follow(HazelcastInstance member, Map<String, JournalMapStore> stores) {
        // Hazelcast destroys a map's store only where it created one: release every file at shutdown.
        member.getLifecycleService().addLifecycleListener(event -> {
            if (event.getState() == LifecycleEvent.LifecycleState.SHUTDOWN) {
                stores.values().forEach(JournalMapStore::close);
            }
        });
        stores.forEach((name, store) -> store.follow(member.getMap(name)));
    }
}
