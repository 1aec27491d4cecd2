package io.weir.gateway;

import io.weir.worker.kernels.DType;
import io.weir.worker.model.RandomCheckpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A model that is slow on purpose, for tests where a request must still be running when something
 * happens to it (a cancel, a lost race): stories260K's width with 64 layers instead of 5, random weights.
 * Per token it does 13 times stories260K's layer work, and on a GPU makes 13 times its kernel launches,
 * so it is about that much slower on either backend (here, on the CPU: about 3 ms a token against
 * 0.2 ms). Its text is gibberish but, greedy, reproducible. Written once per test JVM (13 MB).
 */
final class SlowModel {
    static final String NAME = "slow";
    private static final RandomCheckpoint.Spec SPEC = new RandomCheckpoint.Spec(64, 172, 64, 8, 4, 512, 512, true, DType.F32, 7);
    private static Path dir;

    private SlowModel() {
    }

    /** {@code --model} arguments serving it as {@link #NAME}. */
    static synchronized String[] modelArgs() {
        if (dir == null) {
            try {
                dir = RandomCheckpoint.write(Files.createTempDirectory("weir-slow-model"), SPEC);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path written = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(written)));
        }
        return new String[]{"--model", NAME + "=" + dir};
    }

    private static void delete(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind
        }
    }
}
