package io.weir.gateway.routes.openai;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.chat.ChatTemplateException;
import io.weir.gateway.chat.ChatTemplates;
import io.weir.gateway.http.ApiException;

/**
 * An error in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}: the body of a failed
 * call, or the last event of a stream that fails after it began.
 *
 * @param param the request field at fault, or null
 * @param code  OpenAI's error code where one applies ({@code model_not_found}), else null
 */
record OpenAiError(int status, String message, String param, String code) {

    static OpenAiError invalid(String param, String message) {
        return new OpenAiError(400, message, param, null);
    }

    /** Unsupported parameters are refused, never ignored: the caller would get something it did not ask for. */
    static OpenAiError notSupported(String param, String what) {
        return new OpenAiError(400, what + " is not supported by this server yet; the request was not run.", param, null);
    }

    static OpenAiError modelNotFound(String message) {
        return new OpenAiError(404, message, "model", "model_not_found");
    }

    /** The error a failure stands for: validation (400 with the field), unknown model (404), a bad template (400)... */
    static OpenAiError of(Throwable failure) {
        return switch (failure) {
            case OpenAiException e -> e.error();
            case ApiException e when e.violation() != null -> invalid(String.valueOf(e.violation().loc().getLast()),
                    e.violation().loc().getLast() + ": " + e.violation().message());
            case ApiException e when e.status() == 404 -> modelNotFound(e.getMessage());
            case ApiException e -> new OpenAiError(e.status(), e.getMessage(), null, null);
            case ChatTemplateException e -> new OpenAiError(400, e.getMessage(), "messages", null);
            case ChatTemplates.NotLoadedException e -> new OpenAiError(503, e.getMessage(), "model", null);
            default -> new OpenAiError(500, "internal error: " + failure.getMessage(), null, null);
        };
    }

    JsonObject json() {
        return new JsonObject().put("error", new JsonObject()
                .put("message", message)
                .put("type", type())
                .put("param", param)
                .put("code", code));
    }

    private String type() {
        return switch (status) {
            case 400, 404, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 429 -> "rate_limit_error";
            case 504 -> "timeout_error";
            default -> status >= 500 ? "server_error" : "invalid_request_error";
        };
    }

    /** Answers with this error, unless the response has begun (then it can only be ended). */
    void send(RoutingContext ctx) {
        if (ctx.response().headWritten()) {
            ctx.response().end();
            return;
        }
        ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(json().encode());
    }

    /** Thrown by the parsers for a request the API refuses. */
    static final class OpenAiException extends RuntimeException {
        private final OpenAiError error;

        OpenAiException(OpenAiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        OpenAiError error() {
            return error;
        }
    }

    OpenAiException exception() {
        return new OpenAiException(this);
    }
}
