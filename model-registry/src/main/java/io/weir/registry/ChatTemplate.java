package io.weir.registry;

/**
 * What a loaded checkpoint says about chat formatting, published by the worker that loaded it: gateways
 * render chat prompts from it and may run where the checkpoint files are not.
 *
 * @param template the checkpoint's Jinja chat template, or null when it has none
 * @param bosToken the tokenizer's BOS token text (a template variable), or null
 * @param eosToken the tokenizer's EOS token text, or null
 */
public record ChatTemplate(String template, String bosToken, String eosToken) {
}
