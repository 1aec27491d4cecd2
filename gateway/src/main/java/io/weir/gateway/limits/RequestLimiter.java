package io.weir.gateway.limits;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.weir.gateway.http.ApiException;
import io.weir.registry.ApiKey;
import io.weir.registry.limits.ConcurrencyLeases;
import io.weir.registry.limits.RateLimits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;

/**
 * Admits a completion call under its API key's limits, which every gateway shares through Hazelcast:
 * requests per minute ({@link RateLimits}) and calls running at once ({@link ConcurrencyLeases}). A call
 * over a limit fails with 429 and a Retry-After; an admitted call holds a {@link Permit} until it ends.
 */
public final class RequestLimiter {
    private static final Logger LOG = LoggerFactory.getLogger(RequestLimiter.class);
    /** What a caller refused for concurrency is told to wait: a slot frees when some call ends, unknown when. */
    static final Duration CONCURRENCY_RETRY_AFTER = Duration.ofSeconds(1);

    private final RateLimits rates;
    private final ConcurrencyLeases leases;

    /** An admitted call's hold on its key's limits. */
    public interface Permit {
        /** A permit that holds nothing (keys without a concurrency limit). */
        Permit NONE = () -> Future.succeededFuture();

        /** Gives the slot back; completes once every gateway sees it free. Idempotent. */
        Future<Void> release();
    }

    public RequestLimiter(RateLimits rates, ConcurrencyLeases leases) {
        this.rates = rates;
        this.leases = leases;
    }

    /**
     * Admits a call of this key, on {@code context}. The concurrency slot is taken first, so a call refused
     * by the rate limit gives it straight back and a call refused for concurrency costs no rate allowance.
     */
    public Future<Permit> admit(ApiKey key, Context context) {
        return concurrencySlot(key, context).compose(permit -> rateAllowance(key, context).transform(ar -> {
            if (ar.succeeded()) {
                return Future.succeededFuture(permit);
            }
            return permit.release().transform(v -> Future.failedFuture(ar.cause()));
        }));
    }

    private Future<Permit> concurrencySlot(ApiKey key, Context context) {
        Integer max = key.maxConcurrentRequests();
        if (max == null) {
            return Future.succeededFuture(Permit.NONE);
        }
        return Future.fromCompletionStage(leases.tryAcquire(key.id(), max), context).transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture(unavailable(ar.cause()));
            }
            Optional<ConcurrencyLeases.Lease> lease = ar.result();
            if (lease.isEmpty()) {
                return Future.failedFuture(ApiException.tooManyRequests("Too many concurrent requests: this API key may run "
                        + max + " at once. Retry when one of them has finished.", CONCURRENCY_RETRY_AFTER));
            }
            return Future.succeededFuture(new LeasePermit(lease.get(), context));
        });
    }

    private Future<Void> rateAllowance(ApiKey key, Context context) {
        Integer perMinute = key.rateLimitPerMinute();
        if (perMinute == null) {
            return Future.succeededFuture();
        }
        return Future.fromCompletionStage(rates.tryAcquire(key.id(), perMinute), context).transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture(unavailable(ar.cause()));
            }
            Duration wait = ar.result();
            if (!wait.isZero()) {
                return Future.failedFuture(ApiException.tooManyRequests("Rate limit exceeded: this API key may make "
                        + perMinute + " requests per minute.", wait));
            }
            return Future.succeededFuture();
        });
    }

    private static ApiException unavailable(Throwable cause) {
        return ApiException.unavailable("cannot check the API key's limits right now: " + cause.getMessage());
    }

    /** A concurrency lease; releasing twice releases once. */
    private final class LeasePermit implements Permit {
        private final ConcurrencyLeases.Lease lease;
        private final Context context;
        private Future<Void> released;

        LeasePermit(ConcurrencyLeases.Lease lease, Context context) {
            this.lease = lease;
            this.context = context;
        }

        @Override
        public synchronized Future<Void> release() {
            if (released == null) {
                released = Future.fromCompletionStage(leases.release(lease), context).recover(e -> {
                    LOG.warn("cannot release a concurrency slot of {} (it lapses on its own): {}", lease.keyId(), e.toString());
                    return Future.succeededFuture();
                });
            }
            return released;
        }
    }
}
