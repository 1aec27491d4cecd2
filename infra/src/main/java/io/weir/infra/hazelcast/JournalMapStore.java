package io.weir.infra.hazelcast;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.MapEvent;
import com.hazelcast.map.MapLoaderLifecycleSupport;
import com.hazelcast.map.MapStore;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryMergedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import com.hazelcast.map.listener.MapClearedListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * This member's durable copy of one Hazelcast map (String keys, JSON string values), in a
 * {@link JsonLinesJournal} file. Hazelcast OSS has no persistence of its own (Hot Restart is Enterprise).
 *
 * <p>Two paths keep the file complete:
 * <ul>
 *   <li>as the map's write-through {@link MapStore}: Hazelcast calls it, on the member owning the entry's
 *       partition, before a write returns, so an acknowledged write is on that member's disk;</li>
 *   <li>as a cluster-wide entry listener ({@link #follow}): writes stored by other members reach this
 *       member's file too, so every member holds the whole map, and whichever member Hazelcast picks to
 *       run the eager initial load ({@code loadAllKeys}) finds every entry.</li>
 * </ul>
 * A write this member stored itself comes back later as an event ("echo"); echoes are recognised and
 * skipped, so an older echo never overwrites a newer stored value.
 */
public final class JournalMapStore implements MapStore<String, String>, MapLoaderLifecycleSupport,
        EntryAddedListener<String, String>, EntryUpdatedListener<String, String>, EntryRemovedListener<String, String>,
        EntryMergedListener<String, String>, MapClearedListener {
    private static final Logger LOG = LoggerFactory.getLogger(JournalMapStore.class);
    /** Marks a delete in the echo queues (values are never null). */
    private static final Optional<String> DELETED = Optional.empty();

    private final Path file;
    private JsonLinesJournal journal;
    private boolean closed;
    /** Per key, the writes this member stored whose events have not come back yet, oldest first. */
    private final Map<String, ArrayDeque<Optional<String>>> echoes = new HashMap<>();
    /** Events that arrive while {@link #follow} copies the cluster's content; applied after it. */
    private List<EntryEvent<String, String>> buffered;
    private boolean following;

    public JournalMapStore(Path file) {
        this.file = file;
    }

    @Override
    public void init(HazelcastInstance hazelcastInstance, Properties properties, String mapName) {
        journal();
    }

    @Override
    public void destroy() {
        close();
    }

    /** Releases the file (the member shuts down); idempotent. */
    public synchronized void close() {
        closed = true;
        if (journal != null) {
            journal.close();
            journal = null;
        }
    }

    /**
     * Starts copying the writes of every member into this member's file. The file is first brought up to
     * date with the cluster's current content (this member may have been down while others took writes).
     */
    public void follow(IMap<String, String> map) {
        synchronized (this) {
            buffered = new ArrayList<>();
        }
        map.addEntryListener(this, true);
        Map<String, String> current = new LinkedHashMap<>(map); // after the listener: later writes arrive as events
        synchronized (this) {
            journal().replaceAll(current);
            echoes.clear();
            List<EntryEvent<String, String>> pending = buffered;
            buffered = null;
            following = true;
            pending.forEach(this::apply);
        }
    }

    @Override
    public synchronized void store(String key, String value) {
        journal().put(key, value);
        expectEcho(key, Optional.of(value));
    }

    @Override
    public synchronized void storeAll(Map<String, String> entries) {
        journal().putAll(entries);
        entries.forEach((k, v) -> expectEcho(k, Optional.of(v)));
    }

    @Override
    public synchronized void delete(String key) {
        journal().delete(key);
        expectEcho(key, DELETED);
    }

    @Override
    public synchronized void deleteAll(Collection<String> keys) {
        journal().deleteAll(keys);
        keys.forEach(k -> expectEcho(k, DELETED));
    }

    @Override
    public synchronized String load(String key) {
        return journal().get(key).orElse(null);
    }

    /** Never null: Hazelcast would take null for "nothing to load" and the initial load would silently do nothing. */
    @Override
    public synchronized Map<String, String> loadAll(Collection<String> keys) {
        Map<String, String> found = new HashMap<>();
        JsonLinesJournal j = journal();
        for (String key : keys) {
            j.get(key).ifPresent(v -> found.put(key, v));
        }
        return found;
    }

    /** Never null, for the same reason as {@link #loadAll}. */
    @Override
    public synchronized Iterable<String> loadAllKeys() {
        return List.copyOf(journal().snapshot().keySet());
    }

    @Override
    public void entryAdded(EntryEvent<String, String> event) {
        onEvent(event);
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
        onEvent(event);
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
        onEvent(event);
    }

    @Override
    public void entryMerged(EntryEvent<String, String> event) {
        onEvent(event);
    }

    @Override
    public synchronized void mapCleared(MapEvent event) {
        journal().replaceAll(Map.of());
        echoes.clear();
    }

    private synchronized void onEvent(EntryEvent<String, String> event) {
        if (buffered != null) {
            buffered.add(event);
        } else {
            apply(event);
        }
    }

    private void apply(EntryEvent<String, String> event) {
        String key = event.getKey();
        Optional<String> value = Optional.ofNullable(event.getValue());
        ArrayDeque<Optional<String>> expected = echoes.get(key);
        if (expected != null && Objects.equals(expected.peekFirst(), value)) {
            expected.pollFirst(); // this member stored it already
            if (expected.isEmpty()) {
                echoes.remove(key);
            }
            return;
        }
        echoes.remove(key); // a write stored elsewhere: whatever was expected here is older
        try {
            if (journal().get(key).equals(value)) {
                return; // already there (e.g. an entry the initial load brought in)
            }
            if (value.isPresent()) {
                journal().put(key, value.get());
            } else {
                journal().delete(key);
            }
        } catch (RuntimeException e) {
            LOG.error("cannot copy a change of {} into {}: {}", key, file, e.toString());
        }
    }

    private void expectEcho(String key, Optional<String> value) {
        if (following) {
            echoes.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(value);
        }
    }

    /**
     * The open journal. Opened on first use rather than only in {@link #init}: a member can follow a map
     * before Hazelcast has created the map's store on it (it owns none of its partitions yet).
     */
    private synchronized JsonLinesJournal journal() {
        if (closed) {
            throw new IllegalStateException(file + " is closed: the member is shutting down");
        }
        if (journal == null) {
            journal = JsonLinesJournal.open(file);
        }
        return journal;
    }
}
