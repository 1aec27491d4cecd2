package io.weir.gateway;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A `weir` command run as a real OS process from this test JVM's class path, with its output collected. */
final class WeirProcess implements AutoCloseable {
    final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    private WeirProcess(Process process) {
        this.process = process;
        CompletableFuture.runAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                r.lines().forEach(lines::add);
            } catch (Exception ignored) {
                // the process ended
            }
        });
    }

    static WeirProcess start(String... weirArgs) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), "io.weir.infra.launch.Weir"));
        command.addAll(List.of(weirArgs));
        return new WeirProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /** Reads output until a line contains {@code marker}; returns every line read so far. */
    List<String> awaitLine(String marker, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line == null) {
                if (!process.isAlive()) {
                    throw new AssertionError("process exited before printing '" + marker + "': " + seen);
                }
                continue;
            }
            seen.add(line);
            if (line.contains(marker)) {
                return List.copyOf(seen);
            }
        }
        throw new AssertionError("no '" + marker + "' within " + timeoutSeconds + " s: " + seen);
    }

    /** SIGTERM, and the process must be gone within 30 s. */
    void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("process did not stop within 30 s of SIGTERM");
        }
    }

    /** SIGKILL: the process gets no chance to clean up. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
