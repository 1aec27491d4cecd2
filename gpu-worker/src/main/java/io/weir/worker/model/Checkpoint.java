package io.weir.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face checkpoint directory: one or more memory-mapped safetensors shards.
 * Shards come from {@code model.safetensors.index.json} ({@code weight_map}) when present, else from
 * every {@code *.safetensors} file in the directory. Tensor lookups name the directory and say what
 * was expected when a tensor is missing or mis-shaped.
 */
public final class Checkpoint implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> byName; // tensor name -> its shard

    private Checkpoint(Path dir, List<SafetensorsFile> shards, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.shards = shards;
        this.byName = byName;
    }

    /** Opens (maps) every shard of the checkpoint in {@code dir}. */
    public static Checkpoint open(Path dir) throws IOException {
        List<SafetensorsFile> shards = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            Path index = dir.resolve("model.safetensors.index.json");
            if (Files.isRegularFile(index)) {
                JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
                if (!map.isObject() || map.isEmpty()) throw new CheckpointException(index + ": no weight_map");
                Map<String, SafetensorsFile> files = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : map.properties()) {
                    String file = e.getValue().asText();
                    SafetensorsFile shard = files.get(file);
                    if (shard == null) {
                        Path p = dir.resolve(file);
                        if (!Files.isRegularFile(p)) throw new CheckpointException(index + ": shard " + file + " is missing");
                        shard = SafetensorsFile.open(p);
                        shards.add(shard);
                        files.put(file, shard);
                    }
                    if (!shard.contains(e.getKey()))
                        throw new CheckpointException(index + " puts tensor " + e.getKey() + " in " + file + ", which lacks it");
                    byName.put(e.getKey(), shard);
                }
            } else {
                List<Path> files;
                try (Stream<Path> s = Files.list(dir)) {
                    files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                }
                if (files.isEmpty()) throw new CheckpointException("no *.safetensors files in " + dir);
                for (Path p : files) {
                    SafetensorsFile shard = SafetensorsFile.open(p);
                    shards.add(shard);
                    for (String name : shard.names()) {
                        SafetensorsFile prev = byName.putIfAbsent(name, shard);
                        if (prev != null)
                            throw new CheckpointException("tensor " + name + " is in both " + prev.path().getFileName()
                                    + " and " + p.getFileName());
                    }
                }
            }
            return new Checkpoint(dir, List.copyOf(shards), byName);
        } catch (IOException | RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    public Path directory() {
        return dir;
    }

    /** Every tensor name, across shards. */
    public Set<String> names() {
        return Collections.unmodifiableSet(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /**
     * The tensor {@code name}.
     *
     * @throws CheckpointException if it is missing or has an unsupported dtype
     */
    public Tensor tensor(String name) {
        SafetensorsFile shard = byName.get(name);
        if (shard == null)
            throw new CheckpointException("missing tensor " + name + " in " + dir + " (" + byName.size() + " tensors present)");
        return shard.tensor(name);
    }

    /**
     * The tensor {@code name}, which must have exactly {@code expectedShape}.
     *
     * @throws CheckpointException if it is missing, mis-shaped or of an unsupported dtype
     */
    public Tensor tensor(String name, long... expectedShape) {
        Tensor t = tensor(name);
        if (!Arrays.equals(t.shape(), expectedShape))
            throw new CheckpointException("tensor " + name + " in " + dir + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(expectedShape));
        return t;
    }

    /** Unmaps every shard. */
    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
