package io.weir.worker.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Locates the shared test models: system property {@code weir.shared.models} (surefire sets it),
 * else {@code ../shared/models} or {@code ../../shared/models}. Tests that need a model skip (JUnit
 * assumption) with a clear message when it is absent.
 */
final class SharedModels {
    private SharedModels() {}

    static Path stories260K() {
        return require("stories260K");
    }

    static Path require(String name) {
        Path dir = Stream.of(System.getProperty("weir.shared.models"), "../shared/models", "../../shared/models")
                .filter(p -> p != null && !p.isBlank())
                .map(p -> Path.of(p).resolve(name))
                .filter(p -> Files.isRegularFile(p.resolve("config.json")))
                .findFirst()
                .orElse(null);
        assumeTrue(dir != null, "shared model " + name + " not found (set -Dweir.shared.models=<dir> or put it in "
                + "../shared/models); skipping");
        return dir;
    }
}
