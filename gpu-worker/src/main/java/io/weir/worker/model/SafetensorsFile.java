package io.weir.worker.model;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weir.worker.kernels.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}} plus optional {@code __metadata__}), then the tensor
 * bytes. The whole file is mapped read-only ({@code FileChannel.map} into a shared arena, no 2 GB
 * limit); {@link #tensor(String)} slices it without copying. Closing unmaps it.
 *
 * <p>The header is checked on open: every tensor's byte range must lie inside the file (else the
 * file is reported truncated) and, for supported dtypes, match its shape. Tensors of other dtypes
 * are listed but fail when requested.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    /** A header entry: dtype as written, shape, byte range relative to the data section. */
    private record Entry(String dtype, long[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment data; // the data section (after the header)
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and parses {@code file}. */
    public static SafetensorsFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new CheckpointException(file + ": not a safetensors file (" + size + " bytes)");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = all.get(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER)
                throw new CheckpointException(file + ": implausible header length " + headerLen);
            if (headerLen > size - 8)
                throw new CheckpointException(file + ": truncated: header of " + headerLen + " bytes but the file has "
                        + size + " bytes");
            JsonNode header;
            try {
                header = JSON.readTree(all.asSlice(8, headerLen).toArray(JAVA_BYTE));
            } catch (IOException e) {
                throw new CheckpointException(file + ": corrupt JSON header: " + e.getMessage(), e);
            }
            if (header == null || !header.isObject()) throw new CheckpointException(file + ": header is not a JSON object");
            MemorySegment data = all.asSlice(8 + headerLen);
            SafetensorsFile f = new SafetensorsFile(file, arena, data, new LinkedHashMap<>(), new LinkedHashMap<>());
            f.parse(header);
            return f;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private void parse(JsonNode header) {
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            String name = field.getKey();
            JsonNode n = field.getValue();
            if (name.equals("__metadata__")) {
                n.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode shapeNode = n.get("shape"), offsets = n.get("data_offsets");
            if (!n.path("dtype").isTextual() || shapeNode == null || !shapeNode.isArray() || offsets == null
                    || !offsets.isArray() || offsets.size() != 2)
                throw new CheckpointException(path + ": malformed header entry for tensor " + name + ": " + n);
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) throw new CheckpointException(path + ": tensor " + name + " has a bad shape " + shapeNode);
            }
            long begin = offsets.get(0).asLong(-1), end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin)
                throw new CheckpointException(path + ": tensor " + name + " has bad data_offsets " + offsets);
            if (end > data.byteSize())
                throw new CheckpointException(path + ": truncated: tensor " + name + " needs data bytes [" + begin + ", "
                        + end + ") but the file has only " + data.byteSize());
            String dtype = n.get("dtype").asText();
            DType d = DType.fromSafetensors(dtype);
            if (d != null && end - begin != Tensor.elementCount(shape) * d.bytes())
                throw new CheckpointException(path + ": tensor " + name + " " + dtype + Arrays.toString(shape) + " should have "
                        + Tensor.elementCount(shape) * d.bytes() + " bytes, data_offsets give " + (end - begin));
            entries.put(name, new Entry(dtype, shape, begin, end));
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names, in header order. */
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The {@code __metadata__} map (empty if none). */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /** The dtype string as written in the header (also for unsupported dtypes). */
    public String dtypeName(String name) {
        return entry(name).dtype();
    }

    /**
     * The tensor {@code name}, a zero-copy view into the mapping.
     *
     * @throws CheckpointException if it is missing or its dtype is not F32, F16 or BF16
     */
    public Tensor tensor(String name) {
        Entry e = entry(name);
        DType d = DType.fromSafetensors(e.dtype());
        if (d == null)
            throw new CheckpointException(path + ": tensor " + name + " has unsupported dtype " + e.dtype()
                    + " (supported: F32, F16, BF16)");
        return new Tensor(name, d, e.shape(), data.asSlice(e.begin(), e.end() - e.begin()));
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new CheckpointException(path + ": no tensor named " + name);
        return e;
    }

    /** Unmaps the file; tensors obtained from it become inaccessible. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
