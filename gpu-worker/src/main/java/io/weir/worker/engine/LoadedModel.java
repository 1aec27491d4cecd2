package io.weir.worker.engine;

import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.model.ModelConfig;
import io.weir.worker.model.ModelRunner;
import io.weir.worker.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * A checkpoint ready to serve: weights and the paged KV cache in the kernel library, its tokenizer, the token ids
 * that end generation, and the settings its engine runs with. BOS counts as a stop token: llama2.c-trained models
 * emit BOS between documents and never EOS, and no model has a reason to start a new document inside a completion.
 */
public record LoadedModel(String name, ModelRunner runner, Tokenizer tokenizer, int[] stopTokenIds,
                          EngineSettings settings) implements AutoCloseable {

    public static LoadedModel load(String name, Path checkpointDir, int maxSeqs) throws java.io.IOException {
        return load(name, checkpointDir, EngineSettings.defaults(maxSeqs));
    }

    public static LoadedModel load(String name, Path checkpointDir, EngineSettings settings) throws java.io.IOException {
        Tokenizer tokenizer = Tokenizer.load(checkpointDir);
        ModelConfig config = ModelConfig.load(checkpointDir);
        KernelLibrary library = BackendSelector.select();
        KvDtype kv = library.kvDtype(settings.storage(), settings.kvDtype());
        int blocks = settings.kvBlocks(kv.bytesPerPosition(config.nLayers(), config.nKvHeads(), config.headDim()),
                config.maxSeqLen());
        ModelRunner runner = ModelRunner.load(checkpointDir, library, ModelRunner.Options.paged(0,
                settings.maxBatchTokens(), blocks, settings.blockSize(), settings.storage()).withKvDtype(kv));
        int[] stops = IntStream.concat(Arrays.stream(config.eosTokenIds()),
                config.bosTokenId() >= 0 ? IntStream.of(config.bosTokenId()) : IntStream.empty()).distinct().toArray();
        return new LoadedModel(name, runner, tokenizer, stops, settings);
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
