package io.weir.gateway;

import io.weir.infra.testing.TestBrokers;

/** The same contract on a Testcontainers Kafka broker: skipped where Docker does not work. */
class TestcontainersKafkaCompletionApiTest extends CompletionApiContract {
    @Override
    String bootstrapServers() {
        return TestBrokers.testcontainers();
    }
}
