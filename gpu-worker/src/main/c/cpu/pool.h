/*
 * pool.h: a persistent thread pool for the forward pass. The caller thread works too, so a pool of
 * n threads starts n-1 workers (pinned to CPUs, one each, with WEIR_PIN=1; unpinned by default). Idle workers
 * poll briefly for the next job (spinning, then yielding the CPU between polls) before sleeping, because a decode
 * step issues a few dozen short jobs and a condition-variable wake-up per job (tens of microseconds) would cost
 * more than the jobs.
 * One job at a time; pool_run returns when every item is done, without waiting for workers that took none
 * (one the host has descheduled costs the step nothing unless it holds a claimed chunk).
 */
#ifndef WK_POOL_H
#define WK_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

// Work function: handle items [start, end); tid in [0, n_threads) indexes per-thread scratch.
typedef void (*pool_fn)(void* ctx, int64_t start, int64_t end, int32_t tid);

#define POOL_LINE 64 // a cache line: what the threads write often lives apart from what they read

typedef struct {
    int32_t n_threads;          // workers + the calling thread
    pthread_t* workers;         // (n_threads - 1)
    pthread_mutex_t mu;         // only for sleeping and waking
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;     // the caller sleeps here when the job outlasts its spin
    _Atomic int32_t caller_waiting;
    _Atomic int32_t sleepers;   // workers blocked on work_cv
    _Atomic int32_t stop;       // set by pool_free
    // The job's description: written before `claim` publishes it, read by a worker only under a claim.
    _Alignas(POOL_LINE) _Atomic(pool_fn) fn;
    _Atomic(void*) ctx;
    _Atomic int64_t n_items;
    _Atomic int64_t chunk;      // items claimed at a time
    _Alignas(POOL_LINE) _Atomic uint64_t generation; // bumped per job (and at stop): what idle workers watch
    // The current job: its number (high 32 bits) and the items nobody has claimed yet (low 32). A thread
    // takes items with a CAS that names the job, so a worker that wakes late can never take an item of a
    // finished job, and the caller need not wait for workers that took none (see pool.c).
    _Alignas(POOL_LINE) _Atomic uint64_t claim;
    _Alignas(POOL_LINE) _Atomic int64_t done_items; // items of the current job finished (each thread adds its own once)
} pool;

// Starts n_threads-1 workers (n_threads <= 1: no workers, everything runs on the caller). 0 or WK_ERR_*;
// call pool_free after a failure too. pool_free on a pool never built (zeroed) is a no-op.
int32_t pool_build(pool* p, int32_t n_threads);
void pool_free(pool* p);

// Runs fn over [0, n_items) (n_items < 2^32) on every thread; threads claim chunks of about
// n_items / (16 n_threads) items dynamically, so a thread the host delays does not hold the others up.
// Which thread runs an item never changes its result. Runs inline when the pool has one thread or there is a single item.
void pool_run(pool* p, int64_t n_items, pool_fn fn, void* ctx);

// WEIR_THREADS if set and positive, else the number of online CPUs.
int32_t pool_default_threads(void);

#endif // WK_POOL_H
