package io.weir.infra.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Command-line options of {@code weir}. Every option is documented in {@link #USAGE}.
 *
 * @param models        --model NAME=PATH (served at start)
 * @param apiKeys       --api-key KEY[:TENANT]
 * @param kafka         --kafka HOST:PORT of an existing cluster (else an embedded broker)
 * @param hazelcast     --hazelcast HOST:PORT of an existing member (else an embedded member)
 * @param kafkaPort     --kafka-port for the embedded broker (0 = any free port)
 * @param hazelcastPort --hazelcast-port for the embedded member (first port tried)
 * @param maxSlots      --max-seqs: sequences a worker runs at once per model
 * @param checkpointRoots --checkpoint-root: directories model endpoints may load checkpoints from
 * @param workers       --workers: gpu-workers `weir up` runs (each --model endpoint keeps at least this many)
 * @param maxModels     --max-models: endpoints one worker serves at most
 * @param scaleDownAfterMs --scale-down-after: how long an endpoint must be quiet before a worker is taken away
 * @param maxBatchTokens --max-batch-tokens: tokens (rows) per forward step, decode and prefill chunks together
 * @param kvCacheMb     --kv-cache-mb: KV-cache budget per model in MiB (0: room for max-seqs full sequences, up to 1 GiB)
 * @param kvBlockSize   --kv-block-size: positions per KV-cache block (a multiple of 16)
 * @param quantize      --quantize: how workers store weights: f32 (as loaded), bf16 or int8 (converted at load)
 * @param kvCacheDtype  --kv-cache-dtype: the KV cache's elements: auto (f32 with f32 weights, bf16 with quantized
 *                      ones), f32, bf16 or int8 (bf16 and int8 on the CPU backend only)
 */
