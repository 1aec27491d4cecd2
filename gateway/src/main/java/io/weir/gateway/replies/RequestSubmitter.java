package io.weir.gateway.replies;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Puts completion requests on the public request topic, keyed by request id. */
public final class RequestSubmitter {
    private final Producer<String, byte[]> producer;

    public RequestSubmitter(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    /**
     * Completes, on {@code context}, once the broker has the request (from then on it is not lost); fails
     * if the broker cannot take it.
     */
    public Future<Void> submit(CompletionRequest request, Context context) {
        Promise<Void> sent = Promise.promise();
        producer.send(new ProducerRecord<>(Topics.COMPLETION_REQUESTS, request.requestId(), Json.toBytes(request)),
                (meta, error) -> context.runOnContext(v -> {
                    if (error != null) {
                        sent.tryFail(error);
                    } else {
                        sent.tryComplete();
                    }
                }));
        return sent.future();
    }
}
