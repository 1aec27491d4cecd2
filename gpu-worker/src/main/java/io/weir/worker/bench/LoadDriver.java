package io.weir.worker.bench;

import java.util.List;

/** Something that runs a set of completion requests at once and traces them: the engine in-process, or the full stack. */
interface LoadDriver extends AutoCloseable {

    /** Sends every prompt at once (greedy, {@code maxNewTokens} each) and waits for all of them to finish. */
    RunResult run(List<String> prompts, int maxNewTokens) throws Exception;
}
