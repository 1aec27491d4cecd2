/*
 * pool.c: see pool.h. Hand-off protocol: the caller writes the job's description, publishes it in `claim`
 * (job number | n_items unclaimed) and bumps `generation`; idle workers spin on `generation` for a while,
 * then sleep on work_cv (registering in `sleepers` first, so the caller knows to broadcast).
 *
 * Every thread takes chunks with a CAS on `claim` that names the job it read. A successful CAS means the
 * job was still unfinished when the description was read (the caller only writes the next description
 * after all items of this one are done, and those include the one just claimed), so the description is
 * the job's own. A worker that wakes after the job ran out finds nothing to claim and touches nothing.
 * Completion is `done_items` reaching n_items, which the caller spins on: workers that claimed nothing
 * are never waited for, so a descheduled worker does not stall a step (it used to hold every job until
 * the host ran it again).
 */
#define _GNU_SOURCE
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include "../common/wk_common.h"

#include <time.h>

// Workers poll this long for the next job before sleeping: long enough to cover the serial gaps
// inside a forward step, short enough not to keep a core from the JVM between steps (and most of it yielding).
#define SPIN_NS 100000
#define SPIN_CHECK 64 // polls between clock reads

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct {
    pool* p;
    int32_t tid;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#define JOB_ITEMS_MASK 0xffffffffull

// Adds a thread's finished items of the job to done_items; the one that completes the job wakes a sleeping caller.
static void report_done(pool* p, int64_t ran, int64_t n, int32_t tid) {
    if (atomic_fetch_add(&p->done_items, ran) + ran == n && tid != 0 && atomic_load(&p->caller_waiting)) {
        pthread_mutex_lock(&p->mu); // the caller sleeps: wake it
        pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

// Claims and runs chunks of the published job until none are left. The job's description is read once, when a
// job number is first seen, and holds for every later claim naming that number (see the file comment). Finished
// items are reported once, at the end: one write to the shared line per thread and job, not one per chunk.
static void run_items(pool* p, int32_t tid) {
    uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire), job = UINT64_MAX;
    int64_t n = 0, chunk = 1, ran = 0;
    pool_fn fn = NULL;
    void* ctx = NULL;
    for (;;) {
        uint64_t left = c & JOB_ITEMS_MASK;
        if (left == 0) break;
        if (c >> 32 != job) { // a job not seen yet (nothing of an earlier one can be unreported: it was not done)
            job = c >> 32;
            n = atomic_load_explicit(&p->n_items, memory_order_relaxed);
            chunk = atomic_load_explicit(&p->chunk, memory_order_relaxed);
            fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
            ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
        }
        uint64_t take = left < (uint64_t)chunk ? left : (uint64_t)chunk;
        // a success proves the job unfinished since its description was read, so that description is its own
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c - take, memory_order_acquire,
                                                   memory_order_acquire)) {
            continue; // c now holds the current value: another chunk taken, or another job
        }
        int64_t start = n - (int64_t)left;
        fn(ctx, start, start + (int64_t)take, tid);
        ran += (int64_t)take;
        c = atomic_load_explicit(&p->claim, memory_order_acquire);
    }
    if (ran > 0) report_done(p, ran, n, tid);
}

static void pin_to_cpu(int32_t cpu) {
    const char* env = getenv("WEIR_PIN");
    if (!env || strcmp(env, "1") != 0) return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 1) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % n, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); // advisory: failure leaves it unpinned
}

static void* worker_main(void* arg) {
    worker_arg a = *(worker_arg*)arg;
    free(arg);
    pool* p = a.p;
    pin_to_cpu(a.tid);
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
        int64_t deadline = g == seen ? now_ns() + SPIN_NS : 0;
        for (int spin = 1; g == seen; spin++) {
            // After the first polls, poll through sched_yield: a thread the host has waiting for this CPU (the
            // Kafka and Vert.x threads of the JVM around the engine) runs now, between two jobs, instead of
            // preempting a worker in the middle of one later; with nothing else to run the call returns at once.
            int yielding = spin > SPIN_CHECK;
            if (yielding) sched_yield();
            else cpu_relax();
            g = atomic_load_explicit(&p->generation, memory_order_acquire);
            if ((yielding || spin % SPIN_CHECK == 0) && now_ns() > deadline) break;
        }
        if (g == seen) { // idle: sleep until the next job
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->generation)) == seen) pthread_cond_wait(&p->work_cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (atomic_load(&p->stop)) break;
        run_items(p, a.tid);
    }
    return NULL;
}

int32_t pool_build(pool* p, int32_t n_threads) {
    memset(p, 0, sizeof *p);
    p->n_threads = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (p->n_threads == 1) return WK_OK;
    p->workers = calloc((size_t)p->n_threads - 1, sizeof(pthread_t));
    if (!p->workers) return wk_fail(WK_ERR_NOMEM, "thread pool: out of memory");
    for (int32_t i = 1; i < p->n_threads; i++) {
        worker_arg* a = malloc(sizeof *a);
        if (a) *a = (worker_arg){p, i};
        if (!a || pthread_create(&p->workers[i - 1], NULL, worker_main, a) != 0) {
            free(a);
            p->n_threads = i; // pool_free joins the workers started so far
            return wk_fail(WK_ERR_NOMEM, "thread pool: could not start thread %d", i);
        }
    }
    return WK_OK;
}

static void wake_workers(pool* p) {
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

void pool_free(pool* p) {
    if (p->n_threads == 0) return; // never built
    if (p->workers) {
        atomic_store(&p->stop, 1);
        atomic_fetch_add(&p->generation, 1);
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
        for (int32_t i = 1; i < p->n_threads; i++) pthread_join(p->workers[i - 1], NULL);
        free(p->workers);
        p->workers = NULL;
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    p->n_threads = 0;
}

void pool_run(pool* p, int64_t n_items, pool_fn fn, void* ctx) {
    if (n_items <= 0) return;
    if (p == NULL || p->n_threads <= 1 || n_items == 1) {
        fn(ctx, 0, n_items, 0);
        return;
    }
    int64_t chunk = n_items / ((int64_t)p->n_threads * 16);
    uint64_t job = (atomic_load_explicit(&p->claim, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->n_items, n_items, memory_order_relaxed);
    atomic_store_explicit(&p->chunk, chunk < 1 ? 1 : chunk, memory_order_relaxed);
    atomic_store_explicit(&p->done_items, 0, memory_order_relaxed);
    atomic_store_explicit(&p->claim, (job << 32) | (uint64_t)n_items, memory_order_release);
    atomic_fetch_add(&p->generation, 1); // seq_cst: publishes the job, ordered before the sleepers check
    wake_workers(p);

    run_items(p, 0);

    int64_t deadline = 0;
    for (int spin = 1; atomic_load_explicit(&p->done_items, memory_order_acquire) < n_items; spin++) {
        if (deadline == 0) deadline = now_ns() + SPIN_NS;
        if (spin % SPIN_CHECK != 0 || now_ns() < deadline) {
            cpu_relax();
            continue;
        }
        // a worker holding a chunk is late (the host descheduled it): sleep, so it can have this core
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waiting, 1);
        while (atomic_load(&p->done_items) < n_items) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->caller_waiting, 0);
        pthread_mutex_unlock(&p->mu);
    }
}

int32_t pool_default_threads(void) {
    const char* env = getenv("WEIR_THREADS");
    if (env && *env) {
        int v = atoi(env);
        if (v > 0) return v > 256 ? 256 : v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int32_t)(n > 256 ? 256 : n);
}
