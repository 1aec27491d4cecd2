package io.weir.gateway.routes.openai;

import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.SseWriter;
import io.weir.infra.messages.CompletionEvent;

import java.util.ArrayList;
import java.util.List;

/** The two ways an OpenAI request is answered: one JSON object at the end, or a stream of chunks. */
final class Responders {
    private Responders() {
    }

    static ChoiceCalls.Sink of(RoutingContext ctx, ResponseFormat format, String model, int choices, int samplesPerPrompt,
                               boolean stream, boolean includeUsage) {
        ResponseFormat.Header header = ResponseFormat.Header.create(format.idPrefix(), model);
        List<ChoiceOutput> outputs = new ArrayList<>(choices);
        for (int i = 0; i < choices; i++) {
            outputs.add(new ChoiceOutput(i));
        }
        return stream ? new Streamed(ctx, format, header, outputs, samplesPerPrompt, includeUsage)
                : new Collected(ctx, format, header, outputs, samplesPerPrompt);
    }

    /** Collects every choice, then answers once. */
    private record Collected(RoutingContext ctx, ResponseFormat format, ResponseFormat.Header header, List<ChoiceOutput> outputs,
                             int samplesPerPrompt) implements ChoiceCalls.Sink {
        @Override
        public void onToken(int choice, CompletionEvent event) {
            outputs.get(choice).append(event);
        }

        @Override
        public void onFailure(OpenAiError error) {
            error.send(ctx);
        }

        @Override
        public void onComplete() {
            ctx.response().putHeader("content-type", "application/json")
                    .end(format.response(header, outputs, ResponseFormat.Usage.of(outputs, samplesPerPrompt)).encode());
        }
    }

    /**
     * Streams a chunk per token, then the usage chunk if asked, then {@code data: [DONE]}. The 200 and the
     * event stream begin with the first token, so a request refused before it (context too long...) still
     * gets a plain HTTP error; a failure after it is a last {@code data: {"error": ...}} event.
     */
    private static final class Streamed implements ChoiceCalls.Sink {
        private final RoutingContext ctx;
        private final ResponseFormat format;
        private final ResponseFormat.Header header;
        private final List<ChoiceOutput> outputs;
        private final int samplesPerPrompt;
        private final boolean includeUsage;
        private final SseWriter sse;

        Streamed(RoutingContext ctx, ResponseFormat format, ResponseFormat.Header header, List<ChoiceOutput> outputs,
                 int samplesPerPrompt, boolean includeUsage) {
            this.ctx = ctx;
            this.format = format;
            this.header = header;
            this.outputs = outputs;
            this.samplesPerPrompt = samplesPerPrompt;
            this.includeUsage = includeUsage;
            this.sse = new SseWriter(ctx.request(), ctx.vertx());
        }

        @Override
        public void onToken(int choice, CompletionEvent event) {
            if (!sse.isOpen()) {
                sse.open();
            }
            ChoiceOutput output = outputs.get(choice);
            var chunk = format.chunk(header, output, event, output.append(event));
            if (chunk != null) {
                sse.event(chunk.encode());
            }
        }

        @Override
        public void onFailure(OpenAiError error) {
            if (!sse.isOpen()) {
                error.send(ctx);
                return;
            }
            sse.event(error.json().encode());
            sse.end();
        }

        @Override
        public void onComplete() {
            if (includeUsage) {
                sse.event(format.usageChunk(header, ResponseFormat.Usage.of(outputs, samplesPerPrompt)).encode());
            }
            sse.event("[DONE]");
            sse.end();
        }
    }
}
