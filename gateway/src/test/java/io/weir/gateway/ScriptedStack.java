package io.weir.gateway;

import io.weir.infra.testing.TestBrokers;

import java.nio.file.Files;
import java.util.List;

/**
 * The real gateway, registry and completion-service on the embedded broker, with the worker played by the test
 * ({@link ScriptedWorker}): calls run exactly as long as a test wants and get exactly the events it sends.
 */
final class ScriptedStack implements AutoCloseable {
    final TestStack stack;
    final HttpTestClient client;
    final ScriptedWorker worker;

    private ScriptedStack(TestStack stack, ScriptedWorker worker) {
        this.stack = stack;
        this.client = new HttpTestClient(stack.baseUrl);
        this.worker = worker;
    }

    /** Starts it with {@code flags} for the stack (e.g. {@code --api-key k:tenant}); {@code name} names its data dir. */
    static ScriptedStack start(String name, List<String> flags) throws Exception {
        TestStack stack = TestStack.start(TestBrokers.embedded(), Files.createTempDirectory("weir-" + name), flags,
                service -> !service.name().equals("worker"));
        try {
            return new ScriptedStack(stack, new ScriptedWorker(TestBrokers.embedded(), TestStack.MODEL));
        } catch (RuntimeException e) {
            stack.close();
            throw e;
        }
    }

    @Override
    public void close() throws Exception {
        try {
            worker.close();
        } finally {
            stack.close();
        }
    }
}
