package io.weir.worker.model;

import io.weir.infra.testing.TestModels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.weir.worker.kernels.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    @Test
    void readsStories260K() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(TestModels.require("stories260K").resolve("model.safetensors"))) {
            assertEquals(1 + 5 * 9 + 1, f.names().size());
            assertEquals("pt", f.metadata().get("format"));
            Tensor emb = f.tensor("model.embed_tokens.weight");
            assertEquals(DType.F32, emb.dtype());
            assertArrayEquals(new long[] {512, 64}, emb.shape());
            assertEquals(512 * 64 * 4, emb.data().byteSize());
        }
    }

    @Test
    void roundTripsEveryDtype() throws Exception {
        float[] values = {0f, 1f, -2.5f, 3.14159f, 1e-3f, -65504f, 0.1f, 7f};
        Path file = tmp.resolve("t.safetensors");
        new SafetensorsWriter().metadata("note", "test")
                .add("a", DType.F32, new long[] {2, 4}, values)
                .add("b", DType.F16, new long[] {8}, values)
                .add("c", DType.BF16, new long[] {4, 2}, values)
                .write(file);
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = head.getLong();
        assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        assertEquals(8 + headerLen + 8 * 4 + 8 * 2 + 8 * 2, Files.size(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "b", "c"), List.copyOf(f.names()));
            assertEquals(Map.of("format", "pt", "note", "test"), f.metadata());
            assertArrayEquals(values, f.tensor("a").toFloatArray());
            float[] b = f.tensor("b").toFloatArray(), c = f.tensor("c").toFloatArray();
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], b[i], Math.abs(values[i]) * 0x1p-11, "f16 " + i);
                assertEquals(values[i], c[i], Math.abs(values[i]) * 0x1p-8, "bf16 " + i);
            }
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(3.14159f)), b[3]);
            assertEquals(Float.intBitsToFloat(0x40490000), c[3]); // 3.14159 rounds to bf16 0x4049 (3.140625)
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, DType.floatToBf16(1.0f));
        assertEquals((short) 0x3f80, DType.floatToBf16(Float.intBitsToFloat(0x3f808000))); // tie -> even
        assertEquals((short) 0x3f82, DType.floatToBf16(Float.intBitsToFloat(0x3f818000))); // tie -> even (up)
        assertEquals((short) 0x3f81, DType.floatToBf16(Float.intBitsToFloat(0x3f808001)));
        assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
    }

    @Test
    void shardedCheckpointWithIndex() throws Exception {
        new SafetensorsWriter().add("x", DType.F32, new long[] {2}, new float[] {1, 2}).write(tmp.resolve("m-1.safetensors"));
        new SafetensorsWriter().add("y", DType.BF16, new long[] {1}, new float[] {3}).write(tmp.resolve("m-2.safetensors"));
        new ObjectMapper().writeValue(tmp.resolve("model.safetensors.index.json").toFile(),
                Map.of("metadata", Map.of(), "weight_map", Map.of("x", "m-1.safetensors", "y", "m-2.safetensors")));
        try (Checkpoint c = Checkpoint.open(tmp)) {
            assertEquals(2, c.names().size());
            assertEquals(2f, c.tensor("x", 2).get(1));
            assertEquals(3f, c.tensor("y").get(0));
            CheckpointException e = assertThrows(CheckpointException.class, () -> c.tensor("z"));
            assertTrue(e.getMessage().contains("missing tensor z"), e.getMessage());
        }
        Files.delete(tmp.resolve("model.safetensors.index.json"));
        try (Checkpoint c = Checkpoint.open(tmp)) { // no index: every *.safetensors
            assertEquals(2, c.names().size());
        }
    }

    @Test
    void rejectsInconsistentHeaders() throws Exception {
        Path f = tmp.resolve("bad.safetensors");
        ErrorsTest.writeRaw(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("should have 12 bytes"), e.getMessage());
        ErrorsTest.writeRaw(f, "{\"w\":", new byte[0]);
        e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("corrupt JSON header"), e.getMessage());
        Files.write(f, new byte[3]);
        e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
    }
}