public record WeirOptions(
        String command,
        String host,
        int port,
        Path dataDir,
        Map<String, Path> models,
        List<String> apiKeys,
        Optional<String> kafka,
        Optional<String> hazelcast,
        int kafkaPort,
        int hazelcastPort,
        String clusterName,
        int maxSlots,
        List<Path> checkpointRoots,
        int workers,
        int maxModels,
        long scaleDownAfterMs,
        int maxBatchTokens,
        int kvCacheMb,
        int kvBlockSize,
        String quantize,
        String kvCacheDtype) {

    public static final String USAGE = """
            usage: weir <command> [options]

            commands:
              up                 start everything (Kafka, Hazelcast, all services) and serve
              test               run the test suite (handled by the ./weir script)
              gateway|worker|registry|completion|files|finetune
                                 start one service as its own process (join with --kafka/--hazelcast)
              kafka              run only a Kafka broker (KRaft) under --data

            options:
              --port N               HTTP port of the gateway (default 8080)
              --host ADDR            address the gateway binds (default 127.0.0.1)
              --data DIR             data directory: Kafka log, durable state (default ./.weir)
              --model NAME=PATH      serve a Hugging Face checkpoint directory as NAME (repeatable)
              --api-key KEY[:TENANT] accept this API key (repeatable; tenant "admin": an admin key;
                                     none: one admin key is generated)
              --kafka HOST:PORT      use an existing Kafka cluster instead of the embedded broker
              --hazelcast HOST:PORT  join an existing Hazelcast cluster instead of embedding a member
              --kafka-port N         port of the embedded broker (default 9092 if free, else any)
              --hazelcast-port N     first port of the embedded Hazelcast member (default 5701)
              --cluster NAME         Hazelcast cluster name (default weir)
              --max-seqs N           sequences a worker runs at once per model (default 16)
              --checkpoint-root DIR  model endpoints created over the API may load checkpoints from
                                     under DIR (repeatable; --model directories are allowed too)
              --workers N            gpu-workers `weir up` starts (default 1)
              --max-models N         endpoints one worker serves at most (default 4)
              --scale-down-after S   seconds an endpoint must be quiet before a worker is released (default 60)
              --max-batch-tokens N   tokens per engine step, decode rows and prefill chunks together (default 256)
              --kv-cache-mb N        KV-cache budget per model in MiB (default: max-seqs full contexts, at most 1024)
              --kv-block-size N      positions per KV-cache block, a multiple of 16 (default 16)
              --quantize f32|bf16|int8  store weights as loaded (f32) or converted at load (default f32)
              --kv-cache-dtype auto|f32|bf16|int8
                                     KV-cache elements (default auto: f32 with f32 weights, else bf16); bf16 and
                                     int8 (a scale per position and head: a quarter of f32's bytes) CPU only

            bench (./weir bench --help): measures the machine's ceilings and the engine against them
            """;

    public static WeirOptions parse(String... args) {
        if (args.length == 0) {
            throw new IllegalArgumentException("no command given");
        }
        String command = args[0];
        String host = "127.0.0.1";
        int port = 8080;
        Path data = Path.of(".weir");
        Map<String, Path> models = new java.util.LinkedHashMap<>();
        List<String> keys = new ArrayList<>();
        String kafka = null;
        String hazelcast = null;
        int kafkaPort = -1;
        int hazelcastPort = 5701;
        String cluster = "weir";
        int maxSlots = 16;
        List<Path> roots = new ArrayList<>();
        int workers = 1;
        int maxModels = 4;
        long scaleDownAfterMs = 60_000;
        int maxBatchTokens = 256;
        int kvCacheMb = 0;
        int kvBlockSize = 16;
        String quantize = "f32";
        String kvCacheDtype = "auto";
        for (int i = 1; i < args.length; i++) {
            String flag = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null && !flag.equals("--help")) {
                throw new IllegalArgumentException("option " + flag + " needs a value");
            }
            switch (flag) {
                case "--port" -> port = parsePort(flag, value);
                case "--host" -> host = value;
                case "--data" -> data = Path.of(value);
                case "--model" -> {
                    int eq = value.indexOf('=');
                    if (eq <= 0 || eq == value.length() - 1) {
                        throw new IllegalArgumentException("--model wants NAME=PATH, got " + value);
                    }
                    models.put(value.substring(0, eq), Path.of(value.substring(eq + 1)));
                }
                case "--api-key" -> keys.add(value);
                case "--kafka" -> kafka = value;
                case "--hazelcast" -> hazelcast = value;
                case "--kafka-port" -> kafkaPort = parsePort(flag, value);
                case "--hazelcast-port" -> hazelcastPort = parsePort(flag, value);
                case "--cluster" -> cluster = value;
                case "--max-seqs" -> maxSlots = parsePositive(flag, value);
                case "--checkpoint-root" -> roots.add(Path.of(value));
                case "--workers" -> workers = parsePositive(flag, value);
                case "--max-models" -> maxModels = parsePositive(flag, value);
                case "--scale-down-after" -> scaleDownAfterMs = parsePositive(flag, value) * 1000L;
                case "--max-batch-tokens" -> maxBatchTokens = parsePositive(flag, value);
                case "--kv-cache-mb" -> kvCacheMb = parsePositive(flag, value);
                case "--kv-block-size" -> {
                    kvBlockSize = parsePositive(flag, value);
                    if (kvBlockSize % 16 != 0) {
                        throw new IllegalArgumentException("--kv-block-size must be a multiple of 16, got " + value);
                    }
                }
                case "--quantize" -> quantize = parseChoice(flag, value, "f32", "bf16", "int8");
                case "--kv-cache-dtype" -> kvCacheDtype = parseChoice(flag, value, "auto", "f32", "bf16", "int8");
                default -> throw new IllegalArgumentException("unknown option " + flag);
            }
            i++;
        }
        return new WeirOptions(command, host, port, data, Map.copyOf(models), List.copyOf(keys),
                Optional.ofNullable(kafka), Optional.ofNullable(hazelcast), kafkaPort, hazelcastPort, cluster, maxSlots,
                List.copyOf(roots), workers, maxModels, scaleDownAfterMs,
                maxBatchTokens, kvCacheMb, kvBlockSize, quantize, kvCacheDtype);
    }

    private static int parsePort(String flag, String value) {
        int p = parseInt(flag, value);
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException(flag + " must be a port number, got " + value);
        }
        return p;
    }

    /** {@code value} in lower case when it is one of {@code choices} (any case). */
    private static String parseChoice(String flag, String value, String... choices) {
        String v = value.toLowerCase(java.util.Locale.ROOT);
        if (!List.of(choices).contains(v)) {
            String all = String.join(", ", List.of(choices).subList(0, choices.length - 1)) + " or "
                    + choices[choices.length - 1];
            throw new IllegalArgumentException(flag + " wants " + all + ", got " + value);
        }
        return v;
    }

    private static int parsePositive(String flag, String value) {
        int n = parseInt(flag, value);
        if (n <= 0) {
            throw new IllegalArgumentException(flag + " must be positive, got " + value);
        }
        return n;
    }

    private static int parseInt(String flag, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " wants a number, got " + value);
        }
    }
}
