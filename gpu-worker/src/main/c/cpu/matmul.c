/*
 * matmul.c: dot-product kernels (scalar reference, AVX2+FMA, AVX-512F), the dispatch between
 * them, and the batched matmul that splits output rows across the thread pool.
 */
#include "matmul.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

typedef float (*dot_fn)(const float* a, const float* b, int32_t n);

// ----------------------------------------------------------------------------
// Scalar reference: f32, in index order, the same arithmetic as wk_matmul_ref.

static float dot_scalar(const float* a, const float* b, int32_t n) {
    float sum = 0.0f;
    for (int32_t j = 0; j < n; j++) sum += a[j] * b[j];
    return sum;
}

// ----------------------------------------------------------------------------
// AVX2 + FMA: 4 independent 8-wide accumulators hide the FMA latency.

__attribute__((target("avx2,fma"))) static float dot_avx2(const float* a, const float* b, int32_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int32_t j = 0;
    for (; j + 32 <= n; j += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 16), _mm256_loadu_ps(b + j + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 24), _mm256_loadu_ps(b + j + 24), acc3);
    }
    for (; j + 8 <= n; j += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; j < n; j++) sum += a[j] * b[j];
    return sum;
}

// ----------------------------------------------------------------------------
// AVX-512F: 2 × 16-wide accumulators, masked loads for the tail.

__attribute__((target("avx512f"))) static float dot_avx512(const float* a, const float* b, int32_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t j = 0;
    for (; j + 32 <= n; j += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), acc1);
    }
    for (; j + 16 <= n; j += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), acc0);
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), acc1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// ----------------------------------------------------------------------------
// Dispatch

int32_t matmul_path_supported(int32_t path) {
    switch (path) {
        case MATMUL_SCALAR: return 1;
        case MATMUL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case MATMUL_AVX512: return __builtin_cpu_supports("avx512f");
        default: return 0;
    }
}

const char* matmul_path_name(int32_t path) {
    static const char* const names[MATMUL_N_PATHS] = {"scalar", "avx2", "avx512"};
    return path >= 0 && path < MATMUL_N_PATHS ? names[path] : "?";
}

int32_t matmul_best_path(void) {
    const char* forced = getenv("WEIR_SIMD");
    if (forced && *forced)
        for (int32_t p = 0; p < MATMUL_N_PATHS; p++)
            if (strcmp(forced, matmul_path_name(p)) == 0 && matmul_path_supported(p)) return p;
    for (int32_t p = MATMUL_N_PATHS - 1; p > 0; p--)
        if (matmul_path_supported(p)) return p;
    return MATMUL_SCALAR;
}

static dot_fn dot_for(int32_t path) {
    switch (path) {
        case MATMUL_AVX2: return dot_avx2;
        case MATMUL_AVX512: return dot_avx512;
        default: return dot_scalar;
    }
}

// ----------------------------------------------------------------------------
// Batched matmul over the pool

typedef struct {
    dot_fn dot;
    float* out;
    const float* x;
    const float* w;
    int32_t n_rows, n, d;
} matmul_job;

static void matmul_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    (void)tid;
    const matmul_job* j = ctx;
    for (int64_t i = start; i < end; i++) {
        const float* wi = j->w + i * j->n; // one weight row, reused from L1 for every batch row
        for (int32_t b = 0; b < j->n_rows; b++) j->out[(int64_t)b * j->d + i] = j->dot(wi, j->x + (int64_t)b * j->n, j->n);
    }
}

// Below this many multiply-adds the pool's wake-up costs more than it saves.
#define MATMUL_PARALLEL_MIN (1 << 16)

void matmul(pool* p, int32_t path, float* out, const float* x, const float* w, int32_t n_rows, int32_t n, int32_t d) {
    matmul_job job = {dot_for(path), out, x, w, n_rows, n, d};
    if (p == NULL || (int64_t)n_rows * n * d < MATMUL_PARALLEL_MIN)
        matmul_range(&job, 0, d, 0);
    else
        pool_run(p, d, matmul_range, &job);
}
