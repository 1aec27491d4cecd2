package io.weir.gateway.chat;

import io.weir.infra.json.Json;
import io.weir.registry.ChatTemplate;
import io.weir.registry.ModelEndpoint;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real Hugging Face chat templates rendered by Jinjava as transformers renders them with Jinja2. The templates
 * are the {@code chat_template} strings of the models' tokenizer_config.json files (Llama-2-chat, a ChatML
 * model such as OpenHermes-2.5, zephyr-7b-beta, Meta-Llama-3-Instruct, Mistral-7B-Instruct-v0.1, gemma-7b-it).
 * Every expected output was produced by Jinja2 3.1.6 configured as transformers' apply_chat_template configures
 * it (sandboxed, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, its tojson), with bos_token "&lt;s&gt;"
 * and eos_token "&lt;/s&gt;"; "RAISE:" marks a template's raise_exception.
 */
class ChatTemplateRendererTest {
    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
    static final String ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
    static final String GEMMA = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
    /** A template exercising what the templates above do not: namespace, tojson, Python string methods, loop filters. */
    static final String FEATURES = "{%- set ns = namespace(system='', turns=0) -%}\n{%- for message in messages -%}\n  {%- if message['role'] == 'system' -%}{%- set ns.system = message['content'] -%}{%- else -%}{%- set ns.turns = ns.turns + 1 -%}{%- endif -%}\n{%- endfor -%}\n{%- if tools is defined and tools -%}\nTools: {{ tools | tojson }}\nIndented: {{ tools[0] | tojson(indent=2) }}\n{% endif -%}\nSystem: {{ ns.system | default('none', true) }} ({{ ns.turns }} turns)\n{% for message in messages %}\n{% if message['role'] == 'system' %}\n{% continue %}\n{% elif message['content'] is string and message['content'].startswith('!') %}\n{{ message['role'].upper() }} shouts: {{ message['content'][1:].strip().title() }}\n{% elif message['content'].endswith(('?', '!')) %}\n{{ message['role'] | capitalize }} asks: {{ message['content'].split(' ') | length }} words, first {{ message['content'].split()[0].lower() }}\n{% else %}\n{{ message['role'] }}: {{ message['content'].replace('a', '4') }}{% if loop.last %} (last){% endif %}\n\n{% endif %}\n{% endfor %}\n{%- for key, value in extra.items() %}{{ key }}={{ value }};{% endfor %}\n{{- ' | '.join(messages | map(attribute='role')) }}";


    private static final List<Map<String, Object>> SYSTEM_CHAT = List.of(
            message("system", "You are a friendly bot."), message("user", " Hello! "),
            message("assistant", "Hi there. "), message("user", "Tell me a story."));
    private static final List<Map<String, Object>> CHAT = SYSTEM_CHAT.subList(1, 4);
    private static final List<Map<String, Object>> ASSISTANT_FIRST = List.of(message("assistant", "x"));

    private final ChatTemplateRenderer renderer = new ChatTemplateRenderer();

    private static Map<String, Object> message(String role, String content) {
        return Map.of("role", role, "content", content);
    }

    private record Case(String template, String source, List<Map<String, Object>> messages, boolean addGenerationPrompt,
                        String expected) {
    }

    private String render(String source, List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> more) {
        Map<String, Object> variables = new HashMap<>(more);
        variables.put("messages", messages);
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.put("bos_token", "<s>");
        variables.put("eos_token", "</s>");
        return renderer.render(renderer.compile(source), variables);
    }

