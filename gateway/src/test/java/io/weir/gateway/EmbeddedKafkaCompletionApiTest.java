package io.weir.gateway;

import io.weir.infra.testing.TestBrokers;

/** The completion API contract on the in-process KRaft broker: runs everywhere. */
class EmbeddedKafkaCompletionApiTest extends CompletionApiContract {
    @Override
    String bootstrapServers() {
        return TestBrokers.embedded();
    }
}
