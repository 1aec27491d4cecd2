package io.weir.infra.hazelcast;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import io.weir.infra.json.Json;
import io.weir.infra.kafka.EmbeddedKafka;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The durable maps on real Hazelcast members: written through to disk, back after a restart. */
class DurableMapsTest {
    @TempDir
    Path data;

    /** Appends to a JSON-string value, as the usage ledger updates its entries: in place, on the owner. */
    record Append(String suffix) implements EntryProcessor<String, String, String> {
        @Override
        public String process(Map.Entry<String, String> entry) {
            entry.setValue(entry.getValue() + suffix);
            return entry.getValue();
        }
    }

    private static HazelcastInstance member(String cluster, Path dir, String... join) throws IOException {
        return HazelcastNodes.member(cluster, "127.0.0.1", EmbeddedKafka.freePort(), dir, join);
    }

    @Test
    void everyDurableMapComesBackAfterTheMemberRestartsOnTheSameDirectory() throws Exception {
        String cluster = "durable-" + UUID.randomUUID();
        HazelcastInstance first = member(cluster, data);
        try {
            first.<String, String>getMap(DurableMaps.API_KEYS).put("hash-1", "{\"id\":\"key_1\",\"tenant\":\"a\"}");
            first.<String, String>getMap(DurableMaps.API_KEYS).put("hash-2", "{\"id\":\"key_2\",\"tenant\":\"b\"}");
            first.<String, String>getMap(DurableMaps.API_KEYS).remove("hash-2");
            first.<String, String>getMap(DurableMaps.MODEL_ENDPOINTS).put("stories", "{\"name\":\"stories\"}");
            IMap<String, String> usage = first.getMap(DurableMaps.USAGE);
            usage.put("a", "1");
            usage.executeOnKey("a", new Append("+2"));
            first.<String, String>getMap("weir.not-durable").put("x", "y");
        } finally {
            first.shutdown();
        }

        HazelcastInstance second = member(cluster, data);
        try {
            IMap<String, String> keys = second.getMap(DurableMaps.API_KEYS);
            assertEquals(1, keys.size(), "eager load brought back every key, and the removed one stayed removed");
            assertEquals("{\"id\":\"key_1\",\"tenant\":\"a\"}", keys.get("hash-1"));
            assertNull(keys.get("hash-2"));
            assertEquals(Map.of("stories", "{\"name\":\"stories\"}"), Map.copyOf(second.<String, String>getMap(DurableMaps.MODEL_ENDPOINTS)));
            assertEquals("1+2", second.<String, String>getMap(DurableMaps.USAGE).get("a"), "entry-processor updates are written through");
            assertTrue(second.getMap("weir.not-durable").isEmpty(), "other maps are not persisted");
        } finally {
            second.shutdown();
        }
    }

    @Test
    void twoMembersOfOneClusterSeeTheRestoredStateAndEachKeepsTheWholeMap() throws Exception {
        String cluster = "durable-" + UUID.randomUUID();
        Path dirA = data.resolve("a");
        Path dirB = data.resolve("b");
        HazelcastInstance seed = member(cluster, dirA);
        try {
            seed.<String, String>getMap(DurableMaps.API_KEYS).put("hash-1", "one");
        } finally {
            seed.shutdown();
        }

        HazelcastInstance a = member(cluster, dirA);
        HazelcastInstance b = member(cluster, dirB, HazelcastNodes.address(a));
        try {
            assertEquals(2, a.getCluster().getMembers().size());
            assertEquals("one", b.<String, String>getMap(DurableMaps.API_KEYS).get("hash-1"), "restored by A, seen by B");
            IMap<String, String> usage = b.getMap(DurableMaps.USAGE);
            for (int i = 0; i < 20; i++) { // keys land in partitions owned by either member
                usage.put("tenant-" + i, String.valueOf(i));
            }
            usage.executeOnKey("tenant-7", new Append("+1"));
            usage.remove("tenant-0");
            IMap<String, String> seenByA = a.getMap(DurableMaps.USAGE);
            assertEquals(19, seenByA.size());
            assertEquals("7+1", seenByA.get("tenant-7"));
            // Each member's file follows the whole cluster's writes, not only those of the partitions it owns.
            Map<String, String> expected = Map.copyOf(seenByA);
            for (Path dir : new Path[]{dirA, dirB}) {
                Path file = dir.resolve(DurableMaps.USAGE + ".jsonl");
                awaitEquals(expected, () -> replay(file), "the whole map in " + file);
                awaitEquals(Map.of("hash-1", "one"), () -> replay(dir.resolve(DurableMaps.API_KEYS + ".jsonl")), "keys in " + dir);
            }
        } finally {
            b.shutdown();
            a.shutdown();
        }

        // Either member alone brings back everything, whichever partitions it owned.
        for (Path dir : new Path[]{dirB, dirA}) {
            HazelcastInstance alone = member(cluster, dir);
            try {
                assertEquals(19, alone.getMap(DurableMaps.USAGE).size(), "usage restored from " + dir);
                assertEquals("7+1", alone.<String, String>getMap(DurableMaps.USAGE).get("tenant-7"));
                assertEquals("one", alone.<String, String>getMap(DurableMaps.API_KEYS).get("hash-1"));
            } finally {
                alone.shutdown();
            }
        }
    }

    /** A journal's live content, read the way opening it would (without taking its lock). */
    private static Map<String, String> replay(Path file) throws IOException {
        Map<String, String> live = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            JsonLinesJournal.Line record = Json.fromString(line, JsonLinesJournal.Line.class);
            if (record.value() == null) {
                live.remove(record.key());
            } else {
                live.put(record.key(), record.value());
            }
        }
        return live;
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    private static <T> void awaitEquals(T expected, IoSupplier<T> actual, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        T last = actual.get();
        while (!expected.equals(last) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            last = actual.get();
        }
        assertEquals(expected, last, what);
    }
}
