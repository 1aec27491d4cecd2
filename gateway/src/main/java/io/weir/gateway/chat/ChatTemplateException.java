package io.weir.gateway.chat;

/** A chat template that cannot be compiled or rendered for a request; the message says why, for the user. */
public final class ChatTemplateException extends RuntimeException {
    private final boolean raisedByTemplate;

    ChatTemplateException(String message, boolean raisedByTemplate) {
        super(message, null, false, false);
        this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template itself refused the messages ({@code raise_exception}). */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
