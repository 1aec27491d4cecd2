package io.weir.worker.model;

import io.weir.infra.testing.TestModels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.DType;
import io.weir.worker.kernels.KernelException;
import io.weir.worker.kernels.KernelLibrary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gives exceptions with clear messages, and the runner keeps working afterwards. */
class ErrorsTest {
    static Path dir;
    static ModelRunner runner;
    static Golden.Case golden;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        dir = TestModels.require("stories260K");
        golden = Golden.load(dir).get(0);
        runner = ModelRunner.load(dir, 2, KernelLibrary.load(Backend.CPU));
    }

    @AfterAll
    static void tearDown() {
        if (runner != null) runner.close();
    }

    /** The runner still reproduces the golden greedy tokens. */
    private static void stillWorks() {
        int n = 8;
        int[] want = java.util.Arrays.copyOf(golden.greedy(), n);
        assertArrayEquals(want, Golden.greedy(runner, 1, golden.prompt(), n, null));
    }

    private static KernelException kernelError(Runnable r, int status, String messagePart) {
        KernelException e = assertThrows(KernelException.class, r::run);
        assertEquals(status, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "message: " + e.getMessage());
        return e;
    }

    @Test
    void badSlot() {
        float[] logits = new float[512];
        KernelException e = kernelError(() -> runner.forward(2, new int[] {1}, 0, logits), -2, "slot 2 out of range [0, 2)");
        assertEquals("WK_ERR_RANGE", e.statusName());
        kernelError(() -> runner.forward(-1, new int[] {1}, 0, logits), -2, "slot -1 out of range");
        stillWorks();
    }

    @Test
    void positionsBeyondMaxSeqLen() {
        float[] logits = new float[512];
        kernelError(() -> runner.forward(0, new int[] {1, 2}, 511, logits), -2, "positions [511, 513) out of range [0, max_seq_len 512)");
        kernelError(() -> runner.forward(0, new int[] {1}, -1, logits), -2, "out of range");
        assertThrows(IllegalArgumentException.class, () -> runner.forward(0, new int[600], 0, logits));
        stillWorks();
    }

    @Test
    void gapInKvCache() {
        float[] logits = new float[512];
        runner.forward(0, golden.prompt(), 0, logits);
        kernelError(() -> runner.forward(0, new int[] {5}, golden.prompt().length + 1, logits), -2, "would leave a gap");
        stillWorks();
    }

    @Test
    void tokenOutsideVocabulary() {
        float[] logits = new float[512];
        kernelError(() -> runner.forward(0, new int[] {1, 512}, 0, logits), -2, "token 512 (row 1) out of range [0, 512)");
        kernelError(() -> runner.forward(0, new int[] {-3}, 0, logits), -2, "token -3");
        stillWorks();
    }

    @Test
    void badBatch() {
        float[] logits = new float[2 * 512];
        kernelError(() -> runner.forwardBatch(new int[] {0, 0}, new int[] {1, 2}, new int[] {0, 2}, logits), -2,
                "does not follow");
        kernelError(() -> runner.forwardBatch(new int[] {0, 7}, new int[] {1, 2}, new int[] {0, 0}, logits), -2,
                "slot 7 out of range");
        assertThrows(IllegalArgumentException.class, () -> runner.forwardBatch(new int[] {0}, new int[] {1, 2}, new int[] {0, 1}, logits));
        assertThrows(IllegalArgumentException.class, () -> runner.forward(0, new int[] {1}, 0, new float[10]));
        stillWorks();
    }

    @Test
    void emptyTokens() {
        kernelError(() -> runner.forward(0, new int[0], 0, new float[512]), -1, "n_tokens must be positive");
        stillWorks();
    }

    // ---- checkpoint problems -------------------------------------------------------------------

    /** A copy of stories260K whose safetensors is rewritten by {@code edit}. */
    private Path copyWith(java.util.function.BiConsumer<SafetensorsFile, SafetensorsWriter> edit) throws Exception {
        Path out = tmp.resolve("ckpt");
        Files.createDirectories(out);
        for (String f : List.of("config.json", "generation_config.json"))
            Files.copy(dir.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        try (SafetensorsFile src = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter();
            edit.accept(src, w);
            w.write(out.resolve("model.safetensors"));
        }
        return out;
    }

    @Test
    void missingTensor() throws Exception {
        String gone = "model.layers.3.mlp.up_proj.weight";
        Path ckpt = copyWith((src, w) -> src.names().stream().filter(n -> !n.equals(gone))
                .forEach(n -> w.add(n, DType.F32, src.tensor(n).shape(), src.tensor(n)::get)));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelRunner.load(ckpt, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains("missing tensor " + gone), e.getMessage());
        stillWorks();
    }

    @Test
    void wrongShape() throws Exception {
        String name = "model.layers.1.self_attn.k_proj.weight";
        Path ckpt = copyWith((src, w) -> src.names().forEach(n -> {
            if (n.equals(name)) w.add(n, DType.F32, new long[] {64, 32}, i -> 0f);
            else w.add(n, DType.F32, src.tensor(n).shape(), src.tensor(n)::get);
        }));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelRunner.load(ckpt, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains(name + " in ") && e.getMessage().contains("has shape [64, 32], expected [32, 64]"),
                e.getMessage());
    }

    @Test
    void unsupportedDtype() throws Exception {
        // a hand-written file whose final norm is F64
        Path ckpt = copyWith((src, w) -> src.names().stream().filter(n -> !n.equals("model.norm.weight"))
                .forEach(n -> w.add(n, DType.F32, src.tensor(n).shape(), src.tensor(n)::get)));
        Path extra = ckpt.resolve("extra.safetensors");
        String header = "{\"model.norm.weight\":{\"dtype\":\"F64\",\"shape\":[64],\"data_offsets\":[0,512]}}";
        writeRaw(extra, header, new byte[512]);
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelRunner.load(ckpt, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains("model.norm.weight has unsupported dtype F64 (supported: F32, F16, BF16)"), e.getMessage());
    }

    @Test
    void truncatedFile() throws Exception {
        Path ckpt = copyWith((src, w) -> src.names().forEach(n -> w.add(n, DType.F32, src.tensor(n).shape(), src.tensor(n)::get)));
        Path file = ckpt.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelRunner.load(ckpt, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        Files.write(file, java.util.Arrays.copyOf(bytes, 100)); // cut inside the header
        e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("truncated: header of"), e.getMessage());
    }

    @Test
    void unsupportedArchitectureAndRopeScaling() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        ObjectNode gpt2 = config.deepCopy();
        gpt2.putArray("architectures").add("GPT2LMHeadModel");
        gpt2.put("model_type", "gpt2");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.fromJson(gpt2, null));
        assertTrue(e.getMessage().contains("unsupported architecture GPT2LMHeadModel"), e.getMessage());

        ObjectNode scaled = config.deepCopy();
        scaled.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0);
        e = assertThrows(CheckpointException.class, () -> ModelConfig.fromJson(scaled, null));
        assertTrue(e.getMessage().contains("unsupported rope_scaling"), e.getMessage());

        // through load(): the message names the file
        Path ckpt = tmp.resolve("gpt2");
        Files.createDirectories(ckpt);
        JSON.writeValue(ckpt.resolve("config.json").toFile(), gpt2);
        e = assertThrows(CheckpointException.class, () -> ModelRunner.load(ckpt, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains("GPT2LMHeadModel") && e.getMessage().contains("config.json"), e.getMessage());
        stillWorks();
    }

    @Test
    void noCheckpoint() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelRunner.load(tmp, 1, KernelLibrary.load(Backend.CPU)));
        assertTrue(e.getMessage().contains("no config.json"), e.getMessage());
    }

    static void writeRaw(Path file, String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
    }
}
