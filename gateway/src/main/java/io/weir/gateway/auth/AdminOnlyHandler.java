package io.weir.gateway.auth;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.HttpErrors;

/** Lets through only requests made with an admin key (after {@link ApiKeyAuthHandler}); others get 403. */
public final class AdminOnlyHandler implements Handler<RoutingContext> {
    @Override
    public void handle(RoutingContext ctx) {
        if (ApiKeyAuthHandler.apiKey(ctx).admin()) {
            ctx.next();
        } else {
            HttpErrors.detail(ctx, 403, "This route needs an admin API key.");
        }
    }
}
