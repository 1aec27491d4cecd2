package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * Error responses in LLM Engine's (FastAPI's) shape: {@code {"detail": ...}}, where detail is a message,
 * or for schema violations (422) a list of {type, loc, msg} items as pydantic reports them.
 */
public final class HttpErrors {
    private HttpErrors() {
    }

    public static void detail(RoutingContext ctx, int status, String message) {
        send(ctx, status, new JsonObject().put("detail", message));
    }

    /** 422 with pydantic-style detail items; {@code loc} is e.g. ["body", "temperature"]. */
    public static void validation(RoutingContext ctx, ApiException.Violation violation) {
        JsonObject item = new JsonObject()
                .put("type", violation.type())
                .put("loc", new JsonArray(violation.loc()))
                .put("msg", violation.message());
        send(ctx, 422, new JsonObject().put("detail", new JsonArray().add(item)));
    }

    public static void of(RoutingContext ctx, ApiException e) {
        if (e.retryAfterSeconds() != null && !ctx.response().headWritten()) {
            ctx.response().putHeader("retry-after", String.valueOf(e.retryAfterSeconds()));
        }
        if (e.violation() != null) {
            validation(ctx, e.violation());
        } else {
            detail(ctx, e.status(), e.getMessage());
        }
    }

    private static void send(RoutingContext ctx, int status, JsonObject body) {
        if (ctx.response().closed()) {
            return; // the client is gone: nobody to tell
        }
        if (ctx.response().headWritten()) {
            ctx.response().end();
            return;
        }
        ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
    }
}
