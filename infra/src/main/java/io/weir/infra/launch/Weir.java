package io.weir.infra.launch;

import io.weir.infra.kafka.EmbeddedKafka;

import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The {@code weir} command: {@code weir up} runs the whole stack; {@code weir <service>} runs one service;
 * {@code weir kafka} runs a broker. Runs until SIGTERM/SIGINT, then stops everything it started.
 */
public final class Weir {
    private Weir() {
    }

    public static void main(String[] args) {
        WeirOptions options;
        try {
            options = WeirOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("weir: " + e.getMessage());
            System.err.print(WeirOptions.USAGE);
            System.exit(2);
            return;
        }
        if (List.of("help", "--help", "-h").contains(options.command())) {
            System.out.print(WeirOptions.USAGE);
            return;
        }
        try {
            AutoCloseable running = start(options);
            awaitShutdown(running);
        } catch (Exception e) {
            System.err.println("weir: " + options.command() + " failed: " + e.getMessage());
            System.exit(1);
        }
    }

    private static AutoCloseable start(WeirOptions options) throws Exception {
        List<WeirService> services = WeirStack.discoverServices();
        return switch (options.command()) {
            case "up" -> {
                WeirStack stack = WeirStack.start(options, services);
                System.out.println();
                System.out.println("Weir is up.");
                stack.banner().forEach(line -> System.out.println("  " + line));
                System.out.println();
                System.out.flush();
                yield stack;
            }
            case "kafka" -> {
                EmbeddedKafka broker = EmbeddedKafka.start(options.dataDir().resolve("kafka"),
                        options.kafkaPort() < 0 ? 9092 : options.kafkaPort());
                System.out.println("Kafka broker at " + broker.bootstrapServers());
                yield broker;
            }
            default -> {
                WeirService service = services.stream().filter(s -> s.name().equals(options.command())).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("unknown command " + options.command()
                                + " (services: " + services.stream().map(WeirService::name).toList() + ")"));
                WeirStack stack = WeirStack.startStandalone(options, service);
                System.out.println(service.name() + " is up.");
                stack.banner().forEach(line -> System.out.println("  " + line));
                yield stack;
            }
        };
    }

    /** Blocks the main thread; the shutdown hook (SIGTERM, Ctrl-C) stops everything, then lets main return. */
    private static void awaitShutdown(AutoCloseable running) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("weir: stopping");
            try {
                running.close();
            } catch (Exception e) {
                System.err.println("weir: error while stopping: " + e.getMessage());
            }
            stopped.countDown();
        }, "weir-shutdown"));
        stopped.await();
    }
}
