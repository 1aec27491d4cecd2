package io.weir.infra.testing;

import io.weir.infra.kafka.EmbeddedKafka;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Real Kafka brokers for tests, one of each kind per test JVM (started on first use, stopped at exit):
 * the in-process KRaft broker, which runs everywhere, and a Testcontainers broker, which runs where
 * Docker works; tests asking for it are skipped elsewhere.
 */
public final class TestBrokers {
    private static EmbeddedKafka embedded;
    private static KafkaContainer container;

    private TestBrokers() {
    }

    public static synchronized String embedded() {
        if (embedded == null) {
            try {
                Path dir = Files.createTempDirectory("weir-test-kafka");
                embedded = EmbeddedKafka.start(dir, 0);
                Runtime.getRuntime().addShutdownHook(new Thread(embedded::close));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return embedded.bootstrapServers();
    }

    /** A Testcontainers broker; skips the calling test where Docker does not work. */
    public static synchronized String testcontainers() {
        assumeTrue(dockerAvailable(), "Docker is not available here: Testcontainers Kafka test skipped (the embedded-broker variant runs instead)");
        if (container == null) {
            container = new KafkaContainer("apache/kafka:4.1.0");
            container.start();
            Runtime.getRuntime().addShutdownHook(new Thread(container::stop));
        }
        return container.getBootstrapServers();
    }

    public static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
