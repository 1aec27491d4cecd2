package io.weir.infra.hazelcast;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonLinesJournalTest {
    @TempDir
    Path dir;

    @Test
    void replaysPutsAndDeletesAfterReopening() {
        Path file = dir.resolve("m.jsonl");
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            j.put("a", "{\"n\":1}");
            j.put("b", "{\"n\":2}");
            j.put("a", "{\"n\":3}");
            j.putAll(Map.of("c", "x", "d", "y"));
            j.delete("b");
            j.deleteAll(List.of("d", "never-there"));
        }
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            assertEquals(Map.of("a", "{\"n\":3}", "c", "x"), j.snapshot());
            assertEquals(Optional.empty(), j.get("b"));
        }
    }

    @Test
    void aTornLastRecordIsDroppedAndLaterWritesStayReadable() throws IOException {
        Path file = dir.resolve("m.jsonl");
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            j.put("kept", "1");
        }
        // A crash in the middle of an append: part of a line, no newline.
        Files.writeString(file, "{\"op\":\"put\",\"key\":\"lost\",\"val", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            assertEquals(Map.of("kept", "1"), j.snapshot());
            j.put("after", "2");
        }
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            assertEquals(Map.of("kept", "1", "after", "2"), j.snapshot());
        }
    }

    @Test
    void anUnreadableRecordBeforeTheLastRefusesToOpen() throws IOException {
        Path file = dir.resolve("m.jsonl");
        Files.writeString(file, "{\"op\":\"put\",\"key\":\"a\",\"value\":\"1\"}\nnot json\n{\"op\":\"put\",\"key\":\"b\",\"value\":\"2\"}\n");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JsonLinesJournal.open(file));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void compactionKeepsOnlyLiveEntries() throws IOException {
        Path file = dir.resolve("m.jsonl");
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            for (int i = 0; i < 3_000; i++) {
                j.put("k" + (i % 10), String.valueOf(i));
            }
            assertTrue(j.records() < 2_100, "compacted along the way: " + j.records());
        }
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            assertEquals(10, j.snapshot().size());
            assertEquals(Optional.of("2999"), j.get("k9"));
            j.compact();
            assertEquals(10, j.records());
        }
        assertEquals(10, Files.readAllLines(file).size());
        assertTrue(Files.notExists(file.resolveSibling("m.jsonl.tmp")));
    }

    @Test
    void aJournalHasOneOwnerAtATime() {
        Path file = dir.resolve("m.jsonl");
        try (JsonLinesJournal j = JsonLinesJournal.open(file)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> JsonLinesJournal.open(file));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        JsonLinesJournal.open(file).close(); // free again once closed
    }
}
