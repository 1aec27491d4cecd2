package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI-compatible API end to end, with the official OpenAI Java SDK as the client (and raw HTTP where
 * the wire itself is the point), on the real stories260K checkpoint: completions checked against the golden
 * greedy outputs, streams against sync answers, chat prompts against the template rendered by hand. A second
 * endpoint serves the same checkpoint with a Hugging Face-style chat template in its tokenizer_config.json.
 * Subclasses choose the Kafka broker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OpenAiApiContract {
    /** stories260K again, with a chat template that writes BOS itself and refuses unknown roles. */
    static final String CHAT_MODEL = "stories260K-chat";
    static final String CHAT_TEMPLATE = """
            {{ bos_token }}{% for message in messages %}
            {% if message['role'] not in ['system', 'user', 'assistant'] %}
            {{ raise_exception('Unknown role: ' + message['role'] + '. This model knows system, user and assistant.') }}
            {% endif %}
            {{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token }}
            {% endfor %}
            {% if add_generation_prompt %}
            {{ '<|assistant|>' }}
            {% endif %}
            """;
    private static final String AUTH = "authorization";

    private TestStack stack;
    private HttpTestClient http;
    private OpenAIClient openai;
    private List<JsonNode> golden;

    /** The bootstrap servers of the broker the stack runs on. */
    abstract String bootstrapServers();

    @BeforeAll
    void startStack(@TempDir Path chatModel) throws Exception {
        Path model = TestModels.require(TestStack.MODEL);
        golden = new ArrayList<>();
        Json.MAPPER.readTree(model.resolve("golden.json").toFile()).get("cases").forEach(golden::add);
        for (String file : List.of("config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json")) {
            Files.copy(model.resolve(file), chatModel.resolve(file));
        }
        ObjectNode tokenizerConfig = (ObjectNode) Json.MAPPER.readTree(model.resolve("tokenizer_config.json").toFile());
        tokenizerConfig.put("chat_template", CHAT_TEMPLATE);
        Json.MAPPER.writeValue(chatModel.resolve("tokenizer_config.json").toFile(), tokenizerConfig);

        stack = TestStack.start(bootstrapServers(), Map.of(CHAT_MODEL, chatModel));
        http = new HttpTestClient(stack.baseUrl);
        openai = OpenAIOkHttpClient.builder().baseUrl(stack.baseUrl + "/v2").apiKey(TestStack.KEY)
                .maxRetries(0).timeout(Duration.ofSeconds(120)).build();
    }

    @AfterAll
    void stopStack() {
        if (openai != null) {
            openai.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private static CompletionCreateParams.Builder completion(String model, String prompt, long maxTokens) {
        return CompletionCreateParams.builder().model(model).prompt(prompt).maxTokens(maxTokens).temperature(0.0);
    }

    private Completion complete(CompletionCreateParams params) {
        Completion c = openai.completions().create(params);
        c.validate(); // every field the SDK's schema requires is there, with the right types
        return c;
    }

    private String streamedText(CompletionCreateParams params, Consumer<Completion> eachChunk) {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<Completion> stream = openai.completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                // (No validate(): the SDK reuses Completion for chunks, whose finish_reason is null until the last.)
                eachChunk.accept(chunk);
                chunk.choices().forEach(c -> text.append(c.text()));
            });
        }
        return text.toString();
    }

    private static ChatCompletionCreateParams.Builder chat(String model, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(model).maxCompletionTokens(maxTokens).temperature(0.0);
    }

    private ChatCompletion chatComplete(ChatCompletionCreateParams params) {
        ChatCompletion c = openai.chat().completions().create(params);
        c.validate();
        return c;
    }

    private static String content(ChatCompletion c) {
        return c.choices().getFirst().message().content().orElseThrow();
    }

    private HttpTestClient.Response post(String path, String body) {
        return http.post(path, body, AUTH, "Bearer " + TestStack.KEY);
    }

    private static String json(Map<String, ?> body) {
        return Json.toString(body);
    }

    /** The error object of a failed call, checked to have OpenAI's shape. */
    private static JsonNode error(HttpTestClient.Response r, int status) {
        assertEquals(status, r.status(), r.body());
        JsonNode error = r.json().get("error");
        assertTrue(error != null && error.get("message").isTextual() && error.has("type") && error.has("param") && error.has("code"),
                "OpenAI error shape: " + r.body());
        return error;
    }

    // ---- completions ---------------------------------------------------------------------------------------

    @TestFactory
    Stream<DynamicTest> completionsMatchTheGoldenGreedyOutput() {
        return golden.stream().map(g -> DynamicTest.dynamicTest(g.get("id").asText() + " " + g.get("prompt").asText(), () -> {
            Completion c = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 32).build());
            assertTrue(c.id().startsWith("cmpl-"), c.id());
            assertEquals(TestStack.MODEL, c.model());
            assertEquals(1, c.choices().size());
            CompletionChoice choice = c.choices().getFirst();
            assertEquals(g.get("completion_text").asText(), choice.text());
            assertEquals(CompletionChoice.FinishReason.LENGTH, choice.finishReason());
            assertTrue(choice.logprobs().isEmpty(), "no log-probabilities unless asked");
            var usage = c.usage().orElseThrow();
            assertEquals(g.get("prompt_token_ids").size(), usage.promptTokens());
            assertEquals(32, usage.completionTokens());
            assertEquals(usage.promptTokens() + 32, usage.totalTokens());
        }));
    }

    @Test
    void theV1AliasesServeTheSameApi() {
        JsonNode g = golden.getFirst();
        HttpTestClient.Response r = post("/v1/completions", json(Map.of("model", TestStack.MODEL, "prompt", g.get("prompt").asText(),
                "max_tokens", 32, "temperature", 0)));
        assertEquals(200, r.status(), r.body());
        assertEquals("text_completion", r.json().get("object").asText());
        assertEquals(g.get("completion_text").asText(), r.json().get("choices").get(0).get("text").asText());
        assertEquals(200, http.get("/v1/models", AUTH, "Bearer " + TestStack.KEY).status());
    }

    @Test
    void aStreamedCompletionEqualsTheSyncOneAndEndsWithAFinishReason() {
        JsonNode g = golden.get(3);
        List<CompletionChoice> choices = new ArrayList<>();
        String text = streamedText(completion(TestStack.MODEL, g.get("prompt").asText(), 32).build(), chunk -> {
            assertEquals("text_completion", chunk._object_().asString().orElseThrow());
            choices.addAll(chunk.choices());
        });
        assertEquals(g.get("completion_text").asText(), text);
        assertTrue(choices.size() > 1, "one chunk per token");
        for (int i = 0; i < choices.size() - 1; i++) {
            assertTrue(choices.get(i)._finishReason().isNull(), "finish_reason only on the last chunk");
        }
        assertEquals(CompletionChoice.FinishReason.LENGTH, choices.getLast().finishReason());
    }

    @Test
    void theRawStreamEndsWithUsageThenDone() {
        JsonNode g = golden.getFirst();
        HttpTestClient.Stream s = http.stream("/v2/completions", json(Map.of("model", TestStack.MODEL, "prompt", g.get("prompt").asText(),
                "max_tokens", 32, "temperature", 0, "stream", true, "stream_options", Map.of("include_usage", true))),
                AUTH, "Bearer " + TestStack.KEY);
        assertEquals(200, s.status(), s.raw());
        assertEquals("text/event-stream; charset=utf-8", s.headers().firstValue("content-type").orElse(""));
        List<String> data = s.dataLines();
        assertEquals("[DONE]", data.getLast(), "the stream ends with [DONE]");
        List<JsonNode> chunks = data.subList(0, data.size() - 1).stream().map(l -> new HttpTestClient.Response(200, l).json()).toList();
        JsonNode usageChunk = chunks.getLast();
        assertEquals(0, usageChunk.get("choices").size(), "the usage chunk has no choices");
        assertEquals(g.get("prompt_token_ids").size(), usageChunk.get("usage").get("prompt_tokens").asInt());
        assertEquals(32, usageChunk.get("usage").get("completion_tokens").asInt());
        StringBuilder text = new StringBuilder();
        List<JsonNode> content = chunks.subList(0, chunks.size() - 1);
        for (int i = 0; i < content.size(); i++) {
            JsonNode choice = content.get(i).get("choices").get(0);
            text.append(choice.get("text").asText());
            assertFalse(content.get(i).has("usage"), "usage only in the last chunk");
            assertEquals(i == content.size() - 1 ? "length" : null, choice.get("finish_reason").isNull() ? null : choice.get("finish_reason").asText());
        }
        assertEquals(g.get("completion_text").asText(), text.toString());

        HttpTestClient.Stream plain = http.stream("/v2/completions", json(Map.of("model", TestStack.MODEL, "prompt", g.get("prompt").asText(),
                "max_tokens", 4, "temperature", 0, "stream", true)), AUTH, "Bearer " + TestStack.KEY);
        assertEquals("[DONE]", plain.dataLines().getLast());
        assertFalse(plain.raw().contains("\"usage\""), "no usage chunk unless asked");
    }

    @Test
    void aStopStringCutsTheTextThereAndFinishesWithStop() {
        JsonNode g = golden.getFirst(); // ", there was a little girl named Lily. She loved to play ..."
        String full = g.get("completion_text").asText();
        Completion stopped = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 32).stop("Lily").build());
        assertEquals(full.substring(0, full.indexOf("Lily")), stopped.choices().getFirst().text());
        assertEquals(CompletionChoice.FinishReason.STOP, stopped.choices().getFirst().finishReason());
        assertTrue(stopped.usage().orElseThrow().completionTokens() < 32);

        Completion stops = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 32)
                .stop(CompletionCreateParams.Stop.ofStrings(List.of("park", "girl"))).build());
        assertEquals(full.substring(0, full.indexOf("girl")), stops.choices().getFirst().text(), "the first stop string to appear wins");

        Completion streamedStop = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 32).stop("Lily")
                .putAdditionalBodyProperty("include_stop_str_in_output", JsonValue.from(true)).build());
        assertEquals(full.substring(0, full.indexOf("Lily") + 4), streamedStop.choices().getFirst().text(), "vLLM's include_stop_str_in_output");
    }

    @Test
    void logprobsFiveGiveTheGoldenFirstTokenTopFive() {
        JsonNode g = golden.get(2);
        JsonNode top5 = g.get("first_token_top5");
        HttpTestClient.Response r = post("/v2/completions", json(Map.of("model", TestStack.MODEL, "prompt", g.get("prompt").asText(),
                "max_tokens", 32, "temperature", 0, "logprobs", 5)));
        assertEquals(200, r.status(), r.body());
        JsonNode logprobs = r.json().get("choices").get(0).get("logprobs");
        assertEquals(32, logprobs.get("tokens").size());
        assertEquals(32, logprobs.get("token_logprobs").size());
        assertEquals(top5.get(0).get("token").asText(), logprobs.get("tokens").get(0).asText());
        assertEquals(top5.get(0).get("logprob").asDouble(), logprobs.get("token_logprobs").get(0).asDouble(), 1e-4);
        JsonNode first = logprobs.get("top_logprobs").get(0);
        assertEquals(5, first.size(), first.toString());
        for (JsonNode expected : top5) {
            assertTrue(first.has(expected.get("token").asText()), "golden alternative " + expected + " in " + first);
            assertEquals(expected.get("logprob").asDouble(), first.get(expected.get("token").asText()).asDouble(), 1e-4);
        }
        JsonNode offsets = logprobs.get("text_offset");
        assertEquals(0, offsets.get(0).asInt());
        String text = r.json().get("choices").get(0).get("text").asText();
        for (int i = 1; i < offsets.size(); i++) {
            assertTrue(offsets.get(i).asInt() >= offsets.get(i - 1).asInt() && offsets.get(i).asInt() <= text.length());
        }
        // The SDK reads the same object.
        Completion viaSdk = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 4).logprobs(5).build());
        CompletionChoice.Logprobs sdkLogprobs = viaSdk.choices().getFirst().logprobs().orElseThrow();
        assertEquals(top5.get(0).get("logprob").asDouble(), sdkLogprobs.tokenLogprobs().orElseThrow().getFirst(), 1e-4);
        assertEquals(5, sdkLogprobs.topLogprobs().orElseThrow().getFirst()._additionalProperties().size());
    }

    @Test
    void nSeededSamplesAreDistinctAndReproducible() {
        JsonNode g = golden.get(4);
        CompletionCreateParams params = completion(TestStack.MODEL, g.get("prompt").asText(), 16).temperature(1.0).n(3).seed(1234).build();
        Completion first = complete(params);
        assertEquals(3, first.choices().size());
        List<String> texts = first.choices().stream().map(CompletionChoice::text).toList();
        assertEquals(List.of(0L, 1L, 2L), first.choices().stream().map(CompletionChoice::index).toList());
        assertTrue(new HashSet<>(texts).size() > 1, "samples with their own seeds differ: " + texts);
        assertEquals(48, first.usage().orElseThrow().completionTokens());
        assertEquals(g.get("prompt_token_ids").size(), first.usage().orElseThrow().promptTokens(), "the prompt counts once");
        assertEquals(texts, complete(params).choices().stream().map(CompletionChoice::text).toList(), "the same seed gives the same samples");
        Completion single = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 16).temperature(1.0).seed(1234).build());
        assertEquals(texts.getFirst(), single.choices().getFirst().text(), "sample 0 uses the request's seed itself");
        Completion otherSeed = complete(completion(TestStack.MODEL, g.get("prompt").asText(), 16).temperature(1.0).n(3).seed(99).build());
        assertNotEquals(texts, otherSeed.choices().stream().map(CompletionChoice::text).toList());
    }

    @Test
    void aListOfPromptsGivesNChoicesPerPromptInOrder() {
        JsonNode a = golden.get(0);
        JsonNode b = golden.get(2);
        Completion c = complete(CompletionCreateParams.builder().model(TestStack.MODEL)
                .prompt(CompletionCreateParams.Prompt.ofArrayOfStrings(List.of(a.get("prompt").asText(), b.get("prompt").asText())))
                .maxTokens(32).temperature(0.0).n(2).build());
        assertEquals(4, c.choices().size());
        for (CompletionChoice choice : c.choices()) {
            JsonNode expected = choice.index() < 2 ? a : b;
            assertEquals(expected.get("completion_text").asText(), choice.text(), "choice " + choice.index());
        }
        assertEquals(a.get("prompt_token_ids").size() + b.get("prompt_token_ids").size(), c.usage().orElseThrow().promptTokens());
        assertEquals(4 * 32, c.usage().orElseThrow().completionTokens());
    }

    // ---- chat ----------------------------------------------------------------------------------------------

    @Test
    void chatWithoutATemplateUsesChatMlAsTheDefault() {
        String rendered = "<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nOnce upon a time<|im_end|>\n<|im_start|>assistant\n";
        Completion byHand = complete(completion(TestStack.MODEL, rendered, 24).build());
        ChatCompletion chat = chatComplete(chat(TestStack.MODEL, 24).addSystemMessage("You tell stories.").addUserMessage("Once upon a time").build());
        assertTrue(chat.id().startsWith("chatcmpl-"));
        assertEquals(byHand.choices().getFirst().text(), content(chat));
        assertFalse(content(chat).isEmpty());
        assertEquals(byHand.usage().orElseThrow().promptTokens(), chat.usage().orElseThrow().promptTokens());
        assertEquals(byHand.choices().getFirst().finishReason().asString(), chat.choices().getFirst().finishReason().asString());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, chat.choices().getFirst().finishReason());
    }

    @Test
    void chatRendersTheCheckpointsTemplateWhichWritesBosItself() {
        String rendered = "<s><|system|>\nYou tell stories.</s>\n<|user|>\nOnce upon a time</s>\n<|assistant|>\n";
        Completion byHand = complete(completion(CHAT_MODEL, rendered, 24)
                .putAdditionalBodyProperty("add_special_tokens", JsonValue.from(false)).build());
        ChatCompletion chat = chatComplete(chat(CHAT_MODEL, 24).addSystemMessage("You tell stories.").addUserMessage("Once upon a time").build());
        assertEquals(byHand.choices().getFirst().text(), content(chat));
        assertFalse(content(chat).isEmpty());
        assertEquals(byHand.usage().orElseThrow().promptTokens(), chat.usage().orElseThrow().promptTokens(),
                "the tokenizer added no second BOS");
        Completion doubleBos = complete(completion(CHAT_MODEL, rendered, 1).build());
        assertEquals(chat.usage().orElseThrow().promptTokens() + 1, doubleBos.usage().orElseThrow().promptTokens(),
                "(the same prompt with the tokenizer's BOS has one token more)");

        // Content parts are text joined by newlines.
        HttpTestClient.Response parts = post("/v2/chat/completions", json(Map.of("model", CHAT_MODEL, "max_tokens", 24, "temperature", 0,
                "messages", List.of(Map.of("role", "system", "content", "You tell stories."),
                        Map.of("role", "user", "content", List.of(Map.of("type", "text", "text", "Once upon a time")))))));
        assertEquals(200, parts.status(), parts.body());
        assertEquals(content(chat), parts.json().get("choices").get(0).get("message").get("content").asText());
    }

    @Test
    void aStreamedChatEqualsTheSyncOneAndItsFirstDeltaCarriesTheRole() {
        ChatCompletionCreateParams params = chat(CHAT_MODEL, 24).addUserMessage("Lily and Ben were playing in the park").build();
        String sync = content(chatComplete(params));
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(params.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunk.validate();
                chunks.add(chunk);
                chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
            });
        }
        assertEquals(sync, text.toString());
        assertEquals(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT, chunks.getFirst().choices().getFirst().delta().role().orElseThrow());
        assertTrue(chunks.get(1).choices().getFirst().delta().role().isEmpty(), "the role comes once");
        ChatCompletionChunk usage = chunks.getLast();
        assertTrue(usage.choices().isEmpty());
        assertEquals(24, usage.usage().orElseThrow().completionTokens());
        ChatCompletionChunk last = chunks.get(chunks.size() - 2);
        assertEquals(ChatCompletionChunk.Choice.FinishReason.LENGTH, last.choices().getFirst().finishReason().orElseThrow());
    }

    @Test
    void chatLogprobsAndSeededSamples() {
        ChatCompletion c = chatComplete(chat(TestStack.MODEL, 8).addUserMessage("Once upon a time").logprobs(true).topLogprobs(3).build());
        List<ChatCompletionTokenLogprob> tokens = c.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertEquals(8, tokens.size());
        for (ChatCompletionTokenLogprob t : tokens) {
            assertEquals(3, t.topLogprobs().size());
            assertEquals(t.topLogprobs().getFirst().token(), t.token(), "greedy picks the most likely token");
            assertEquals(t.topLogprobs().getFirst().logprob(), t.logprob(), 1e-9);
            assertTrue(t.logprob() <= 0);
        }
        ChatCompletionCreateParams sampled = chat(TestStack.MODEL, 12).addUserMessage("Once upon a time").temperature(1.0).n(2).seed(7).build();
        List<String> texts = chatComplete(sampled).choices().stream().map(ch -> ch.message().content().orElseThrow()).toList();
        assertEquals(2, texts.size());
        assertEquals(texts, chatComplete(sampled).choices().stream().map(ch -> ch.message().content().orElseThrow()).toList());
    }

    @Test
    void chatWithoutMaxTokensMayRunToTheEndOfTheContext() {
        ChatCompletion c = chatComplete(ChatCompletionCreateParams.builder().model(CHAT_MODEL).temperature(0.0)
                .addUserMessage("Once upon a time").build());
        var usage = c.usage().orElseThrow();
        assertTrue(usage.totalTokens() <= 512, "within the context: " + usage);
        ChatCompletion.Choice.FinishReason reason = c.choices().getFirst().finishReason();
        assertTrue(reason == ChatCompletion.Choice.FinishReason.STOP || usage.totalTokens() == 512,
                "ends at a stop token or exactly at the context: " + reason + " " + usage);
        assertTrue(usage.completionTokens() > 0);
    }

    @Test
    void aRoleTheTemplateRefusesIs400WithTheTemplatesMessage() {
        HttpTestClient.Response r = post("/v2/chat/completions", json(Map.of("model", CHAT_MODEL, "max_tokens", 4,
                "messages", List.of(Map.of("role", "narrator", "content", "It was dark.")))));
        JsonNode error = error(r, 400);
        assertEquals("Unknown role: narrator. This model knows system, user and assistant.", error.get("message").asText());
        assertEquals("invalid_request_error", error.get("type").asText());
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> openai.chat().completions().create(chat(CHAT_MODEL, 4).addDeveloperMessage("Be nice.").build()));
        assertTrue(e.getMessage().contains("Unknown role: developer"), e.getMessage());
    }

    // ---- models, errors ------------------------------------------------------------------------------------

    @Test
    void modelsAreTheRegistrysEndpoints() {
        List<String> ids = openai.models().list().data().stream().map(Model::id).toList();
        assertEquals(new HashSet<>(List.of(TestStack.MODEL, CHAT_MODEL)), new HashSet<>(ids));
        Model m = openai.models().retrieve(CHAT_MODEL);
        m.validate();
        assertEquals(CHAT_MODEL, m.id());
        assertThrows(NotFoundException.class, () -> openai.models().retrieve("no-such-model"));
    }

    @Test
    void anUnknownModelIs404() {
        NotFoundException completion = assertThrows(NotFoundException.class,
                () -> openai.completions().create(completion("no-such-model", "Once", 4).build()));
        assertEquals(404, completion.statusCode());
        assertEquals("model_not_found", completion.code().orElseThrow());
        assertThrows(NotFoundException.class, () -> openai.chat().completions().create(chat("no-such-model", 4).addUserMessage("Hi").build()));
        JsonNode error = error(post("/v2/chat/completions", json(Map.of("model", "no-such-model", "messages",
                List.of(Map.of("role", "user", "content", "Hi"))))), 404);
        assertEquals("model", error.get("param").asText());
        HttpTestClient.Stream stream = http.stream("/v2/completions", json(Map.of("model", "no-such-model", "prompt", "x", "stream", true)),
                AUTH, "Bearer " + TestStack.KEY);
        assertEquals(404, stream.status(), "a stream that fails before its first token is a plain HTTP error");
    }

    @TestFactory
    Stream<DynamicTest> badParametersAre400WithTheOpenAiErrorShape() {
        record Bad(String name, String path, Map<String, Object> body, String param) {
        }
        Map<String, Object> base = Map.of("model", TestStack.MODEL, "prompt", "Once", "max_tokens", 4);
        Map<String, Object> chatBase = Map.of("model", TestStack.MODEL, "messages", List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 4);
        List<Bad> cases = List.of(
                new Bad("temperature 3", "/v2/completions", with(base, "temperature", 3), "temperature"),
                new Bad("n 0", "/v2/completions", with(base, "n", 0), "n"),
                new Bad("n 129", "/v2/completions", with(base, "n", 129), "n"),
                new Bad("logprobs 9", "/v2/completions", with(base, "logprobs", 9), "logprobs"),
                new Bad("top_p 0", "/v2/completions", with(base, "top_p", 0), "top_p"),
                new Bad("presence_penalty -3", "/v2/completions", with(base, "presence_penalty", -3), "presence_penalty"),
                new Bad("five stop strings", "/v2/completions", with(base, "stop", List.of("a", "b", "c", "d", "e")), "stop"),
                new Bad("max_tokens 0", "/v2/completions", with(base, "max_tokens", 0), "max_tokens"),
                new Bad("temperature not a number", "/v2/completions", with(base, "temperature", "hot"), "temperature"),
                new Bad("no prompt", "/v2/completions", Map.of("model", TestStack.MODEL), "prompt"),
                new Bad("token-id prompt", "/v2/completions", with(base, "prompt", List.of(1, 403)), "prompt"),
                new Bad("echo", "/v2/completions", with(base, "echo", true), "echo"),
                new Bad("min_tokens", "/v2/completions", with(base, "min_tokens", 3), "min_tokens"),
                new Bad("ignore_eos", "/v2/completions", with(base, "ignore_eos", true), "ignore_eos"),
                new Bad("guided_json", "/v2/completions", with(base, "guided_json", Map.of("type", "object")), "guided_json"),
                new Bad("response_format json", "/v2/chat/completions", with(chatBase, "response_format", Map.of("type", "json_object")), "response_format"),
                new Bad("stream_options without stream", "/v2/completions", with(base, "stream_options", Map.of("include_usage", true)), "stream_options"),
                new Bad("top_logprobs 21", "/v2/chat/completions", with(with(chatBase, "logprobs", true), "top_logprobs", 21), "top_logprobs"),
                new Bad("top_logprobs without logprobs", "/v2/chat/completions", with(chatBase, "top_logprobs", 2), "top_logprobs"),
                new Bad("no messages", "/v2/chat/completions", with(chatBase, "messages", List.of()), "messages"),
                new Bad("an image part", "/v2/chat/completions", with(chatBase, "messages", List.of(Map.of("role", "user", "content",
                        List.of(Map.of("type", "image_url", "image_url", Map.of("url", "http://x/y.png")))))), "messages[0].content"),
                new Bad("tools", "/v2/chat/completions", with(chatBase, "tools", List.of(Map.of("type", "function",
                        "function", Map.of("name", "f")))), "tools"),
                new Bad("a request chat_template", "/v2/chat/completions", with(chatBase, "chat_template", "{{ 1 }}"), "chat_template"));
        return cases.stream().map(bad -> DynamicTest.dynamicTest(bad.name(), () -> {
            JsonNode error = error(post(bad.path(), json(bad.body())), 400);
            assertEquals("invalid_request_error", error.get("type").asText());
            assertEquals(bad.param(), error.get("param").asText(), error.toString());
            if (!bad.param().equals("stream_options")) {
                HttpTestClient.Stream streamed = http.stream(bad.path(), json(with(bad.body(), "stream", true)), AUTH, "Bearer " + TestStack.KEY);
                assertEquals(400, streamed.status(), "stream: " + streamed.raw());
            }
        }));
    }

    @Test
    void theSdkRaisesOnBadParametersAndTheServerKeepsServing() {
        JsonNode g = golden.getFirst();
        BadRequestException hot = assertThrows(BadRequestException.class,
                () -> openai.completions().create(completion(TestStack.MODEL, "Once", 4).temperature(3.0).build()));
        assertEquals("temperature", hot.param().orElseThrow());
        assertThrows(BadRequestException.class, () -> openai.completions().create(completion(TestStack.MODEL, "Once", 4).n(0).build()));
        assertThrows(BadRequestException.class, () -> openai.completions().create(completion(TestStack.MODEL, "Once", 4).logprobs(9).build()));
        OpenAIServiceException tooLong = assertThrows(BadRequestException.class,
                () -> openai.completions().create(completion(TestStack.MODEL, "Once upon a time", 600).build()));
        assertTrue(tooLong.getMessage().contains("maximum context length is 512"), tooLong.getMessage());
        assertThrows(BadRequestException.class, () -> streamedText(completion(TestStack.MODEL, "Once upon a time", 600).build(), c -> { }));
        assertEquals(g.get("completion_text").asText(), complete(completion(TestStack.MODEL, g.get("prompt").asText(), 32).build())
                .choices().getFirst().text());
    }

    @Test
    void aChoiceTheWorkerRefusesFailsTheWholeRequestInEitherShape() {
        // The second prompt overflows the context: the worker refuses it, perhaps after the first prompt's first
        // token went out. Before the first token that is a plain HTTP error; after, a last error event (no [DONE]).
        String tooLong = "Once upon a time ".repeat(150);
        HttpTestClient.Stream s = http.stream("/v2/completions", json(Map.of("model", TestStack.MODEL, "max_tokens", 32,
                "temperature", 0, "stream", true, "prompt", List.of(golden.getFirst().get("prompt").asText(), tooLong))),
                AUTH, "Bearer " + TestStack.KEY);
        if (s.status() == 200) {
            String last = s.dataLines().getLast();
            assertFalse(s.raw().contains("[DONE]"), s.raw());
            JsonNode error = new HttpTestClient.Response(200, last).json().get("error");
            assertTrue(error.get("message").asText().contains("maximum context length is 512"), last);
        } else {
            JsonNode error = error(new HttpTestClient.Response(s.status(), s.raw()), 400);
            assertTrue(error.get("message").asText().contains("maximum context length is 512"), s.raw());
        }
        BadRequestException sync = assertThrows(BadRequestException.class, () -> openai.completions().create(CompletionCreateParams.builder()
                .model(TestStack.MODEL).maxTokens(32).temperature(0.0)
                .prompt(CompletionCreateParams.Prompt.ofArrayOfStrings(List.of(golden.getFirst().get("prompt").asText(), tooLong))).build()));
        assertTrue(sync.getMessage().contains("maximum context length is 512"), sync.getMessage());
    }

    @Test
    void theOpenAiRoutesNeedAKey() {
        String body = json(Map.of("model", TestStack.MODEL, "prompt", "Once", "max_tokens", 2));
        assertEquals(401, http.post("/v2/completions", body).status());
        assertEquals(401, http.post("/v1/chat/completions", body).status());
        assertEquals(401, http.get("/v2/models").status());
        assertEquals(401, http.post("/v2/completions", body, AUTH, "Bearer wrong-key").status());
        assertEquals(200, http.post("/v2/completions", body, AUTH, "Bearer " + TestStack.KEY).status());
    }

    private static Map<String, Object> with(Map<String, Object> body, String field, Object value) {
        Map<String, Object> copy = new java.util.LinkedHashMap<>(body);
        copy.put(field, value);
        return copy;
    }
}
