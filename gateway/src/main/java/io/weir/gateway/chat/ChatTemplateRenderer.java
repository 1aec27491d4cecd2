package io.weir.gateway.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import jinjava.javax.el.CompositeELResolver;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders Hugging Face chat templates with Jinjava, set up the way transformers sets up Jinja2 for them:
 * {@code trim_blocks} and {@code lstrip_blocks}, {@code raise_exception}, {@code strftime_now}, Python's
 * {@code tojson}, Python string methods, and {@code {% generation %}}. Thread-safe: compiled templates
 * are shared, each render gets its own interpreter.
 */
public final class ChatTemplateRenderer {
    /** Largest prompt a template may produce (the gateway takes request bodies up to 16 MiB). */
    private static final long MAX_OUTPUT_CHARS = 32L * 1024 * 1024;

    /** Jinja2's behaviour where Jinjava keeps a legacy one of its own by default. */
    private static final LegacyOverrides JINJA2_SEMANTICS = LegacyOverrides.newBuilder()
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withAllowAdjacentTextNodes(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .withHandleBackslashInQuotesOnly(true)
            .build();

    private final Jinjava jinjava;

    /** A parsed template, reusable across renders and threads. */
    public record Compiled(String source, Node root) {
    }

    public ChatTemplateRenderer() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(false)
                .withLegacyOverrides(JINJA2_SEMANTICS)
                .withElResolver(resolver)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .build());
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class, "raiseException", String.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
        jinjava.registerFilter(new PythonJsonFilter());
        jinjava.registerTag(new GenerationTag());
    }

    /** A for tag with Jinja's loop filter ({@code for x in xs if cond}), which Jinjava does not implement. */
    private static final Pattern LOOP_FILTER = Pattern.compile("\\{%-?\\s*for\\s[^%]*?\\sin\\s[^%]*?\\sif\\s(?![^%]*\\selse\\s)[^%]*?-?%}");

    /** Parses a template once; a template that does not parse fails here, not on every request. */
    public Compiled compile(String source) {
        Matcher loopFilter = LOOP_FILTER.matcher(source);
        if (loopFilter.find()) {
            // Jinjava would silently ignore the filter and render a wrong prompt: refuse instead.
            throw new ChatTemplateException("the chat template uses a loop filter, which this server cannot render yet: "
                    + loopFilter.group(), false);
        }
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            Node root = interpreter.parse(source);
            fatal(interpreter.getErrors()).ifPresent(error -> {
                throw new ChatTemplateException("the chat template does not parse: " + describe(error), false);
            });
            return new Compiled(source, root);
        }
    }

    /**
     * Renders with these variables.
     *
     * @throws ChatTemplateException when the template raises ({@link ChatTemplateException#raisedByTemplate()})
     *                               or fails on the given input
     */
    public String render(Compiled template, Map<String, Object> variables) {
        JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, new Context(jinjava.getGlobalContext(), variables),
                jinjava.getGlobalConfig());
        try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            String output = interpreter.render(template.root());
            var error = fatal(interpreter.getErrors());
            if (error.isPresent()) {
                String raised = raisedMessage(error.get());
                throw raised != null ? new ChatTemplateException(raised, true)
                        : new ChatTemplateException("the chat template failed on these messages: " + describe(error.get()), false);
            }
            return output;
        }
    }

    private static java.util.Optional<TemplateError> fatal(List<TemplateError> errors) {
        // A template's raise_exception is reported first whatever else failed after it (rendering goes on).
        return errors.stream().filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .min(java.util.Comparator.comparing(e -> raisedMessage(e) == null));
    }

    private static String raisedMessage(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.TemplateRaisedException raised) {
                return raised.getMessage();
            }
        }
        return null;
    }

    private static String describe(TemplateError error) {
        String where = error.getLineno() > 0 ? " (line " + error.getLineno() + ")" : "";
        String detail = error.getFieldName() == null || error.getFieldName().isBlank() ? "" : " in '" + error.getFieldName() + "'";
        return error.getMessage() + detail + where;
    }
}
