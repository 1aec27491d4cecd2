package io.weir.worker.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * CPU time per group of Java threads (threads named alike: the eight Kafka request handlers are one group), so a run
 * can say where its CPU went: the engine, the broker, the gateway, the clients. Native threads (the kernel library's
 * pool workers) are not Java threads; they are what the process used beyond all groups.
 */
final class ThreadCpu {
    /** The group of threads that are not Java threads, in {@link #delta}. */
    static final String NATIVE = "native threads (kernel pool workers)";
    private static final Pattern UUID = Pattern.compile("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}");
    private static final Pattern NUMBER = Pattern.compile("[-#]?\\d+");
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Map<Long, Long> cpuById = new HashMap<>();
    private final Map<Long, String> groupById = new HashMap<>();
    private final long processNanos = RunResult.processCpuNanos();

    private ThreadCpu(Map<Long, String> groupOf) {
        long[] ids = THREADS.getAllThreadIds();
        ThreadInfo[] infos = THREADS.getThreadInfo(ids);
        for (int i = 0; i < ids.length; i++) {
            long cpu = THREADS.getThreadCpuTime(ids[i]);
            if (infos[i] == null || cpu < 0) continue; // ended meanwhile
            cpuById.put(ids[i], cpu);
            groupById.put(ids[i], groupOf.getOrDefault(ids[i], group(infos[i].getThreadName())));
        }
    }

    static ThreadCpu now() {
        return new ThreadCpu(Map.of());
    }

    /** A snapshot where the threads in {@code groupOf} (by thread id) count under the group named there. */
    static ThreadCpu now(Map<Long, String> groupOf) {
        return new ThreadCpu(groupOf);
    }

    static String group(String threadName) {
        return NUMBER.matcher(UUID.matcher(threadName).replaceAll("")).replaceAll("").trim();
    }

    /** CPU nanoseconds per group from {@code before} to this snapshot (threads that ended in between are lost). */
    Map<String, Long> delta(ThreadCpu before) {
        Map<String, Long> out = new HashMap<>();
        long java = 0;
        for (var e : cpuById.entrySet()) {
            long used = e.getValue() - before.cpuById.getOrDefault(e.getKey(), 0L);
            out.merge(groupById.get(e.getKey()), used, Long::sum);
            java += used;
        }
        out.put(NATIVE, Math.max(0, processNanos - before.processNanos - java));
        return out;
    }
}
