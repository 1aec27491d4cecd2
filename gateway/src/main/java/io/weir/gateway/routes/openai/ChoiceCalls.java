package io.weir.gateway.routes.openai;

import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.registry.ApiKey;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.SamplingParams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the choices of one OpenAI request (n samples of each prompt) as independent completion calls and
 * merges their events by choice index. The first failure of any choice fails the request and abandons the
 * others; so does the client leaving. Everything happens on the request's Vert.x context.
 */
final class ChoiceCalls {

    /** One choice: its index in the response and what to ask the worker. */
    record Choice(int index, String prompt, Boolean addSpecialTokens, SamplingParams sampling) {
    }

    /** Receives the merged events. */
    interface Sink {
        /** A token event of a choice; a choice's events arrive in order, the last with {@code finished}. */
        void onToken(int choice, CompletionEvent event);

        /** The request failed (it is over: nothing follows). */
        void onFailure(OpenAiError error);

        /** Every choice has finished. */
        void onComplete();
    }

    private final CompletionCalls calls;
    private final RoutingContext ctx;
    private final Sink sink;
    private final List<CompletionCalls.Call> running = new ArrayList<>();
    private int unfinished;
    private boolean over;

    private ChoiceCalls(CompletionCalls calls, RoutingContext ctx, Sink sink) {
        this.calls = calls;
        this.ctx = ctx;
        this.sink = sink;
    }

    static void run(CompletionCalls calls, RoutingContext ctx, String model, List<Choice> choices, Sink sink) {
        new ChoiceCalls(calls, ctx, sink).start(model, choices);
    }

    private void start(String model, List<Choice> choices) {
        unfinished = choices.size();
        ctx.response().closeHandler(v -> end());
        ApiKey caller = ApiKeyAuthHandler.apiKey(ctx);
        for (Choice choice : choices) {
            calls.start(model, choice.prompt(), choice.addSpecialTokens(), choice.sampling(), caller, CompletionCalls.DEFAULT_TIMEOUT,
                            listener(choice.index()))
                    .onSuccess(call -> {
                        if (over) {
                            call.abandon();
                        } else {
                            running.add(call);
                        }
                    })
                    .onFailure(e -> fail(OpenAiError.of(e)));
        }
    }

    private CompletionCalls.Listener listener(int index) {
        return new CompletionCalls.Listener() {
            @Override
            public void onEvent(CompletionEvent event) {
                if (over) {
                    return;
                }
                if (event.isError()) {
                    int status = event.error().status();
                    fail(status == 404 ? OpenAiError.modelNotFound(event.error().message())
                            : new OpenAiError(status, event.error().message(), null, null));
                    return;
                }
                sink.onToken(index, event);
                if (event.finished() && --unfinished == 0) {
                    end();
                    sink.onComplete();
                }
            }

            @Override
            public void onTimeout(Duration timeout) {
                fail(new OpenAiError(504, "The request did not finish within " + timeout.toSeconds() + " s.", null, null));
            }
        };
    }

    private void fail(OpenAiError error) {
        if (!over) {
            end();
            sink.onFailure(error);
        }
    }

    /** Stops relaying every call (they ended, one failed, or the client went away). */
    private void end() {
        over = true;
        running.forEach(CompletionCalls.Call::abandon);
        running.clear();
    }
}
