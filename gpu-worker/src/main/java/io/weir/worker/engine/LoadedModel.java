package io.weir.worker.engine;

import io.weir.worker.model.ModelConfig;
import io.weir.worker.model.ModelRunner;
import io.weir.worker.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A checkpoint ready to serve: weights in the kernel library, its tokenizer, and the token ids that end
 * generation. BOS counts as a stop token: llama2.c-trained models emit BOS between documents and never EOS,
 * and no model has a reason to start a new document inside a completion.
 */
public record LoadedModel(String name, ModelRunner runner, Tokenizer tokenizer, int[] stopTokenIds) implements AutoCloseable {

    public static LoadedModel load(String name, Path checkpointDir, int maxSeqs) throws java.io.IOException {
        Tokenizer tokenizer = Tokenizer.load(checkpointDir);
        ModelRunner runner = ModelRunner.load(checkpointDir, maxSeqs);
        ModelConfig config = runner.config();
        int[] stops = java.util.stream.IntStream.concat(Arrays.stream(config.eosTokenIds()),
                config.bosTokenId() >= 0 ? java.util.stream.IntStream.of(config.bosTokenId()) : java.util.stream.IntStream.empty())
                .distinct().toArray();
        return new LoadedModel(name, runner, tokenizer, stops);
    }

    public ModelConfig config() {
        return runner.config();
    }

    public boolean isStopToken(int token) {
        for (int s : stopTokenIds) {
            if (s == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        runner.close();
    }
}
