package io.weir.gateway.routes.llmengine;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.http.JsonFields;
import io.weir.registry.ModelEndpoint;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * POST /v1/llm/model-endpoints/download answers with one URL per checkpoint file; each URL is signed
 * (HMAC-SHA256 with a cluster-wide key) and expires, so it can be handed to a plain downloader with no
 * API key. GET /v1/llm/model-endpoints/{name}/files/{file} serves such a URL.
 */
public final class ModelDownloadRoutes {
    static final Duration URL_LIFETIME = Duration.ofHours(1);

    private final ModelEndpointRoutes endpoints;
    private final byte[] signingKey;
    private final Clock clock;

    public ModelDownloadRoutes(ModelEndpointRoutes endpoints, byte[] signingKey, Clock clock) {
        this.endpoints = endpoints;
        this.signingKey = signingKey.clone();
        this.clock = clock;
    }

    public void urls(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        String base = ctx.request().scheme() + "://" + ctx.request().authority();
        ModelEndpointRoutes.blocking(ctx, () -> {
            JsonFields f = JsonFields.parse(ctx.body().buffer());
            String name = f.requiredString("model_name");
            String format = f.optionalString("download_format");
            if (format != null && !format.equals("hugging_face")) {
                throw ApiException.badRequest("download_format must be hugging_face, got " + format);
            }
            ModelEndpoint endpoint = endpoints.visibleEndpoint(name, tenant);
            long expires = clock.instant().plus(URL_LIFETIME).getEpochSecond();
            JsonObject urls = new JsonObject();
            for (String file : files(Path.of(endpoint.checkpointPath()))) {
                urls.put(file, base + "/v1/llm/model-endpoints/" + enc(name) + "/files/" + enc(file)
                        + "?expires=" + expires + "&signature=" + sign(name, file, expires));
            }
            return new JsonObject().put("urls", urls);
        });
    }

    public void file(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        String file = ctx.pathParam("file");
        long expires;
        try {
            expires = Long.parseLong(ctx.queryParams().get("expires"));
        } catch (NumberFormatException e) {
            HttpErrors.detail(ctx, 403, "missing or malformed expires");
            return;
        }
        String signature = ctx.queryParams().get("signature");
        if (signature == null || !MessageDigest.isEqual(signature.getBytes(StandardCharsets.UTF_8),
                sign(name, file, expires).getBytes(StandardCharsets.UTF_8))) {
            HttpErrors.detail(ctx, 403, "invalid signature");
            return;
        }
        if (clock.instant().getEpochSecond() > expires) {
            HttpErrors.detail(ctx, 410, "this download URL has expired");
            return;
        }
        ctx.vertx().executeBlocking(() -> {
            ModelEndpoint e = endpoints.registry().get(name).orElseThrow(() -> ApiException.notFound("Model endpoint '" + name + "' not found."));
            Path dir = Path.of(e.checkpointPath());
            if (!files(dir).contains(file)) {
                throw ApiException.notFound("no file " + file + " in the checkpoint of " + name);
            }
            return (Files.isDirectory(dir) ? dir.resolve(file) : dir).toString();
        }).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().putHeader("content-type", "application/octet-stream").sendFile(ar.result());
            } else {
                HttpErrors.of(ctx, ar.cause() instanceof ApiException api ? api : ApiException.status(500, ar.cause().getMessage()));
            }
        });
    }

    /** The plain files of a checkpoint directory (or the archive itself). */
    private static List<String> files(Path checkpoint) throws IOException {
        if (!Files.isDirectory(checkpoint)) {
            return List.of(checkpoint.getFileName().toString());
        }
        try (var entries = Files.list(checkpoint)) {
            return entries.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    String sign(String name, String file, long expires) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(signingKey, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((name + "\n" + file + "\n" + expires).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 missing from the JDK", e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
