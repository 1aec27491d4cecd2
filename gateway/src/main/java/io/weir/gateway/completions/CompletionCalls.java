package io.weir.gateway.completions;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.replies.ReplyDispatcher;
import io.weir.gateway.replies.RequestSubmitter;
import io.weir.infra.messages.CancelRequest;
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
 * context, and end it on its last event, its deadline, or the caller going away. The last two cancel the
 * request on the workers too (a {@link CancelRequest} on the cancel topic), so no slot keeps generating for
 * nobody.
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

    /** The error message of a call whose deadline passed. */
    public static String timedOut(Duration timeout) {
        return "The request did not finish within " + timeout.toSeconds() + " s.";
    }

    /** Receives a call's events, on the context that started it. */
    public interface Listener {
        void onEvent(CompletionEvent event);

        /** The deadline passed before the last event. */
        void onTimeout(Duration timeout);
    }

    /**
     * A call in flight, used on the context that started it. It ends with its last event, or by
     * {@link #cancel} (which the deadline and a departing caller also use).
     */
    public final class Call {
        private final String requestId;
        private long timer = -1;
        private boolean ended;

        private Call(String requestId) {
            this.requestId = requestId;
        }

        public String requestId() {
            return requestId;
        }

        /**
         * Stops relaying and tells the workers to stop generating ({@link CancelRequest}), unless the call
         * has already ended; returns whether it was still running.
         */
        public boolean cancel(String reason) {
            if (!end()) {
                return false;
            }
            submitter.cancel(new CancelRequest(requestId, reason));
            return true;
        }

        /** The caller went away: cancels the call. */
        public void abandon() {
            cancel(CancelRequest.CLIENT_GONE);
        }

        /** Cancels the call when the client's connection closes before the call ends (or closed already). */
        public void cancelOnClose(HttpServerResponse response) {
            if (response.closed()) {
                abandon();
            } else {
                response.closeHandler(v -> abandon());
            }
        }

        /** Stops the deadline and the relay; false if the call had already ended. */
        private boolean end() {
            if (ended) {
                return false;
            }
            ended = true;
            vertx.cancelTimer(timer);
            replies.forget(requestId);
            return true;
        }
    }

    /**
     * Finds an endpoint the tenant may use: fails with an {@link ApiException} (404 for an unknown one or
     * another tenant's private one, 503 for a failed one).
     */
    public Future<ModelEndpoint> endpoint(String model, String tenant) {
        return Future.fromCompletionStage(registry.getAsync(model), vertx.getOrCreateContext()).map(found -> {
            ModelEndpoint endpoint = found.filter(e -> e.isVisibleTo(tenant))
                    .orElseThrow(() -> ApiException.notFound("Model endpoint '" + model + "' not found."));
            if (endpoint.status() == EndpointStatus.DELETE_IN_PROGRESS) {
                throw ApiException.notFound("Model endpoint '" + model + "' is being deleted.");
            }
            if (endpoint.status() == EndpointStatus.UPDATE_FAILED) {
                throw ApiException.unavailable("Model endpoint '" + model + "' failed to load: " + endpoint.statusReason());
            }
            return endpoint;
        });
    }

    /**
     * Starts a call; the future fails with an {@link ApiException} for an unknown or unusable endpoint and
     * with 503 if Kafka does not take the request. At the deadline the call is cancelled, then the
     * listener told.
     */
    public Future<Call> start(String model, String prompt, SamplingParams sampling, String tenant, Duration timeout,
                              Listener listener) {
        Context context = vertx.getOrCreateContext();
        return endpoint(model, tenant).compose(endpoint -> {
            String requestId = UUID.randomUUID().toString();
            CompletionRequest request = new CompletionRequest(requestId, model, prompt, sampling, replies.topic(), tenant,
                    System.currentTimeMillis());
            Call call = new Call(requestId);
            call.timer = vertx.setTimer(timeout.toMillis(), t -> {
                if (call.cancel(CancelRequest.TIMEOUT)) {
                    listener.onTimeout(timeout);
                }
            });
            replies.expect(requestId, context, event -> {
                if (call.ended) {
                    return; // cancelled or timed out while this event was on its way
                }
                if (event.finished() || event.isError()) {
                    call.end();
                }
                listener.onEvent(event);
            });
            return submitter.submit(request, context)
                    .recover(e -> {
                        call.end();
                        return Future.failedFuture(ApiException.unavailable("cannot queue the request: " + e.getMessage()));
                    })
                    .map(call);
        });
    }

    /** Starts a call whose reply is gathered whole (see {@link CollectedCall}). */
    public CollectedCall collect(String model, String prompt, SamplingParams sampling, String tenant, Duration timeout) {
        CollectedCall collected = new CollectedCall(model);
        collected.started(start(model, prompt, sampling, tenant, timeout, collected));
        return collected;
    }
}
