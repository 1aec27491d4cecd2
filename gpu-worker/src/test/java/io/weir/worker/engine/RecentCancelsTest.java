package io.weir.worker.engine;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecentCancelsTest {
    private final AtomicLong now = new AtomicLong();
    private final RecentCancels cancels = new RecentCancels(3, Duration.ofSeconds(10), now::get);

    @Test
    void aRememberedCancelIsTakenOnce() {
        cancels.add("a");
        assertTrue(cancels.take("a"));
        assertFalse(cancels.take("a"), "taken cancels are forgotten");
        assertFalse(cancels.take("never-cancelled"));
    }

    @Test
    void theOldestAreForgottenBeyondCapacity() {
        for (String id : new String[]{"a", "b", "c", "d"}) {
            cancels.add(id);
        }
        assertEquals(3, cancels.size());
        assertFalse(cancels.take("a"));
        assertTrue(cancels.take("b") && cancels.take("c") && cancels.take("d"));
    }

    @Test
    void cancelsExpireAfterTheirTimeToLive() {
        cancels.add("old");
        now.addAndGet(Duration.ofSeconds(6).toNanos());
        cancels.add("young");
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertFalse(cancels.take("old"), "11 s old, past the 10 s TTL");
        assertTrue(cancels.take("young"), "5 s old");
        assertEquals(0, cancels.size());
    }
}
