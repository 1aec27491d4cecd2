package io.weir.gateway;

import java.time.Duration;
import java.util.function.Supplier;

/** Polls a condition until it holds or a deadline passes (Kafka's waitForCondition, in small). */
final class Await {
    private static final long POLL_MS = 100;

    private Await() {
    }

    /** Returns the first non-null value {@code probe} gives within the timeout; fails with {@code what} otherwise. */
    static <T> T until(String what, Duration timeout, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            T value = probe.get();
            if (value != null) {
                return value;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(POLL_MS); // polling interval, bounded by the deadline
        }
    }

    static void until(String what, Duration timeout, java.util.function.BooleanSupplier condition) throws InterruptedException {
        until(what, timeout, () -> condition.getAsBoolean() ? Boolean.TRUE : null);
    }
}
