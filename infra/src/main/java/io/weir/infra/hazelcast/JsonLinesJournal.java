package io.weir.infra.hazelcast;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.weir.infra.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A durable String→String map in one append-only file of JSON lines ({@code {"op":"put","key":..,"value":..}}
 * or {@code {"op":"delete","key":..}}), with an in-memory copy of its live entries.
 *
 * <p>Crash safety: every change is one write of one whole line, forced to disk before the call returns.
 * A crash can leave only a torn last line (no newline, or an unreadable last line), which opening drops.
 * When the file holds many more records than live entries it is compacted: the live entries are written to
 * a temporary file, forced, and atomically renamed over the journal (then the directory is forced), so the
 * journal on disk is always either the old one or the new one, both complete.
 *
 * <p>One process at a time: opening takes an exclusive lock on a {@code .lock} file beside the journal.
 */
public final class JsonLinesJournal implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JsonLinesJournal.class);
    private static final int MIN_RECORDS_BEFORE_COMPACTION = 1_000;

    /** One line of the journal. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Line(String op, String key, String value) {
        static final String PUT = "put";
        static final String DELETE = "delete";
    }

    private final Path file;
    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<String, String> live = new LinkedHashMap<>();
    private FileChannel out;
    private long records;

    private JsonLinesJournal(Path file, FileChannel lockChannel, FileLock lock) {
        this.file = file;
        this.dir = file.toAbsolutePath().getParent();
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Opens (creating if needed) the journal at {@code file} and replays it; fails if another owner holds it. */
    public static JsonLinesJournal open(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
            FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                lockChannel.close();
                throw new IllegalStateException(file + " is in use by another Hazelcast member or process"
                        + " (each member needs its own data directory)");
            }
            JsonLinesJournal journal = new JsonLinesJournal(file, lockChannel, lock);
            try {
                journal.replay();
            } catch (RuntimeException | IOException e) {
                journal.close();
                throw e;
            }
            return journal;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file, e);
        }
    }

    public synchronized Optional<String> get(String key) {
        return Optional.ofNullable(live.get(key));
    }

    /** A copy of the live entries, in first-written order. */
    public synchronized Map<String, String> snapshot() {
        return new LinkedHashMap<>(live);
    }

    public synchronized void put(String key, String value) {
        append(new Line(Line.PUT, key, value));
        live.put(key, value);
        compactIfWorthIt();
    }

    public synchronized void putAll(Map<String, String> entries) {
        StringBuilder lines = new StringBuilder();
        entries.forEach((k, v) -> lines.append(Json.toString(new Line(Line.PUT, k, v))).append('\n'));
        write(lines.toString(), entries.size());
        live.putAll(entries);
        compactIfWorthIt();
    }

    public synchronized void delete(String key) {
        if (live.containsKey(key)) {
            append(new Line(Line.DELETE, key, null));
            live.remove(key);
            compactIfWorthIt();
        }
    }

    public synchronized void deleteAll(Collection<String> keys) {
        StringBuilder lines = new StringBuilder();
        int n = 0;
        for (String k : keys) {
            if (live.containsKey(k)) {
                lines.append(Json.toString(new Line(Line.DELETE, k, null))).append('\n');
                n++;
            }
        }
        if (n > 0) {
            write(lines.toString(), n);
            keys.forEach(live::remove);
            compactIfWorthIt();
        }
    }

    /** Records in the file (live entries plus superseded ones); for tests and diagnostics. */
    public synchronized long records() {
        return records;
    }

    /** Rewrites the journal as just its live entries. */
    public synchronized void compact() {
        rewrite(new LinkedHashMap<>(live));
    }

    /** Replaces the whole content with {@code entries}, atomically (a crash leaves the old or the new content). */
    public synchronized void replaceAll(Map<String, String> entries) {
        rewrite(new LinkedHashMap<>(entries));
    }

    private void rewrite(Map<String, String> entries) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            StringBuilder lines = new StringBuilder();
            entries.forEach((k, v) -> lines.append(Json.toString(new Line(Line.PUT, k, v))).append('\n'));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, lines.toString());
                ch.force(true);
            }
            out.close();
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            forceDirectory();
            out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            live.clear();
            live.putAll(entries);
            records = live.size();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + file, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (out != null) {
                out.close();
            }
            if (lock.isValid()) {
                lock.release();
            }
            lockChannel.close();
        } catch (IOException e) {
            LOG.warn("closing {}: {}", file, e.toString());
        }
    }

    private void replay() throws IOException {
        Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".tmp")); // a compaction that never got renamed
        if (!Files.exists(file)) {
            Files.createFile(file);
            forceDirectory();
        }
        byte[] bytes = Files.readAllBytes(file);
        int start = 0;
        long validLength = 0;
        while (start < bytes.length) {
            int newline = indexOf(bytes, (byte) '\n', start);
            boolean lastLine = newline < 0 || newline == bytes.length - 1;
            if (newline < 0) {
                LOG.warn("{}: dropping a torn last record ({} bytes) left by a crash", file, bytes.length - start);
                break;
            }
            String text = new String(bytes, start, newline - start, StandardCharsets.UTF_8);
            Line line;
            try {
                line = Json.fromString(text, Line.class);
                if (line.key() == null || !(Line.PUT.equals(line.op()) && line.value() != null || Line.DELETE.equals(line.op()))) {
                    throw new IllegalArgumentException("not a journal record");
                }
            } catch (RuntimeException e) {
                if (lastLine) {
                    LOG.warn("{}: dropping an unreadable last record left by a crash", file);
                    break;
                }
                throw new IllegalStateException(file + " is corrupt at byte " + start + " (a record before the last one"
                        + " cannot be read); refusing to start on partial data", e);
            }
            if (Line.PUT.equals(line.op())) {
                live.put(line.key(), line.value());
            } else {
                live.remove(line.key());
            }
            records++;
            start = newline + 1;
            validLength = start;
        }
        out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        if (validLength < bytes.length) {
            out.truncate(validLength);
            out.force(true);
        }
    }

    private void append(Line line) {
        write(Json.toString(line) + "\n", 1);
    }

    /** Appends whole lines and forces them; on failure cuts the file back so no partial line stays. */
    private void write(String lines, int count) {
        if (count == 0) {
            return;
        }
        long before = -1;
        try {
            before = out.size();
            writeFully(out, lines);
            out.force(false);
            records += count;
        } catch (IOException e) {
            try {
                if (before >= 0) {
                    out.truncate(before);
                }
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private void compactIfWorthIt() {
        if (records > MIN_RECORDS_BEFORE_COMPACTION && records > 2L * live.size()) {
            compact();
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static void writeFully(FileChannel ch, String text) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (buffer.hasRemaining()) {
            ch.write(buffer);
        }
    }

    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
