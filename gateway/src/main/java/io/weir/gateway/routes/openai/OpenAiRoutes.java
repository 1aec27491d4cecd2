package io.weir.gateway.routes.openai;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.chat.ChatTemplates;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The OpenAI-compatible API (as LLM Engine serves it under /v2, with the conventional /v1 aliases):
 * POST /completions and /chat/completions, sync or streamed, and GET /models. A model is an endpoint name.
 */
public final class OpenAiRoutes {
    private final CompletionCalls calls;
    private final ModelRegistry registry;
    private final ChatTemplates templates;

    public OpenAiRoutes(CompletionCalls calls, ModelRegistry registry, ChatTemplates templates) {
        this.calls = calls;
        this.registry = registry;
        this.templates = templates;
    }

    public void completions(RoutingContext ctx) {
        CompletionsRequest request = parsed(ctx, CompletionsRequest::parse);
        if (request == null) {
            return;
        }
        SamplingOptions options = request.options();
        int maxTokens = options.maxTokens() == null ? CompletionsRequest.DEFAULT_MAX_TOKENS : options.maxTokens();
        List<ChoiceCalls.Choice> choices = new ArrayList<>();
        for (String prompt : request.prompts()) {
            for (int sample = 0; sample < options.n(); sample++) {
                choices.add(new ChoiceCalls.Choice(choices.size(), prompt, options.addSpecialTokens(),
                        options.forSample(sample, maxTokens, false)));
            }
        }
        run(ctx, request.model(), choices, new TextCompletionFormat(options.topLogprobs() != null), options);
    }

    public void chatCompletions(RoutingContext ctx) {
        ChatRequest request = parsed(ctx, ChatRequest::parse);
        if (request == null) {
            return;
        }
        endpoint(ctx, request.model())
                .compose(endpoint -> ctx.vertx().executeBlocking(() -> new Rendered(endpoint, templates.render(endpoint, request.chat())), false))
                .onSuccess(rendered -> {
                    SamplingOptions options = request.options();
                    // Without max_tokens a chat answer may run to the end of the context (the worker knows the prompt's length).
                    boolean toContext = options.maxTokens() == null;
                    Integer context = rendered.endpoint().contextLength();
                    int maxTokens = !toContext ? options.maxTokens() : context != null ? context : Integer.MAX_VALUE;
                    // vLLM's rule: a template that wrote BOS itself gets no second one from the tokenizer.
                    Boolean addSpecialTokens = options.addSpecialTokens() != null ? options.addSpecialTokens()
                            : rendered.prompt().startsWithBos() ? Boolean.FALSE : null;
                    List<ChoiceCalls.Choice> choices = new ArrayList<>();
                    for (int sample = 0; sample < options.n(); sample++) {
                        choices.add(new ChoiceCalls.Choice(sample, rendered.prompt().text(), addSpecialTokens,
                                options.forSample(sample, maxTokens, toContext)));
                    }
                    run(ctx, request.model(), choices, new ChatCompletionFormat(options.topLogprobs() != null), options);
                })
                .onFailure(e -> OpenAiError.of(e).send(ctx));
    }

    /** The parsed body, or null once a 400 has answered a body the API refuses. */
    private static <T> T parsed(RoutingContext ctx, Function<Buffer, T> parser) {
        try {
            return parser.apply(ctx.body().buffer());
        } catch (RuntimeException e) {
            OpenAiError.of(e).send(ctx);
            return null;
        }
    }

    private record Rendered(ModelEndpoint endpoint, ChatTemplates.ChatPrompt prompt) {
    }

    private void run(RoutingContext ctx, String model, List<ChoiceCalls.Choice> choices, ResponseFormat format, SamplingOptions options) {
        ChoiceCalls.run(calls, ctx, model, choices,
                Responders.of(ctx, format, model, choices.size(), options.n(), options.stream(), options.includeUsage()));
    }

    /** The endpoint if the caller may see it: another tenant's private endpoint does not exist for it. */
    private Future<ModelEndpoint> endpoint(RoutingContext ctx, String model) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        return Future.fromCompletionStage(registry.getAsync(model), ctx.vertx().getOrCreateContext())
                .map(found -> found.filter(e -> e.isVisibleTo(tenant))
                        .orElseThrow(() -> OpenAiError.modelNotFound("The model '" + model + "' does not exist.").exception()));
    }

    /** GET /v1/models: every endpoint as an OpenAI model object. */
    public void listModels(RoutingContext ctx) {
        ctx.vertx().executeBlocking(registry::list).onComplete(ar -> {
            if (ar.failed()) {
                new OpenAiError(503, "registry unavailable: " + ar.cause().getMessage(), null, null).send(ctx);
                return;
            }
            String tenant = ApiKeyAuthHandler.tenant(ctx);
            JsonArray data = new JsonArray();
            ar.result().stream().filter(e -> e.isVisibleTo(tenant)).forEach(e -> data.add(model(e)));
            json(ctx, new JsonObject().put("object", "list").put("data", data));
        });
    }

    /** GET /v1/models/{model}. */
    public void getModel(RoutingContext ctx) {
        endpoint(ctx, ctx.pathParam("model"))
                .onSuccess(e -> json(ctx, model(e)))
                .onFailure(e -> OpenAiError.of(e).send(ctx));
    }

    private static JsonObject model(ModelEndpoint e) {
        return new JsonObject()
                .put("id", e.name())
                .put("object", "model")
                .put("created", e.createdAt() == null ? 0 : e.createdAt().getEpochSecond())
                .put("owned_by", e.ownerTenant() == null ? "weir" : e.ownerTenant())
                .put("root", e.modelName())
                .put("max_model_len", e.contextLength());
    }

    private static void json(RoutingContext ctx, JsonObject body) {
        ctx.response().putHeader("content-type", "application/json").end(body.encode());
    }
}
