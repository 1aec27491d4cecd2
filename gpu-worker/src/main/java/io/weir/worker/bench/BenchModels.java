package io.weir.worker.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weir.worker.model.RandomCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The random-weight checkpoints the bench runs, generated once into the data directory and reused (generation is
 * deterministic). Their configs name no BOS/EOS token, so generation never stops before max_new_tokens: every
 * stream produces exactly the tokens asked for.
 */
final class BenchModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchModels() {
    }

    /** The checkpoint directory of {@code shape}, written if it is not there yet. */
    static Path checkpoint(Path data, Shape shape) throws IOException {
        RandomCheckpoint.Spec spec = shape.spec();
        Path dir = data.resolve(shape.label() + "-seed" + spec.seed());
        Path done = dir.resolve(".complete");
        if (Files.exists(done)) {
            return dir;
        }
        System.out.printf("generating the %s checkpoint (%.1fM random weights) in %s%n", shape.label(),
                spec.parameterCount() / 1e6, dir);
        RandomCheckpoint.write(dir, spec);
        for (String file : new String[] {"config.json", "generation_config.json"}) {
            ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve(file).toFile());
            config.remove("bos_token_id");
            config.remove("eos_token_id");
            JSON.writeValue(dir.resolve(file).toFile(), config);
        }
        Files.writeString(done, "ok\n");
        return dir;
    }
}
