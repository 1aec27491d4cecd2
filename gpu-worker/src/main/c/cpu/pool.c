/*
 * pool.c: see pool.h. Workers sleep on a condition variable between jobs.
 */
#include "pool.h"

#include <stdlib.h>
#include <unistd.h>

#include "../common/wk_common.h"

typedef struct {
    pool* p;
    int32_t tid;
} worker_arg;

static void run_range(pool* p, int32_t tid) {
    int64_t n = p->n_items, chunk = (n + p->n_threads - 1) / p->n_threads;
    int64_t start = (int64_t)tid * chunk, end = start + chunk < n ? start + chunk : n;
    if (start < end) p->fn(p->ctx, start, end, tid);
}

static void* worker_main(void* arg) {
    worker_arg a = *(worker_arg*)arg;
    free(arg);
    pool* p = a.p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_range(p, a.tid);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int32_t pool_build(pool* p, int32_t n_threads) {
    *p = (pool){0};
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

void pool_free(pool* p) {
    if (p->n_threads == 0) return; // never built
    if (p->workers) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
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
    if (p->n_threads == 1 || n_items < p->n_threads) {
        fn(ctx, 0, n_items, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n_items;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    run_range(p, 0);

    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
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
