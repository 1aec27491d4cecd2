package io.weir.gateway;

import io.weir.infra.testing.TestBrokers;

/** The OpenAI-compatible API contract on the in-process KRaft broker: runs everywhere. */
class EmbeddedKafkaOpenAiApiTest extends OpenAiApiContract {
    @Override
    String bootstrapServers() {
        return TestBrokers.embedded();
    }
}
