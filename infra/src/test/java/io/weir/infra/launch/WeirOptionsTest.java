package io.weir.infra.launch;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeirOptionsTest {

    @Test
    void defaults() {
        WeirOptions o = WeirOptions.parse("up");
        assertEquals("up", o.command());
        assertEquals(8080, o.port());
        assertEquals(Path.of(".weir"), o.dataDir());
        assertTrue(o.models().isEmpty());
        assertTrue(o.apiKeys().isEmpty());
        assertEquals(Optional.empty(), o.kafka());
    }

    @Test
    void repeatableFlagsAndJoiningExistingClusters() {
        WeirOptions o = WeirOptions.parse("worker", "--model", "a=/m/a", "--model", "b=/m/b", "--api-key", "k1:team",
                "--api-key", "k2", "--kafka", "h:9092", "--hazelcast", "h:5701", "--port", "9000", "--data", "/d");
        assertEquals(Map.of("a", Path.of("/m/a"), "b", Path.of("/m/b")), o.models());
        assertEquals(List.of("k1:team", "k2"), o.apiKeys());
        assertEquals(Optional.of("h:9092"), o.kafka());
        assertEquals(Optional.of("h:5701"), o.hazelcast());
        assertEquals(9000, o.port());
        assertEquals(Path.of("/d"), o.dataDir());
    }

    @Test
    void engineOptions() {
        WeirOptions d = WeirOptions.parse("up");
        assertEquals(256, d.maxBatchTokens());
        assertEquals(0, d.kvCacheMb());
        assertEquals(16, d.kvBlockSize());
        assertEquals("f32", d.quantize());
        assertEquals("auto", d.kvCacheDtype());
        WeirOptions o = WeirOptions.parse("worker", "--max-batch-tokens", "64", "--kv-cache-mb", "512", "--kv-block-size", "32",
                "--quantize", "INT8", "--kv-cache-dtype", "Int8");
        assertEquals(64, o.maxBatchTokens());
        assertEquals(512, o.kvCacheMb());
        assertEquals(32, o.kvBlockSize());
        assertEquals("int8", o.quantize());
        assertEquals("int8", o.kvCacheDtype());
        assertEquals("--kv-block-size must be a multiple of 16, got 24",
                assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--kv-block-size", "24")).getMessage());
        assertEquals("--quantize wants f32, bf16 or int8, got fp8",
                assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--quantize", "fp8")).getMessage());
        assertEquals("--kv-cache-dtype wants auto, f32, bf16 or int8, got fp8",
                assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--kv-cache-dtype", "fp8")).getMessage());
    }

    @Test
    void badOptionsAreClearErrors() {
        assertEquals("option --port needs a value", assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--port")).getMessage());
        assertEquals("--port must be a port number, got 70000", assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--port", "70000")).getMessage());
        assertEquals("--model wants NAME=PATH, got x", assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--model", "x")).getMessage());
        assertEquals("unknown option --bogus", assertThrows(IllegalArgumentException.class, () -> WeirOptions.parse("up", "--bogus", "1")).getMessage());
    }
}
