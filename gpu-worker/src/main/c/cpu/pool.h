/*
 * pool.h: a small persistent pthread pool. The caller thread works too, so a pool of n threads
 * starts n-1 workers. One job at a time; pool_run returns when every range is done.
 */
#ifndef WK_POOL_H
#define WK_POOL_H

#include <pthread.h>
#include <stdint.h>

// Work function: handle items [start, end); tid in [0, n_threads) indexes per-thread scratch.
typedef void (*pool_fn)(void* ctx, int64_t start, int64_t end, int32_t tid);

typedef struct {
    int32_t n_threads;       // workers + the calling thread
    pthread_t* workers;      // (n_threads - 1)
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  // workers wait here for a new generation
    pthread_cond_t done_cv;  // the caller waits here for pending == 0
    uint64_t generation;     // bumped per job
    int32_t pending;         // workers still running the current job
    int32_t stop;            // set by pool_free
    pool_fn fn;              // the current job
    void* ctx;
    int64_t n_items;
} pool;

// Starts n_threads-1 workers (n_threads <= 1: no workers, everything runs on the caller). 0 or WK_ERR_*;
// call pool_free after a failure too. pool_free on a pool never built (zeroed) is a no-op.
int32_t pool_build(pool* p, int32_t n_threads);
void pool_free(pool* p);

// Splits [0, n_items) into n_threads contiguous ranges and runs fn on all of them.
// Runs inline when the pool has one thread or the job is smaller than n_threads items.
void pool_run(pool* p, int64_t n_items, pool_fn fn, void* ctx);

// WEIR_THREADS if set and positive, else the number of online CPUs.
int32_t pool_default_threads(void);

#endif // WK_POOL_H
