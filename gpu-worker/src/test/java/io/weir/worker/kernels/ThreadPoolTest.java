package io.weir.worker.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The CPU kernels' thread pool hands out every item of a job exactly once and to that job only, even for jobs of one
 * or two items issued back to back, where a worker that wakes late would otherwise run an item of a job the caller
 * has already finished (pool_run returns without waiting for workers that took no items).
 */
class ThreadPoolTest {

    @Test
    void everyItemRunsExactlyOnceByItsOwnJob() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        // more threads than this machine has cores too: the host deschedules some of them mid-job
        for (int threads : new int[] {2, 3, 8}) {
            assertEquals(0, cpu.testPool(threads, 20_000, 5), "tiny jobs, " + threads + " threads");
            assertEquals(0, cpu.testPool(threads, 2_000, 300), "larger jobs, " + threads + " threads");
        }
    }

    @Test
    void aPoolOfOneThreadRunsEverythingOnTheCaller() {
        assertEquals(0, KernelLibrary.load(Backend.CPU).testPool(1, 1_000, 7));
    }
}
