package io.weir.gateway.chat;

import io.weir.registry.ChatTemplate;
import io.weir.registry.ModelEndpoint;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns chat messages into a model's prompt with the endpoint's chat template (its override, else the
 * checkpoint's as the worker published it, else {@link #DEFAULT_TEMPLATE}), compiling each endpoint's
 * template once.
 */
public final class ChatTemplates {
    /**
     * For models without a chat template: ChatML, which transformers used as {@code default_chat_template}
     * before default templates were removed. Base models (like stories260K) have never seen it, but it is
     * explicit and widely recognised.
     */
    public static final String DEFAULT_TEMPLATE = "{% for message in messages %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final ChatTemplateRenderer renderer = new ChatTemplateRenderer();
    private final Map<String, ChatTemplateRenderer.Compiled> byEndpoint = new ConcurrentHashMap<>();

    /**
     * What to render.
     *
     * @param messages             role/content maps as the template sees them (content already a string)
     * @param addGenerationPrompt  end with the header of an assistant turn
     * @param continueFinalMessage leave the last message open, for the model to continue it
     * @param kwargs               extra template variables (chat_template_kwargs)
     */
    public record ChatInput(List<Map<String, Object>> messages, boolean addGenerationPrompt, boolean continueFinalMessage,
                            Map<String, Object> kwargs) {
    }

    /** A rendered prompt; {@code startsWithBos} when the template wrote the BOS token itself. */
    public record ChatPrompt(String text, boolean startsWithBos) {
    }

    /**
     * Renders on the calling thread (templates are small programs: call it off the event loop).
     *
     * @throws NotLoadedException      before any worker has published the checkpoint's template
     * @throws ChatTemplateException   when the template fails or refuses the messages
     */
    public ChatPrompt render(ModelEndpoint endpoint, ChatInput input) {
        ChatTemplate published = endpoint.chatTemplate();
        String override = endpoint.chatTemplateOverride();
        boolean overridden = override != null && !override.isBlank();
        if (published == null && !overridden) {
            // Rendering with the default now could give the model a prompt format it was never trained on.
            throw new NotLoadedException("Model endpoint '" + endpoint.name()
                    + "' is still loading: its chat template is not known until a worker has loaded it. Retry shortly.");
        }
        String source = overridden ? override : published.template() != null ? published.template() : DEFAULT_TEMPLATE;
        ChatTemplateRenderer.Compiled compiled = byEndpoint.get(endpoint.name());
        if (compiled == null || !compiled.source().equals(source)) {
            compiled = renderer.compile(source);
            byEndpoint.put(endpoint.name(), compiled);
        }
        Map<String, Object> variables = new HashMap<>(input.kwargs());
        variables.put("messages", input.messages());
        variables.put("add_generation_prompt", input.addGenerationPrompt());
        String bos = published == null ? null : published.bosToken();
        String eos = published == null ? null : published.eosToken();
        if (bos != null) {
            variables.put("bos_token", bos);
        }
        if (eos != null) {
            variables.put("eos_token", eos);
        }
        String text = renderer.render(compiled, variables);
        if (input.continueFinalMessage() && !input.messages().isEmpty()) {
            text = cutAfterFinalMessage(text, String.valueOf(input.messages().getLast().get("content")));
        }
        return new ChatPrompt(text, bos != null && !bos.isEmpty() && text.startsWith(bos));
    }

    /** The endpoint's template is not known yet (HTTP 503: retry). */
    public static final class NotLoadedException extends RuntimeException {
        NotLoadedException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * transformers' continue_final_message: drop what the template wrote after the last message's text (its
     * end-of-turn token), trying the stripped text too since some templates trim messages.
     */
    private static String cutAfterFinalMessage(String rendered, String finalContent) {
        int at = rendered.lastIndexOf(finalContent);
        String found = finalContent;
        if (at < 0) {
            found = finalContent.strip();
            at = rendered.lastIndexOf(found);
        }
        if (at < 0) {
            throw new ChatTemplateException("continue_final_message: the final message does not appear in the rendered prompt", false);
        }
        return rendered.substring(0, at + found.length());
    }
}
