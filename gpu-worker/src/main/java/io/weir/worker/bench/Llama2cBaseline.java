package io.weir.worker.bench;

import io.weir.worker.kernels.DType;
import io.weir.worker.kernels.WeightTensor;
import io.weir.worker.model.Checkpoint;
import io.weir.worker.model.HfLlamaNames;
import io.weir.worker.model.RandomCheckpoint;
import io.weir.worker.model.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * karpathy/llama2.c's {@code run} on the same random weights, as the single-stream baseline the targets are stated
 * against: the checkpoint is exported in llama2.c's legacy {@code .bin} layout (header, then the weights in its
 * order, with the unused RoPE tables zeroed), and {@code run model.bin -n N} is timed by its own "achieved tok/s".
 * run.c rotates adjacent pairs where Hugging Face rotates halves; with random weights that changes only which
 * tokens come out, not the work per token.
 */
final class Llama2cBaseline {
    private static final Pattern RATE = Pattern.compile("achieved tok/s: ([0-9.]+)");

    private Llama2cBaseline() {
    }

    /** The llama2.c export of {@code shape}'s checkpoint, written next to it once. */
    static Path export(Path checkpointDir, Shape shape) throws IOException {
        Path out = checkpointDir.resolve("llama2c.bin");
        if (Files.exists(out)) {
            return out;
        }
        RandomCheckpoint.Spec s = shape.spec();
        Path tmp = checkpointDir.resolve("llama2c.bin.tmp");
        try (Checkpoint ckpt = Checkpoint.open(checkpointDir);
                FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(s.dim()).putInt(s.hiddenDim()).putInt(s.nLayers()).putInt(s.nHeads()).putInt(s.nKvHeads())
                    .putInt(s.tiedEmbeddings() ? s.vocabSize() : -s.vocabSize()).putInt(s.maxSeqLen()).flip();
            ch.write(header);
            write(ch, ckpt, WeightTensor.TOK_EMBEDDINGS, s);
            for (WeightTensor t : List.of(WeightTensor.ATTN_NORM, WeightTensor.WQ, WeightTensor.WK, WeightTensor.WV,
                    WeightTensor.WO, WeightTensor.FFN_NORM, WeightTensor.W_GATE, WeightTensor.W_DOWN, WeightTensor.W_UP)) {
                write(ch, ckpt, t, s);
            }
            write(ch, ckpt, WeightTensor.FINAL_NORM, s);
            ch.write(ByteBuffer.allocate(s.maxSeqLen() * s.headDim() * 4)); // freq_cis_real and _imag, unused
            if (!s.tiedEmbeddings()) {
                write(ch, ckpt, WeightTensor.LM_HEAD, s);
            }
        }
        Files.move(tmp, out);
        return out;
    }

    private static void write(FileChannel ch, Checkpoint ckpt, WeightTensor t, RandomCheckpoint.Spec s) throws IOException {
        for (int layer = t.perLayer() ? 0 : -1; layer < (t.perLayer() ? s.nLayers() : 0); layer++) {
            Tensor w = ckpt.tensor(HfLlamaNames.of(t, layer));
            if (w.dtype() != DType.F32) throw new IllegalStateException("llama2.c export needs f32 weights");
            ch.write(w.data().asByteBuffer());
        }
    }

    /**
     * Runs {@code run model.bin -n steps -t 0 [-z tokenizer]} (greedy) with {@code threads} OpenMP threads; returns its
     * achieved tok/s. Upstream run.c needs a tokenizer.bin of the model's vocabulary (the Llama-2 32k one).
     */
    static double run(Path binary, Path model, int steps, int threads, Path tokenizer)
            throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(binary.toString(), model.toString(), "-n", String.valueOf(steps),
                "-t", "0"));
        if (tokenizer != null) {
            cmd.addAll(List.of("-z", tokenizer.toString()));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", String.valueOf(threads));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(binary + " failed: " + out);
        }
        Matcher m = RATE.matcher(out);
        if (!m.find()) throw new IllegalStateException(binary + " printed no achieved tok/s: " + out);
        return Double.parseDouble(m.group(1));
    }

    static int threads() {
        String env = System.getenv("WEIR_THREADS");
        return env != null && !env.isBlank() ? Integer.parseInt(env.trim()) : Runtime.getRuntime().availableProcessors();
    }

}
