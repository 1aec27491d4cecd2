package io.weir.gateway.completions;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.replies.ReplyDispatcher;
import io.weir.gateway.replies.RequestSubmitter;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;

import java.time.Duration;
import java.util.UUID;

/**
 * The life of one completion call, whatever API it came in through (LLM Engine v1, OpenAI, EGP): find
 * the endpoint, put the request on Kafka, relay its reply events to a {@link Listener} on the caller's
 * context, and end it on its last event, its deadline, or the caller going away.
 */
public final class CompletionCalls {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    private final Vertx vertx;
    private final ModelRegistry registry;
    private final RequestSubmitter submitter;
    private final ReplyDispatcher replies;

    public CompletionCalls(Vertx vertx, ModelRegistry registry, RequestSubmitter submitter, ReplyDispatcher replies) {
        this.vertx = vertx;
        this.registry = registry;
        this.submitter = submitter;
        this.replies = replies;
    }

    /** Receives a call's events, on the context that started it. */
    public interface Listener {
        void onEvent(CompletionEvent event);

        /** The deadline passed before the last event. */
        void onTimeout(Duration timeout);
    }

    /** A call in flight. */
    public final class Call {
        private final String requestId;
        private final long timer;

        private Call(String requestId, long timer) {
            this.requestId = requestId;
            this.timer = timer;
        }

        public String requestId() {
            return requestId;
        }

        /** Stops relaying (the caller left or the call ended). */
        public void abandon() {
            vertx.cancelTimer(timer);
            replies.forget(requestId);
        }
    }

    /**
     * Starts a call; the future fails with an {@link ApiException} for an unknown or unusable endpoint and
     * with 503 if Kafka does not take the request.
     */
    public Future<Call> start(String model, String prompt, SamplingParams sampling, String tenant, Duration timeout,
                              Listener listener) {
        return start(model, prompt, null, sampling, tenant, timeout, listener);
    }

    /**
     * The same, saying whether the worker adds the tokenizer's special tokens to the prompt (null: it does);
     * a prompt rendered from a chat template that already holds BOS passes false.
     */
    public Future<Call> start(String model, String prompt, Boolean addSpecialTokens, SamplingParams sampling, String tenant,
                              Duration timeout, Listener listener) {
        Context context = vertx.getOrCreateContext();
        return Future.fromCompletionStage(registry.getAsync(model), context).compose(found -> {
            ModelEndpoint endpoint = found.orElseThrow(() -> ApiException.notFound("Model endpoint '" + model + "' not found."));
            if (endpoint.status() == EndpointStatus.DELETE_IN_PROGRESS) {
                throw ApiException.notFound("Model endpoint '" + model + "' is being deleted.");
            }
            if (endpoint.status() == EndpointStatus.UPDATE_FAILED) {
                throw ApiException.unavailable("Model endpoint '" + model + "' failed to load: " + endpoint.statusReason());
            }
            String requestId = UUID.randomUUID().toString();
            CompletionRequest request = new CompletionRequest(requestId, model, prompt, sampling, replies.topic(), tenant,
                    System.currentTimeMillis(), addSpecialTokens);
            long timer = vertx.setTimer(timeout.toMillis(), t -> {
                replies.forget(requestId);
                listener.onTimeout(timeout);
            });
            Call call = new Call(requestId, timer);
            replies.expect(requestId, context, event -> {
                if (event.finished() || event.isError()) {
                    vertx.cancelTimer(timer);
                }
                listener.onEvent(event);
            });
            return submitter.submit(request, context)
                    .recover(e -> {
                        call.abandon();
                        return Future.failedFuture(ApiException.unavailable("cannot queue the request: " + e.getMessage()));
                    })
                    .map(call);
        });
    }
}
