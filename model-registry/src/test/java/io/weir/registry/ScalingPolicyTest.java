package io.weir.registry;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScalingPolicyTest {
    private final ScalingPolicy policy = new ScalingPolicy(30_000);

    /** min..max workers, per_worker 2. */
    private static ModelEndpoint endpoint(int min, int max) {
        Instant t = Instant.EPOCH;
        return new ModelEndpoint("m", "m", "hugging_face", "/x", EndpointStatus.READY, null, "vllm", 1, null, min, max, 2,
                Map.of(), "t", true, 512, t, t, null, null);
    }

    private static ScalingPolicy.Observation seen(int workers, int load, boolean demand, long quietMs) {
        return new ScalingPolicy.Observation(workers, load, demand, false, quietMs);
    }

    @Test
    void scalesUpWhenTheAveragePerWorkerExceedsPerWorker() {
        assertEquals(2, policy.desiredWorkers(endpoint(1, 4), seen(1, 3, true, 0)));
        assertEquals(2, policy.desiredWorkers(endpoint(1, 4), seen(2, 4, true, 0)), "exactly per_worker each: stay");
        assertEquals(3, policy.desiredWorkers(endpoint(1, 4), seen(2, 5, true, 0)));
        assertEquals(4, policy.desiredWorkers(endpoint(1, 4), seen(4, 50, true, 0)), "never above max_workers");
    }

    @Test
    void scalesDownOnlyAfterAQuietPeriodAndNeverBelowMin() {
        assertEquals(3, policy.desiredWorkers(endpoint(1, 4), seen(3, 1, true, 10_000)), "not quiet long enough");
        assertEquals(2, policy.desiredWorkers(endpoint(1, 4), seen(3, 1, true, 30_000)));
        assertEquals(2, policy.desiredWorkers(endpoint(2, 4), seen(2, 0, false, 60_000)), "min_workers holds");
    }

    @Test
    void scalesToZeroAndBackFromZero() {
        assertEquals(0, policy.desiredWorkers(endpoint(0, 2), seen(1, 0, false, 30_000)));
        assertEquals(0, policy.desiredWorkers(endpoint(0, 2), seen(0, 0, false, 0)), "no traffic: stay at zero");
        assertEquals(1, policy.desiredWorkers(endpoint(0, 2), seen(0, 0, true, 0)), "a request wakes it");
        assertEquals(1, policy.desiredWorkers(endpoint(0, 2), new ScalingPolicy.Observation(0, 0, false, true, 0)),
                "a checkpoint not loaded yet gets a worker so a bad one is reported");
    }

    @Test
    void busyMeansOneFewerWorkerCouldNotCarryTheLoad() {
        assertTrue(ScalingPolicy.busy(endpoint(0, 4), seen(2, 3, false, 0)));
        assertFalse(ScalingPolicy.busy(endpoint(0, 4), seen(2, 2, false, 0)));
        assertTrue(ScalingPolicy.busy(endpoint(0, 4), seen(1, 0, true, 0)), "a lone worker with fresh demand stays");
    }
}
