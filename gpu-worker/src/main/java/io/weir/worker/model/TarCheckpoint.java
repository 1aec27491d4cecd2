package io.weir.worker.model;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Unpacks a checkpoint shipped as a .tar (POSIX ustar or GNU, uncompressed) into a directory. Only regular
 * files and directories are taken; an entry whose path would leave the target directory (absolute, or with
 * "..") is refused, as are links. The checkpoint directory is the one holding config.json.
 */
public final class TarCheckpoint {
    private static final int BLOCK = 512;

    private TarCheckpoint() {
    }

    /** Unpacks {@code tar} under {@code target} (created, and cleaned on failure) and returns the checkpoint directory. */
    public static Path unpack(Path tar, Path target) throws IOException {
        Path staging = Files.createDirectories(target.resolveSibling(target.getFileName() + ".unpacking"));
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tar))) {
            byte[] header = new byte[BLOCK];
            while (in.readNBytes(header, 0, BLOCK) == BLOCK && !allZero(header)) {
                String name = entryName(header);
                long size = octal(header, 124, 12);
                char type = (char) header[156];
                Path dest = staging.resolve(name).normalize();
                if (name.startsWith("/") || !dest.startsWith(staging)) {
                    throw new IOException("tar entry leaves the checkpoint directory: " + name);
                }
                switch (type) {
                    case '0', '\0' -> {
                        Files.createDirectories(dest.getParent());
                        try (InputStream body = new BoundedInputStream(in, size)) {
                            Files.copy(body, dest, StandardCopyOption.REPLACE_EXISTING);
                        }
                        in.skipNBytes((BLOCK - size % BLOCK) % BLOCK);
                    }
                    case '5' -> Files.createDirectories(dest);
                    case 'x', 'g' -> in.skipNBytes(roundUp(size)); // pax headers: the ustar name suffices for checkpoints
                    default -> throw new IOException("tar entry " + name + " has unsupported type '" + type + "' (links are refused)");
                }
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(staging);
            throw e;
        }
        deleteTree(target);
        Files.move(staging, target);
        return findCheckpoint(target);
    }

    private static Path findCheckpoint(Path root) throws IOException {
        try (var files = Files.walk(root, 3)) {
            return files.filter(p -> p.getFileName().toString().equals("config.json")).map(Path::getParent)
                    .findFirst().orElseThrow(() -> new IOException("the archive holds no config.json"));
        }
    }

    private static String entryName(byte[] h) {
        String name = cString(h, 0, 100);
        String prefix = cString(h, 345, 155);
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] b, int off, int len) throws IOException {
        String s = cString(b, off, len).trim();
        try {
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("corrupt tar header: size '" + s + "'");
        }
    }

    private static long roundUp(long size) {
        return (size + BLOCK - 1) / BLOCK * BLOCK;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Reads at most {@code remaining} bytes of the underlying stream and never closes it. */
    private static final class BoundedInputStream extends InputStream {
        private final InputStream in;
        private long remaining;

        BoundedInputStream(InputStream in, long remaining) {
            this.in = in;
            this.remaining = remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = in.read();
            if (b < 0) {
                throw new IOException("tar archive truncated");
            }
            remaining--;
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = in.read(buf, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new IOException("tar archive truncated");
            }
            remaining -= n;
            return n;
        }

        @Override
        public void close() {
            // The tar stream stays open for the next entry.
        }
    }
}
