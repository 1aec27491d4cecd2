package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.weir.infra.json.Json;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where model endpoints may load checkpoints from: the directories given with --checkpoint-root and
 * --model, shared with every process through Hazelcast. A checkpoint_path outside them is refused before
 * anything at that path is read: the check is first made on the path's text, and only a path that
 * passes is resolved on disk (where symbolic links must not lead outside the roots either).
 */
public final class CheckpointPolicy {
    static final String MAP_NAME = "weir.settings";
    private static final String ROOTS_KEY = "checkpoint_roots";

    private final IMap<String, String> settings;

    public CheckpointPolicy(HazelcastInstance hazelcast) {
        this.settings = hazelcast.getMap(MAP_NAME);
    }

    /** Adds allowed roots (kept with the ones other processes added). */
    public void allow(List<Path> roots) {
        settings.lock(ROOTS_KEY);
        try {
            Set<String> all = new LinkedHashSet<>(rootStrings());
            roots.forEach(r -> all.add(r.toAbsolutePath().normalize().toString()));
            settings.put(ROOTS_KEY, Json.toString(List.copyOf(all)));
        } finally {
            settings.unlock(ROOTS_KEY);
        }
    }

    public List<Path> roots() {
        return rootStrings().stream().map(Path::of).toList();
    }

    private List<String> rootStrings() {
        String json = settings.get(ROOTS_KEY);
        return json == null ? List.of() : Arrays.asList(Json.fromString(json, String[].class));
    }

    /**
     * The local checkpoint a checkpoint_path names: a directory holding config.json, or a .tar archive of
     * one. Throws {@link IllegalArgumentException} with a message for the user when it is not allowed or
     * not there.
     */
    public Path resolve(String checkpointPath) {
        if (checkpointPath == null || checkpointPath.isBlank()) {
            throw new IllegalArgumentException("checkpoint_path is required: Weir serves checkpoints from local directories");
        }
        Path path = toPath(checkpointPath);
        List<Path> roots = roots();
        if (!underAny(path, roots)) {
            throw new IllegalArgumentException("checkpoint_path " + checkpointPath + " is outside the allowed checkpoint roots "
                    + roots + " (start Weir with --checkpoint-root to allow more)");
        }
        Path real;
        try {
            real = path.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint_path " + checkpointPath + " does not exist");
        }
        List<Path> realRoots = new ArrayList<>();
        for (Path root : roots) {
            try {
                realRoots.add(root.toRealPath());
            } catch (IOException e) {
                // A root that does not exist allows nothing.
            }
        }
        if (!underAny(real, realRoots)) {
            throw new IllegalArgumentException("checkpoint_path " + checkpointPath + " leads outside the allowed checkpoint roots");
        }
        boolean checkpointDir = Files.isDirectory(real) && Files.isRegularFile(real.resolve("config.json"));
        boolean archive = Files.isRegularFile(real) && real.getFileName().toString().endsWith(".tar");
        if (!checkpointDir && !archive) {
            throw new IllegalArgumentException("checkpoint_path " + checkpointPath
                    + " is neither a Hugging Face checkpoint directory (with config.json) nor a .tar archive of one");
        }
        return real;
    }

    private static Path toPath(String checkpointPath) {
        Path path;
        if (checkpointPath.startsWith("file:")) {
            try {
                path = Path.of(new URI(checkpointPath));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw new IllegalArgumentException("checkpoint_path is not a valid file:// URL: " + checkpointPath);
            }
        } else if (checkpointPath.matches("^[A-Za-z][A-Za-z0-9+.-]*://.*")) {
            throw new IllegalArgumentException("checkpoint_path must be a local directory or a file:// URL, got " + checkpointPath);
        } else {
            path = Path.of(checkpointPath);
        }
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException("checkpoint_path must be absolute, got " + checkpointPath);
        }
        return path.normalize();
    }

    private static boolean underAny(Path path, List<Path> roots) {
        return roots.stream().anyMatch(path::startsWith);
    }
}
