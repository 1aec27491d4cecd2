package io.weir.gateway.completions;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.limits.RequestLimiter;
import io.weir.gateway.replies.ReplyDispatcher;
import io.weir.gateway.replies.RequestSubmitter;
import io.weir.infra.messages.CancelRequest;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.registry.ApiKey;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;

import java.time.Duration;
import java.util.UUID;

/**
 * The life of one completion call, whatever API it came in through (LLM Engine v1, OpenAI, EGP): admit it
 * under its API key's limits, find the endpoint, put the request on Kafka, relay its reply events to a
 * {@link Listener} on the caller's context, and end it on its last event, its deadline, or the caller going
 * away. However it ends, it ends once: its concurrency slot is given back and its tokens are counted. The
 * deadline and a departing caller also cancel the request on the workers (a {@link CancelRequest} on the
 * cancel topic), so no slot keeps generating for nobody.
 */
public final class CompletionCalls {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    private final Vertx vertx;
    private final ModelRegistry registry;
    private final RequestSubmitter submitter;
    private final ReplyDispatcher replies;
    private final RequestLimiter limiter;
    private final UsageRecorder usage;
    private final CallMetrics metrics = new CallMetrics();

    public CompletionCalls(Vertx vertx, ModelRegistry registry, RequestSubmitter submitter, ReplyDispatcher replies,
                           RequestLimiter limiter, UsageRecorder usage) {
        this.vertx = vertx;
        this.registry = registry;
        this.submitter = submitter;
        this.replies = replies;
        this.limiter = limiter;
        this.usage = usage;
    }

    /** Latencies and outcomes of the calls this gateway served, for {@code /metrics}. */
    public CallMetrics metrics() {
        return metrics;
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
        private final String model;
        private final String tenant;
        private final RequestLimiter.Permit permit;
        private final long arrivedNanos;
        private long lastTokenNanos; // 0 until the first token
        private long timer = -1;
        private CompletionEvent lastToken;
        private Future<Void> ended;

        private Call(String requestId, String model, String tenant, RequestLimiter.Permit permit, long arrivedNanos) {
            this.requestId = requestId;
            this.model = model;
            this.tenant = tenant;
            this.permit = permit;
            this.arrivedNanos = arrivedNanos;
        }

        public String requestId() {
            return requestId;
        }

        /**
         * Ends the call and tells the workers to stop generating ({@link CancelRequest}), unless it has already
         * ended; returns whether it was still running.
         */
        public boolean cancel(String reason) {
            if (ended != null) {
                return false;
            }
            end();
            submitter.cancel(new CancelRequest(requestId, reason));
            metrics.cancelled(model, reason);
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

        /** Keeps the last token event for the usage count, and times the call for {@link CallMetrics}. */
        private void observe(CompletionEvent event) {
            long now = System.nanoTime();
            if (event.isError()) {
                metrics.failed(model, event.error().status());
                return;
            }
            lastToken = event;
            if (event.tokenId() != null) { // not the token-less last event of a cancelled request
                if (lastTokenNanos == 0) {
                    metrics.firstToken(model, now - arrivedNanos);
                } else {
                    metrics.interToken(model, now - lastTokenNanos);
                }
                lastTokenNanos = now;
            }
            if (event.finished()) {
                metrics.finished(model, event.finishReason(), now - arrivedNanos);
            }
        }

        /**
         * Ends the call once, however it ends: stops waiting for events, counts the tokens the caller got, and
         * gives its concurrency slot back (the future completes when every gateway sees it free).
         */
        private Future<Void> end() {
            if (ended == null) {
                if (timer >= 0) {
                    vertx.cancelTimer(timer);
                }
                replies.forget(requestId);
                usage.count(tenant, model, lastToken);
                ended = permit.release();
            }
            return ended;
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
     * Starts a call for {@code caller} (an authenticated key: its tenant is charged, its limits apply). The
     * future fails with an {@link ApiException}: 429 over the key's limits, 404 or 503 for an unknown or
     * unusable endpoint, 503 if Kafka does not take the request. At the deadline the call is cancelled, then
     * the listener told.
     */
    public Future<Call> start(String model, String prompt, SamplingParams sampling, ApiKey caller, Duration timeout,
                              Listener listener) {
        return start(model, prompt, null, sampling, caller, timeout, listener);
    }

    /**
     * The same, saying whether the worker adds the tokenizer's special tokens to the prompt (null: it does);
     * a prompt rendered from a chat template that already holds BOS passes false.
     */
    public Future<Call> start(String model, String prompt, Boolean addSpecialTokens, SamplingParams sampling, ApiKey caller,
                              Duration timeout, Listener listener) {
        long arrived = System.nanoTime();
        Context context = vertx.getOrCreateContext();
        CompletionRequest request = new CompletionRequest(UUID.randomUUID().toString(), model, prompt, sampling,
                replies.topic(), caller.tenant(), System.currentTimeMillis(), addSpecialTokens);
        return limiter.admit(caller, context).compose(permit ->
                endpoint(model, caller.tenant())
                        .compose(endpoint -> send(request, timeout, listener, permit, context, arrived))
                        .onFailure(e -> permit.release()));
    }

    private Future<Call> send(CompletionRequest request, Duration timeout, Listener listener, RequestLimiter.Permit permit,
                              Context context, long arrivedNanos) {
        String requestId = request.requestId();
        Call call = new Call(requestId, request.model(), request.tenant(), permit, arrivedNanos);
        call.timer = vertx.setTimer(Math.max(1, timeout.toMillis()), t -> {
            if (call.cancel(CancelRequest.TIMEOUT)) {
                call.ended.onComplete(v -> listener.onTimeout(timeout));
            }
        });
        replies.expect(requestId, context, event -> {
            if (call.ended != null) {
                return; // cancelled or timed out while this event was on its way
            }
            call.observe(event);
            if (event.finished() || event.isError()) {
                // The answer goes out once the slot is free: the caller's next request must find it free.
                call.end().onComplete(v -> listener.onEvent(event));
            } else {
                listener.onEvent(event);
            }
        });
        return submitter.submit(request, context)
                .recover(e -> {
                    call.end();
                    return Future.failedFuture(ApiException.unavailable("cannot queue the request: " + e.getMessage()));
                })
                .map(call);
    }

    /** Starts a call whose reply is gathered whole (see {@link CollectedCall}). */
    public CollectedCall collect(String model, String prompt, SamplingParams sampling, ApiKey caller, Duration timeout) {
        CollectedCall collected = new CollectedCall(model);
        collected.started(start(model, prompt, sampling, caller, timeout, collected));
        return collected;
    }
}