    @TestFactory
    Stream<DynamicTest> realTemplatesRenderAsJinja2Does() {
        List<Case> cases = List.of(
                new Case("LLAMA2", LLAMA2, SYSTEM_CHAT, true, "<s>[INST] <<SYS>>\nYou are a friendly bot.\n<</SYS>>\n\n Hello! [/INST] Hi there. </s><s>[INST] Tell me a story. [/INST]"),
                new Case("LLAMA2", LLAMA2, CHAT, true, "<s>[INST] Hello! [/INST] Hi there. </s><s>[INST] Tell me a story. [/INST]"),
                new Case("LLAMA2", LLAMA2, CHAT, false, "<s>[INST] Hello! [/INST] Hi there. </s><s>[INST] Tell me a story. [/INST]"),
                new Case("LLAMA2", LLAMA2, ASSISTANT_FIRST, true, "RAISE:Conversation roles must alternate user/assistant/user/assistant/..."),
                new Case("CHATML", CHATML, SYSTEM_CHAT, true, "<|im_start|>system\nYou are a friendly bot.<|im_end|>\n<|im_start|>user\n Hello! <|im_end|>\n<|im_start|>assistant\nHi there. <|im_end|>\n<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n"),
                new Case("CHATML", CHATML, CHAT, true, "<|im_start|>user\n Hello! <|im_end|>\n<|im_start|>assistant\nHi there. <|im_end|>\n<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n"),
                new Case("CHATML", CHATML, CHAT, false, "<|im_start|>user\n Hello! <|im_end|>\n<|im_start|>assistant\nHi there. <|im_end|>\n<|im_start|>user\nTell me a story.<|im_end|>\n"),
                new Case("CHATML", CHATML, ASSISTANT_FIRST, true, "<|im_start|>assistant\nx<|im_end|>\n<|im_start|>assistant\n"),
                new Case("ZEPHYR", ZEPHYR, SYSTEM_CHAT, true, "<|system|>\nYou are a friendly bot.</s>\n<|user|>\n Hello! </s>\n<|assistant|>\nHi there. </s>\n<|user|>\nTell me a story.</s>\n<|assistant|>\n"),
                new Case("ZEPHYR", ZEPHYR, CHAT, true, "<|user|>\n Hello! </s>\n<|assistant|>\nHi there. </s>\n<|user|>\nTell me a story.</s>\n<|assistant|>\n"),
                new Case("ZEPHYR", ZEPHYR, CHAT, false, "<|user|>\n Hello! </s>\n<|assistant|>\nHi there. </s>\n<|user|>\nTell me a story.</s>\n"),
                new Case("ZEPHYR", ZEPHYR, ASSISTANT_FIRST, true, "<|assistant|>\nx</s>\n<|assistant|>\n"),
                new Case("LLAMA3", LLAMA3, SYSTEM_CHAT, true, "<s><|start_header_id|>system<|end_header_id|>\n\nYou are a friendly bot.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a story.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
                new Case("LLAMA3", LLAMA3, CHAT, true, "<s><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a story.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
                new Case("LLAMA3", LLAMA3, CHAT, false, "<s><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a story.<|eot_id|>"),
                new Case("LLAMA3", LLAMA3, ASSISTANT_FIRST, true, "<s><|start_header_id|>assistant<|end_header_id|>\n\nx<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
                new Case("MISTRAL", MISTRAL, SYSTEM_CHAT, true, "RAISE:Conversation roles must alternate user/assistant/user/assistant/..."),
                new Case("MISTRAL", MISTRAL, CHAT, true, "<s>[INST]  Hello!  [/INST]Hi there. </s> [INST] Tell me a story. [/INST]"),
                new Case("MISTRAL", MISTRAL, CHAT, false, "<s>[INST]  Hello!  [/INST]Hi there. </s> [INST] Tell me a story. [/INST]"),
                new Case("MISTRAL", MISTRAL, ASSISTANT_FIRST, true, "RAISE:Conversation roles must alternate user/assistant/user/assistant/..."),
                new Case("GEMMA", GEMMA, SYSTEM_CHAT, true, "RAISE:System role not supported"),
                new Case("GEMMA", GEMMA, CHAT, true, "<s><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nHi there.<end_of_turn>\n<start_of_turn>user\nTell me a story.<end_of_turn>\n<start_of_turn>model\n"),
                new Case("GEMMA", GEMMA, CHAT, false, "<s><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nHi there.<end_of_turn>\n<start_of_turn>user\nTell me a story.<end_of_turn>\n"),
                new Case("GEMMA", GEMMA, ASSISTANT_FIRST, true, "RAISE:Conversation roles must alternate user/assistant/user/assistant/...")
        );
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.template() + " " + c.messages().size() + " messages, generation prompt "
                + c.addGenerationPrompt(), () -> {
            if (c.expected().startsWith("RAISE:")) {
                ChatTemplateException e = assertThrows(ChatTemplateException.class,
                        () -> render(c.source(), c.messages(), c.addGenerationPrompt(), Map.of()));
                assertTrue(e.raisedByTemplate());
                assertEquals(c.expected().substring("RAISE:".length()), e.getMessage());
            } else {
                assertEquals(c.expected(), render(c.source(), c.messages(), c.addGenerationPrompt(), Map.of()));
            }
        }));
    }

    @Test
    void namespacesToJsonStringMethodsAndLoopFiltersWorkAsInJinja2() throws Exception {
        List<Map<String, Object>> messages = List.of(message("system", "Be brief."), message("user", "!hello  world "),
                message("assistant", "What a day?"), message("user", "a banana"));
        Object tools = Json.MAPPER.readValue("""
                [{"type":"function","function":{"name":"get_weather","description":"Weather in a city, \\"quoted\\" and ünïcode",
                  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""", List.class);
        Map<String, Object> extra = new java.util.LinkedHashMap<>();
        extra.put("a", 1);
        extra.put("b", "x");
        String expected = "Tools: [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather in a city, \\\"quoted\\\" and \u00fcn\u00efcode\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]\nIndented: {\n  \"type\": \"function\",\n  \"function\": {\n    \"name\": \"get_weather\",\n    \"description\": \"Weather in a city, \\\"quoted\\\" and \u00fcn\u00efcode\",\n    \"parameters\": {\n      \"type\": \"object\",\n      \"properties\": {\n        \"city\": {\n          \"type\": \"string\"\n        }\n      },\n      \"required\": [\n        \"city\"\n      ]\n    }\n  }\n}\nSystem: Be brief. (3 turns)\nUSER shouts: Hello  World\nAssistant asks: 3 words, first what\nuser: 4 b4n4n4 (last)\na=1;b=x;system | user | assistant | user";
        assertEquals(expected, render(FEATURES, messages, true, Map.of("tools", tools, "extra", extra)));
    }

    @Test
    void strftimeNowPrintsTodayAsPythonWould() {
        String today = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("dd MMM yyyy", Locale.US));
        String rendered = render("Today Date: {{ strftime_now('%d %b %Y') }}", CHAT, true, Map.of());
        // Rendering may straddle midnight: accept the date just after too.
        String tomorrow = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("dd MMM yyyy", Locale.US));
        assertTrue(rendered.equals("Today Date: " + today) || rendered.equals("Today Date: " + tomorrow), rendered);
        assertEquals("2024-07-05 09:03:01 AM Fri", TemplateFunctions.strftime(
                ZonedDateTime.parse("2024-07-05T09:03:01Z"), "%Y-%m-%d %H:%M:%S %p %a"));
    }

    @Test
    void aTemplateThatDoesNotParseFailsAtCompileTime() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> renderer.compile("{% for m in messages %}{{ m }"));
        assertFalse(e.raisedByTemplate());
        assertTrue(e.getMessage().startsWith("the chat template does not parse"), e.getMessage());
    }

    @Test
    void loopFiltersAreRefusedRatherThanIgnored() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> renderer.compile("{% for m in messages if m['role'] != 'system' %}{{ m['content'] }}{% endfor %}"));
        assertTrue(e.getMessage().contains("loop filter"), e.getMessage());
        assertEquals("b", render("{% for m in (messages if true else []) %}{{ m['content'] }}{% endfor %}",
                List.of(message("user", "b")), true, Map.of()), "a conditional expression is not a loop filter");
    }

    private static ModelEndpoint endpoint(String template, String override) {
        return ModelEndpoint.local("m", "/m", "admin", Instant.EPOCH, 1).withChatTemplate(new ChatTemplate(template, "<s>", "</s>"))
                .withChatTemplateOverride(override);
    }

    @Test
    void endpointsWithoutATemplateGetChatMlAndAnOverrideWins() {
        ChatTemplates templates = new ChatTemplates();
        ChatTemplates.ChatInput input = new ChatTemplates.ChatInput(CHAT, true, false, Map.of());
        ChatTemplates.ChatPrompt none = templates.render(endpoint(null, null), input);
        assertEquals(render(CHATML, CHAT, true, Map.of()), none.text(), "the default is ChatML");
        assertFalse(none.startsWithBos());
        ChatTemplates.ChatPrompt llama = templates.render(endpoint(LLAMA2, null), input);
        assertEquals(render(LLAMA2, CHAT, true, Map.of()), llama.text());
        assertTrue(llama.startsWithBos(), "Llama-2's template writes BOS itself");
        assertEquals(render(ZEPHYR, CHAT, true, Map.of()), templates.render(endpoint(LLAMA2, ZEPHYR), input).text(),
                "chat_template_override wins over the checkpoint's template");
        ModelEndpoint notLoaded = ModelEndpoint.local("m", "/m", "admin", Instant.EPOCH, 1);
        assertThrows(ChatTemplates.NotLoadedException.class, () -> templates.render(notLoaded, input),
                "before a worker published the checkpoint's template, the default would be a guess");
        assertEquals(render(CHATML, CHAT, true, Map.of()), templates.render(notLoaded.withChatTemplateOverride(CHATML), input).text(),
                "an override needs nothing from the worker");
    }

    @Test
    void chatTemplateKwargsAreVariablesAndContinueFinalMessageLeavesTheTurnOpen() {
        ChatTemplates templates = new ChatTemplates();
        String thinking = "{% if enable_thinking %}<think>{% endif %}{{ messages[-1]['content'] }}";
        assertEquals("<think>Hi", templates.render(endpoint(thinking, null), new ChatTemplates.ChatInput(
                List.of(message("user", "Hi")), true, false, Map.of("enable_thinking", true))).text());
        List<Map<String, Object>> partial = List.of(message("user", "Tell me a story."), message("assistant", "Once upon a"));
        assertEquals("<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\nOnce upon a",
                templates.render(endpoint(CHATML, null), new ChatTemplates.ChatInput(partial, false, true, Map.of())).text());
    }
}
