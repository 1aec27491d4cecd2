package io.weir.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.HttpErrors;
import io.weir.registry.ApiKey;
import io.weir.registry.ApiKeys;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * Authenticates a request by API key, accepted the three ways clients send it: HTTP Basic with the key
 * as user name (the llmengine client), {@code Authorization: Bearer} (OpenAI SDKs, LiteLLM) and
 * {@code x-api-key} (Scale EGP). Unknown and revoked keys get 401. The key's record (tenant, role, limits)
 * is put in the routing context for the routes.
 */
public final class ApiKeyAuthHandler implements Handler<RoutingContext> {
    private static final String TENANT = "weir.tenant";
    private static final String API_KEY = "weir.api-key";

    private final ApiKeys keys;

    public ApiKeyAuthHandler(ApiKeys keys) {
        this.keys = keys;
    }

    /** The authenticated tenant of a request that passed this handler. */
    public static String tenant(RoutingContext ctx) {
        return ctx.get(TENANT);
    }

    /** The authenticated key of a request that passed this handler: tenant, role and limits. */
    public static ApiKey apiKey(RoutingContext ctx) {
        return ctx.get(API_KEY);
    }

    @Override
    public void handle(RoutingContext ctx) {
        Optional<String> key = presentedKey(ctx);
        if (key.isEmpty()) {
            ctx.response().putHeader("www-authenticate", "Basic");
            HttpErrors.detail(ctx, 401, "No authentication was passed in");
            return;
        }
        Future.fromCompletionStage(keys.findAsync(key.get()), ctx.vertx().getOrCreateContext()).onComplete(ar -> {
            if (ar.failed()) {
                HttpErrors.detail(ctx, 503, "cannot check the API key right now: " + ar.cause().getMessage());
            } else if (ar.result().isEmpty() || ar.result().get().isRevoked()) {
                ctx.response().putHeader("www-authenticate", "Basic");
                HttpErrors.detail(ctx, 401, ar.result().isEmpty() ? "Invalid API key" : "This API key has been revoked");
            } else {
                ApiKey found = ar.result().get();
                ctx.put(API_KEY, found);
                ctx.put(TENANT, found.tenant());
                ctx.next();
            }
        });
    }

    static Optional<String> presentedKey(RoutingContext ctx) {
        String authorization = ctx.request().getHeader("authorization");
        if (authorization != null) {
            String[] parts = authorization.trim().split("\\s+", 2);
            if (parts.length == 2 && parts[0].equalsIgnoreCase("basic")) {
                return basicUser(parts[1]);
            }
            if (parts.length == 2 && parts[0].equalsIgnoreCase("bearer") && !parts[1].isBlank()) {
                return Optional.of(parts[1].trim());
            }
        }
        return Optional.ofNullable(ctx.request().getHeader("x-api-key")).filter(k -> !k.isBlank());
    }

    /** The user name of Basic credentials (the key); the password when the user name is empty. */
    private static Optional<String> basicUser(String encoded) {
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(encoded.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        int colon = decoded.indexOf(':');
        String user = colon < 0 ? decoded : decoded.substring(0, colon);
        String password = colon < 0 ? "" : decoded.substring(colon + 1);
        return Optional.of(user.isEmpty() ? password : user).filter(k -> !k.isEmpty());
    }
}
