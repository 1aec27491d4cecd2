package io.weir.worker.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * Finds a backend's shared library file: in the directory named by system property
 * {@code weir.native.dir} if set, else as classpath resource {@code native/<file>} (used in place when
 * it is a {@code file:} URL, extracted to a temporary directory when it is inside a jar).
 */
final class NativeLibraryLocator {
    static final String NATIVE_DIR_PROPERTY = "weir.native.dir";

    private NativeLibraryLocator() {}

    /** The library's path, or empty when this build does not have it (e.g. no nvcc for CUDA). */
    static Optional<Path> locate(Backend backend) {
        String dir = System.getProperty(NATIVE_DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            Path p = Path.of(dir).resolve(backend.libraryFile());
            return Files.isRegularFile(p) ? Optional.of(p.toAbsolutePath()) : Optional.empty();
        }
        URL url = NativeLibraryLocator.class.getClassLoader().getResource("native/" + backend.libraryFile());
        if (url == null) return Optional.empty();
        if ("file".equals(url.getProtocol())) {
            try {
                return Optional.of(Path.of(url.toURI()));
            } catch (URISyntaxException e) {
                throw new IllegalStateException("bad native library URL " + url, e);
            }
        }
        return Optional.of(extract(url, backend.libraryFile()));
    }

    /** Where the library was looked for, for messages. */
    static String searchedWhere(Backend backend) {
        String dir = System.getProperty(NATIVE_DIR_PROPERTY);
        return dir != null && !dir.isBlank()
                ? Path.of(dir).resolve(backend.libraryFile()).toString()
                : "classpath resource native/" + backend.libraryFile();
    }

    private static Path extract(URL url, String fileName) {
        try (InputStream in = url.openStream()) {
            Path dir = Files.createTempDirectory("weir-native-");
            Path file = dir.resolve(fileName);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + url + " to a temporary directory", e);
        }
    }
}
