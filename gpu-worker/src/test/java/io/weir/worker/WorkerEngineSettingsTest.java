package io.weir.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.weir.infra.launch.WeirOptions;
import io.weir.worker.engine.EngineSettings;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.WeightStorage;
import org.junit.jupiter.api.Test;

/** The engine options of the command line reach the engine of every model a worker loads. */
class WorkerEngineSettingsTest {
    @Test
    void everyEngineOptionReachesTheEngine() {
        EngineSettings s = WorkerService.engineSettings(WeirOptions.parse("worker", "--max-seqs", "24",
                "--max-batch-tokens", "64", "--kv-cache-mb", "512", "--kv-block-size", "32", "--quantize", "int8",
                "--kv-cache-dtype", "int8"));
        assertEquals(new EngineSettings(24, 64, 512L << 20, 32, WeightStorage.INT8, KvDtype.INT8), s);
    }

    @Test
    void defaultsLeaveTheKvCacheToTheLibrary() {
        EngineSettings s = WorkerService.engineSettings(WeirOptions.parse("up"));
        assertEquals(EngineSettings.DEFAULT_MAX_SEQS, s.maxSeqs());
        assertEquals(EngineSettings.DEFAULT_MAX_BATCH_TOKENS, s.maxBatchTokens());
        assertEquals(0, s.kvCacheBytes());
        assertEquals(WeightStorage.F32, s.storage());
        assertNull(s.kvDtype(), "auto: the library picks the cache for the weights' storage");
    }
}
