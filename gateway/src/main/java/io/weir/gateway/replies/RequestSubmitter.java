package io.weir.gateway.replies;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CancelRequest;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Puts completion requests on the public request topic, and their cancels on the cancel topic, keyed by request id. */
public final class RequestSubmitter {
    private static final Logger LOG = LoggerFactory.getLogger(RequestSubmitter.class);
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

    /**
     * Asks the workers to stop a request. Fire and forget: nobody waits for the answer, and a lost cancel
     * only costs the tokens the request goes on generating.
     */
    public void cancel(CancelRequest cancel) {
        producer.send(new ProducerRecord<>(Topics.CANCELS, cancel.requestId(), Json.toBytes(cancel)), (meta, error) -> {
            if (error != null) {
                LOG.warn("cancel of {} not sent: {}", cancel.requestId(), error.toString());
            }
        });
    }
}
