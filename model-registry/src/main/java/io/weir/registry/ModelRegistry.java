package io.weir.registry;

import io.weir.infra.json.Json;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The model endpoints, in a Hazelcast map shared by every process of the cluster and kept on disk (a
 * durable map). Values are stored as JSON so any member, and the map store, reads them without Weir's
 * classes.
 */
public final class ModelRegistry {
    static final String MAP_NAME = io.weir.infra.hazelcast.DurableMaps.MODEL_ENDPOINTS;

    private final IMap<String, String> endpoints;
    private final Clock clock;

    public ModelRegistry(HazelcastInstance hazelcast) {
        this(hazelcast, Clock.systemUTC());
    }

    ModelRegistry(HazelcastInstance hazelcast, Clock clock) {
        this.endpoints = hazelcast.getMap(MAP_NAME);
        this.clock = clock;
    }

    public Optional<ModelEndpoint> get(String name) {
        return Optional.ofNullable(endpoints.get(name)).map(json -> Json.fromString(json, ModelEndpoint.class));
    }

    /** The same lookup without blocking the caller: for event loops. */
    public java.util.concurrent.CompletionStage<Optional<ModelEndpoint>> getAsync(String name) {
        return endpoints.getAsync(name).thenApply(json -> Optional.ofNullable(json).map(j -> Json.fromString(j, ModelEndpoint.class)));
    }

    /** All endpoints, oldest first. */
    public List<ModelEndpoint> list() {
        return endpoints.values().stream()
                .map(json -> Json.fromString(json, ModelEndpoint.class))
                .sorted(Comparator.comparing(ModelEndpoint::createdAt).thenComparing(ModelEndpoint::name))
                .toList();
    }

    public void put(ModelEndpoint endpoint) {
        endpoints.put(endpoint.name(), Json.toString(endpoint));
    }

    /** Changes an endpoint atomically (other processes may update it at the same time); false if it is gone. */
    public boolean update(String name, UnaryOperator<ModelEndpoint> change) {
        endpoints.lock(name);
        try {
            Optional<ModelEndpoint> current = get(name);
            current.ifPresent(e -> put(change.apply(e)));
            return current.isPresent();
        } finally {
            endpoints.unlock(name);
        }
    }

    public boolean setStatus(String name, EndpointStatus status, String reason, Integer contextLength) {
        return update(name, e -> e.withStatus(status, reason, contextLength, clock.instant()));
    }

    public boolean remove(String name) {
        return endpoints.remove(name) != null;
    }

    /** Adds an endpoint unless one of that name exists; false if it does. */
    public boolean create(ModelEndpoint endpoint) {
        return endpoints.putIfAbsent(endpoint.name(), Json.toString(endpoint)) == null;
    }

    /**
     * Calls back with the endpoint's name on every change (added, updated, removed), from Hazelcast's event
     * thread; for workers watching for models to load or unload. Returns a handle that stops it.
     */
    public AutoCloseable onChange(java.util.function.Consumer<String> changedName) {
        var listener = new ChangeListener(changedName);
        java.util.UUID id = endpoints.addEntryListener(listener, false);
        return () -> endpoints.removeEntryListener(id);
    }

    record ChangeListener(java.util.function.Consumer<String> changedName)
            implements com.hazelcast.map.listener.EntryAddedListener<String, String>,
            com.hazelcast.map.listener.EntryUpdatedListener<String, String>,
            com.hazelcast.map.listener.EntryRemovedListener<String, String> {
        @Override
        public void entryAdded(com.hazelcast.core.EntryEvent<String, String> e) {
            changedName.accept(e.getKey());
        }

        @Override
        public void entryUpdated(com.hazelcast.core.EntryEvent<String, String> e) {
            changedName.accept(e.getKey());
        }

        @Override
        public void entryRemoved(com.hazelcast.core.EntryEvent<String, String> e) {
            changedName.accept(e.getKey());
        }
    }

    public Clock clock() {
        return clock;
    }
}
