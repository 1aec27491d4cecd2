package io.weir.infra.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Finds the real checkpoints under ../shared/models (never copied into the repository): the system
 * property weir.shared.models (set by the build), else ../shared/models or ../../shared/models. Tests
 * that need a model are skipped, with a message saying so, where it is absent.
 */
public final class TestModels {
    private TestModels() {
    }

    public static Path sharedModels() {
        return Stream.of(System.getProperty("weir.shared.models"), "../shared/models", "../../shared/models")
                .filter(p -> p != null && !p.isBlank())
                .map(Path::of)
                .filter(Files::isDirectory)
                .findFirst()
                .map(Path::toAbsolutePath)
                .map(Path::normalize)
                .orElse(null);
    }

    /** A model directory under shared/models; skips the test when it is missing. */
    public static Path require(String name) {
        Path root = sharedModels();
        Path dir = root == null ? null : root.resolve(name);
        assumeTrue(dir != null && Files.isDirectory(dir),
                "model " + name + " not found under ../shared/models (set -Dweir.shared.models): test skipped");
        return dir;
    }
}
