package io.weir.worker.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weir.worker.kernels.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file: tensors are added with a dtype, a shape and a source of float values
 * (converted to the dtype while streaming, so nothing is held in memory twice), then
 * {@link #write(Path)} emits the header (metadata first, then tensors in insertion order, padded with
 * spaces to a multiple of 8 bytes) and the data. Output is a pure function of the inputs.
 */
public final class SafetensorsWriter {
    /** Element {@code i} (row-major) of a tensor being written; {@link #write} asks for i = 0, 1, ... once each, in order. */
    @FunctionalInterface
    public interface Values {
        float get(long i);
    }

    private record Pending(String name, DType dtype, long[] shape, Values values) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>(Map.of("format", "pt"));
    private final List<Pending> tensors = new ArrayList<>();

    /** Adds a {@code __metadata__} entry ({@code format: pt} is there by default). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor whose element {@code i} is {@code values.get(i)}, stored as {@code dtype}. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, Values values) {
        if (tensors.stream().anyMatch(t -> t.name().equals(name))) throw new IllegalArgumentException("duplicate tensor " + name);
        tensors.add(new Pending(name, dtype, shape.clone(), values));
        return this;
    }

    /** Adds a tensor from a float array (length must match the shape). */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        if (values.length != Tensor.elementCount(shape))
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + java.util.Arrays.toString(shape));
        return add(name, dtype, shape, i -> values[(int) i]);
    }

    /** Writes the file (replacing it). */
    public void write(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        metadata.forEach(meta::put);
        long offset = 0;
        for (Pending t : tensors) {
            long bytes = Tensor.elementCount(t.shape()) * t.dtype().bytes();
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", t.dtype().name());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;

        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(padded);
            ByteBuffer head = ByteBuffer.allocate(padded);
            head.put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            buf.flip();
            writeFully(ch, buf);
            writeFully(ch, head.flip());
            buf.clear();
            for (Pending t : tensors) {
                long n = Tensor.elementCount(t.shape());
                for (long i = 0; i < n; i++) {
                    if (buf.remaining() < 4) {
                        writeFully(ch, buf.flip());
                        buf.clear();
                    }
                    float v = t.values().get(i);
                    switch (t.dtype()) {
                        case F32 -> buf.putFloat(v);
                        case F16 -> buf.putShort(DType.floatToF16(v));
                        case BF16 -> buf.putShort(DType.floatToBf16(v));
                    }
                }
            }
            writeFully(ch, buf.flip());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** The tensors added so far (for diagnostics). */
    @Override
    public String toString() {
        return "SafetensorsWriter" + tensors.stream().map(t -> t.name() + " " + t.dtype()).toList();
    }
}
