package io.weir.gateway;

import io.weir.infra.testing.TestBrokers;
import org.junit.jupiter.api.condition.EnabledIf;

/** The same contract on a Testcontainers Kafka broker: skipped where Docker does not work. */
@EnabledIf(value = "io.weir.infra.testing.TestBrokers#dockerAvailable",
        disabledReason = "Docker is not available: the Testcontainers Kafka variant is skipped; the embedded-broker variant runs")
class TestcontainersKafkaCompletionApiTest extends CompletionApiContract {
    @Override
    String bootstrapServers() {
        return TestBrokers.testcontainers();
    }
}
