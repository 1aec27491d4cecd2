package io.weir.gateway.http;

import java.util.List;

/**
 * A request the API refuses, with the HTTP status to answer. Parsers throw it; routes turn it into the
 * error body with {@link HttpErrors#of}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final Violation violation;
    private final Long retryAfterSeconds;

    /** A schema violation, reported as pydantic would: 422 with type, location and message. */
    public record Violation(String type, List<Object> loc, String message) {
    }

    private ApiException(int status, String message, Violation violation) {
        this(status, message, violation, null);
    }

    private ApiException(int status, String message, Violation violation, Long retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.violation = violation;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message, null);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, message, null);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, message, null);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(403, message, null);
    }

    /** 429, with the whole seconds (at least 1) the caller should wait, for a Retry-After header. */
    public static ApiException tooManyRequests(String message, java.time.Duration retryAfter) {
        long seconds = Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        return new ApiException(429, message, null, seconds);
    }

    public static ApiException status(int status, String message) {
        return new ApiException(status, message, null);
    }

    public static ApiException invalid(String type, String field, String message) {
        return new ApiException(422, field + ": " + message, new Violation(type, List.of("body", field), message));
    }

    public static ApiException missingQueryParameter(String name) {
        return new ApiException(422, name + ": Field required", new Violation("missing", List.of("query", name), "Field required"));
    }

    /** The exception itself if it is one, else a 500 carrying its message. */
    public static ApiException of(Throwable e) {
        return e instanceof ApiException api ? api : status(500, e.getMessage());
    }

    /**
     * This error, found inside the body's object field {@code parent}: a schema violation's location gains
     * the parent (["body", "temperature"] becomes ["body", "model_parameters", "temperature"]).
     */
    public ApiException under(String parent) {
        if (violation == null) {
            return this;
        }
        List<Object> loc = new java.util.ArrayList<>(violation.loc());
        loc.add(1, parent);
        return new ApiException(status, parent + "." + getMessage(), new Violation(violation.type(), List.copyOf(loc), violation.message()));
    }

    public int status() {
        return status;
    }

    public Violation violation() {
        return violation;
    }

    /** Seconds to wait before retrying (429), or null. */
    public Long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
