/*
 * gemm.c: packing, the micro-kernels (scalar, AVX2+FMA, AVX-512) for each storage type, and the
 * driver that spreads (panel, row group) tiles over the pool. See gemm.h for the layout.
 */
#define _GNU_SOURCE
#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/wk_common.h"
#include "simd.h"

#define MAX_R 8          // rows per micro-kernel call (AVX-512: 8 x 2 accumulators)
#define MAX_R_AVX2 3     // AVX2 has 16 registers: 3 rows x 4 accumulators + 4 weight vectors
#define ROW_GROUP 32     // rows per work item: a panel is reused from L1/L2 for this many rows
#define PREFETCH_BYTES 2048

// ----------------------------------------------------------------------------
// Packing

static size_t dtype_bytes(int32_t dtype) { return dtype == WK_F32 ? 4 : dtype == WK_BF16 ? 2 : 1; }

int32_t packed_alloc(packed* w, int32_t k, int32_t n_cols, int32_t dtype) {
    memset(w, 0, sizeof *w);
    w->k = k;
    w->kp = dtype == WK_BF16 ? (k + 1) / 2 * 2 : k;
    w->n_panels = (n_cols + PANEL - 1) / PANEL;
    w->n = w->n_panels * PANEL;
    w->dtype = dtype;
    size_t bytes = (size_t)w->n * w->kp * dtype_bytes(dtype);
    w->data = wk_alloc_huge(bytes);
    if (!w->data) return wk_fail(WK_ERR_NOMEM, "out of memory packing a %d x %d weight", n_cols, k);
    memset(w->data, 0, bytes);
    if (dtype == WK_INT8) {
        w->scales = calloc((size_t)w->n, sizeof(float));
        if (!w->scales) return wk_fail(WK_ERR_NOMEM, "out of memory for int8 scales");
    }
    return WK_OK;
}

void packed_free(packed* w) {
    free(w->data);
    free(w->scales);
    w->data = NULL;
    w->scales = NULL;
}

// Element index of (column i of a panel, input j) from the panel's start.
static inline int64_t panel_index(int32_t dtype, int32_t i, int32_t j) {
    return dtype == WK_BF16 ? ((int64_t)(j / 2) * PANEL + i) * 2 + j % 2 : (int64_t)j * PANEL + i;
}

// Element index of (column c, input j) inside the packed data.
static inline int64_t packed_index(const packed* w, int32_t c, int32_t j) {
    return (int64_t)(c / PANEL) * w->kp * PANEL + panel_index(w->dtype, c % PANEL, j);
}

static uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40); // NaN stays NaN
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);                 // round to nearest even
}

void packed_set_rows(packed* w, const float* src, int32_t rows, int32_t col0, int32_t pair_stride) {
    for (int32_t r = 0; r < rows; r++) {
        int32_t c = pair_stride > 0 ? (r / PANEL) * pair_stride + col0 + r % PANEL : col0 + r;
        const float* row = src + (int64_t)r * w->k;
        if (w->dtype == WK_F32) {
            float* d = w->data;
            for (int32_t j = 0; j < w->k; j++) d[packed_index(w, c, j)] = row[j];
        } else if (w->dtype == WK_BF16) {
            uint16_t* d = w->data;
            for (int32_t j = 0; j < w->k; j++) d[packed_index(w, c, j)] = f32_to_bf16(row[j]);
        } else {
            int8_t* d = w->data;
            float amax = 0.0f;
            for (int32_t j = 0; j < w->k; j++) amax = fmaxf(amax, fabsf(row[j]));
            float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
            w->scales[c] = scale;
            for (int32_t j = 0; j < w->k; j++) d[packed_index(w, c, j)] = (int8_t)lrintf(row[j] / scale);
        }
    }
}

void packed_column(const packed* w, int32_t c, float* out) {
    for (int32_t j = 0; j < w->k; j++) {
        int64_t at = packed_index(w, c, j);
        if (w->dtype == WK_F32) {
            out[j] = ((const float*)w->data)[at];
        } else if (w->dtype == WK_BF16) {
            uint32_t bits = (uint32_t)((const uint16_t*)w->data)[at] << 16;
            memcpy(&out[j], &bits, 4);
        } else {
            out[j] = ((const int8_t*)w->data)[at] * w->scales[c];
        }
    }
}

// ----------------------------------------------------------------------------
// Micro-kernels: tile[r][0..32) = sum_j x[r][j] * panel[j][0..32), r < R. R is a compile-time
// constant in each instance, so the accumulators stay in registers.

static inline float load_scalar(const void* panel, int32_t dtype, int64_t at) {
    if (dtype == WK_F32) return ((const float*)panel)[at];
    if (dtype == WK_INT8) return ((const int8_t*)panel)[at];
    uint32_t bits = (uint32_t)((const uint16_t*)panel)[at] << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void kernel_scalar(int R, const float* x, int64_t ldx, const void* panel, int32_t dtype, int32_t K, float* tile,
                          int cont) {
    float acc[MAX_R][PANEL] = {{0}};
    if (cont)
        for (int r = 0; r < R; r++) memcpy(acc[r], tile + r * PANEL, sizeof acc[r]);
    for (int32_t j = 0; j < K; j++)
        for (int32_t i = 0; i < PANEL; i++) {
            float w = load_scalar(panel, dtype, panel_index(dtype, i, j));
            for (int r = 0; r < R; r++) acc[r][i] += x[r * ldx + j] * w;
        }
    for (int r = 0; r < R; r++) memcpy(tile + r * PANEL, acc[r], sizeof acc[r]);
}

// Two f32 vectors (columns 0-15, 16-31) of panel row j, for f32 and int8 storage.
#define AVX512_LOAD_W(dtype, panel, j, w0, w1)                                                        \
    do {                                                                                            \
        if (dtype == WK_F32) {                                                                      \
            const float* p_ = (const float*)(panel) + (int64_t)(j) * PANEL;                         \
            w0 = _mm512_loadu_ps(p_);                                                               \
            w1 = _mm512_loadu_ps(p_ + 16);                                                          \
        } else {                                                                                    \
            __m256i raw_ = _mm256_loadu_si256((const __m256i*)((const int8_t*)(panel) + (int64_t)(j) * PANEL)); \
            w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(raw_)));            \
            w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(raw_, 1)));       \
        }                                                                                           \
    } while (0)

// bf16 weights, f32 activations: each pair row (k, k+1) splits into the weights of k (shift) and of k+1 (and),
// multiplied in order, so every output is the same sum as with f32 weights of those values.
AVX512_FN void bf16_pairs_avx512(const int R, const float* x, int64_t ldx, const uint16_t* panel, int32_t K,
                                 __m512 acc[MAX_R][2]) {
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    for (int32_t j = 0; j < K; j += 2) {
        const uint16_t* p = panel + (int64_t)j * PANEL;
        _mm_prefetch((const char*)p + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char*)p + PREFETCH_BYTES + 64, _MM_HINT_T0);
        __m512i r0 = _mm512_loadu_si512(p), r1 = _mm512_loadu_si512(p + 32);
        __m512 a0 = _mm512_castsi512_ps(_mm512_slli_epi32(r0, 16)), b0 = _mm512_castsi512_ps(_mm512_slli_epi32(r1, 16));
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[r * ldx + j]);
            acc[r][0] = _mm512_fmadd_ps(xv, a0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(xv, b0, acc[r][1]);
        }
        if (j + 1 == K) break; // odd K: the padded input does not exist in x
        __m512 a1 = _mm512_castsi512_ps(_mm512_and_si512(r0, high)), b1 = _mm512_castsi512_ps(_mm512_and_si512(r1, high));
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[r * ldx + j + 1]);
            acc[r][0] = _mm512_fmadd_ps(xv, a1, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(xv, b1, acc[r][1]);
        }
    }
}

AVX512_FN void kernel_avx512_body(const int R, const float* x, int64_t ldx, const void* panel, const int32_t dtype,
                                  int32_t K, float* tile, int cont) {
    __m512 acc[MAX_R][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = cont ? _mm512_loadu_ps(tile + r * PANEL) : _mm512_setzero_ps();
        acc[r][1] = cont ? _mm512_loadu_ps(tile + r * PANEL + 16) : _mm512_setzero_ps();
    }
    if (dtype == WK_BF16) {
        bf16_pairs_avx512(R, x, ldx, panel, K, acc);
    } else {
        const char* pf = (const char*)panel + PREFETCH_BYTES;
        size_t row_bytes = PANEL * dtype_bytes(dtype);
        for (int32_t j = 0; j < K; j++) {
            _mm_prefetch(pf + (size_t)j * row_bytes, _MM_HINT_T0);
            if (dtype == WK_F32) _mm_prefetch(pf + (size_t)j * row_bytes + 64, _MM_HINT_T0);
            __m512 w0, w1;
            AVX512_LOAD_W(dtype, panel, j, w0, w1);
            for (int r = 0; r < R; r++) {
                __m512 a = _mm512_set1_ps(x[r * ldx + j]);
                acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_storeu_ps(tile + r * PANEL, acc[r][0]);
        _mm512_storeu_ps(tile + r * PANEL + 16, acc[r][1]);
    }
}

// bf16 weights and bf16 activation pairs (xp: K/2 uint32 per row, row stride ldp): vdpbf16ps adds
// x[k] w[k] + x[k+1] w[k+1] to each column's f32 sum, one instruction per 16 columns and pair of inputs.
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16"), always_inline)) static inline
BF16_FN void kernel_dpbf16_body(const int R, const uint32_t* xp, int64_t ldp, const uint16_t* panel, int32_t K,
                                float* tile, int cont) {
    __m512 acc[MAX_R][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = cont ? _mm512_loadu_ps(tile + r * PANEL) : _mm512_setzero_ps();
        acc[r][1] = cont ? _mm512_loadu_ps(tile + r * PANEL + 16) : _mm512_setzero_ps();
    }
    for (int32_t j = 0; j < K; j += 2) {
        const uint16_t* p = panel + (int64_t)j * PANEL;
        _mm_prefetch((const char*)p + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char*)p + PREFETCH_BYTES + 64, _MM_HINT_T0);
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(p), w1 = (__m512bh)_mm512_loadu_si512(p + 32);
        for (int r = 0; r < R; r++) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xp[r * ldp + j / 2]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xv, w0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xv, w1);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_storeu_ps(tile + r * PANEL, acc[r][0]);
        _mm512_storeu_ps(tile + r * PANEL + 16, acc[r][1]);
    }
}

#define AVX2_LOAD_W(dtype, panel, j, w)                                                                  \
    do {                                                                                               \
        if (dtype == WK_F32) {                                                                         \
            const float* p_ = (const float*)(panel) + (int64_t)(j) * PANEL;                            \
            for (int q_ = 0; q_ < 4; q_++) w[q_] = _mm256_loadu_ps(p_ + 8 * q_);                       \
        } else if (dtype == WK_BF16) { /* pair layout: input j's half of each lane */                  \
            const __m256i* p_ = (const __m256i*)((const uint16_t*)(panel) + (int64_t)((j) / 2) * PANEL * 2); \
            for (int q_ = 0; q_ < 4; q_++) {                                                           \
                __m256i raw_ = _mm256_loadu_si256(p_ + q_);                                            \
                w[q_] = _mm256_castsi256_ps((j) % 2 ? _mm256_and_si256(raw_, _mm256_set1_epi32((int)0xffff0000u)) \
                                                    : _mm256_slli_epi32(raw_, 16));                    \
            }                                                                                          \
        } else {                                                                                       \
            const int8_t* p_ = (const int8_t*)(panel) + (int64_t)(j) * PANEL;                          \
            for (int q_ = 0; q_ < 4; q_++)                                                             \
                w[q_] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(p_ + 8 * q_)))); \
        }                                                                                              \
    } while (0)

AVX2_FN void kernel_avx2_body(const int R, const float* x, int64_t ldx, const void* panel, const int32_t dtype,
                              int32_t K, float* tile, int cont) {
    __m256 acc[MAX_R_AVX2][4];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = cont ? _mm256_loadu_ps(tile + r * PANEL + 8 * q) : _mm256_setzero_ps();
    const char* pf = (const char*)panel + PREFETCH_BYTES;
    size_t row_bytes = PANEL * dtype_bytes(dtype);
    for (int32_t j = 0; j < K; j++) {
        _mm_prefetch(pf + (size_t)j * row_bytes, _MM_HINT_T0);
        if (dtype == WK_F32) _mm_prefetch(pf + (size_t)j * row_bytes + 64, _MM_HINT_T0);
        __m256 w[4];
        AVX2_LOAD_W(dtype, panel, j, w);
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_broadcast_ss(x + r * ldx + j);
            for (int q = 0; q < 4; q++) acc[r][q] = _mm256_fmadd_ps(a, w[q], acc[r][q]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) _mm256_storeu_ps(tile + r * PANEL + 8 * q, acc[r][q]);
}

// One instance per (R, dtype) so the compiler sees constants.
#define INSTANCES(X, dt) X(1, dt) X(2, dt) X(3, dt) X(4, dt) X(5, dt) X(6, dt) X(7, dt) X(8, dt)
#define DEF_512(R, dt)                                                                                     \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static void k512_##dt##_##R(              \
        const float* x, int64_t ldx, const void* panel, int32_t K, float* tile, int cont) {                \
        kernel_avx512_body(R, x, ldx, panel, dt, K, tile, cont);                                           \
    }
#define DEF_AVX2(R, dt)                                                                                    \
    __attribute__((target("avx2,fma"))) static void k256_##dt##_##R(const float* x, int64_t ldx,           \
                                                                     const void* panel, int32_t K, float* tile,   \
                                                                     int cont) {                                  \
        kernel_avx2_body(R, x, ldx, panel, dt, K, tile, cont);                                             \
    }
#define WK_F32_ WK_F32
INSTANCES(DEF_512, WK_F32) INSTANCES(DEF_512, WK_BF16) INSTANCES(DEF_512, WK_INT8)
DEF_AVX2(1, WK_F32) DEF_AVX2(2, WK_F32) DEF_AVX2(3, WK_F32)
DEF_AVX2(1, WK_BF16) DEF_AVX2(2, WK_BF16) DEF_AVX2(3, WK_BF16)
DEF_AVX2(1, WK_INT8) DEF_AVX2(2, WK_INT8) DEF_AVX2(3, WK_INT8)

#define DEF_DPBF16(R)                                                                                     \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16"))) static void kdp_##R(             \
        const uint32_t* xp, int64_t ldp, const void* panel, int32_t K, float* tile, int cont) {            \
        kernel_dpbf16_body(R, xp, ldp, panel, K, tile, cont);                                              \
    }
DEF_DPBF16(1) DEF_DPBF16(2) DEF_DPBF16(3) DEF_DPBF16(4) DEF_DPBF16(5) DEF_DPBF16(6) DEF_DPBF16(7) DEF_DPBF16(8)
typedef void (*dp_fn)(const uint32_t* xp, int64_t ldp, const void* panel, int32_t K, float* tile, int cont);
static const dp_fn KDP[MAX_R] = {kdp_1, kdp_2, kdp_3, kdp_4, kdp_5, kdp_6, kdp_7, kdp_8};

typedef void (*micro_fn)(const float* x, int64_t ldx, const void* panel, int32_t K, float* tile, int cont);

#define ROW8(prefix, dt) {prefix##_##dt##_1, prefix##_##dt##_2, prefix##_##dt##_3, prefix##_##dt##_4, \
                          prefix##_##dt##_5, prefix##_##dt##_6, prefix##_##dt##_7, prefix##_##dt##_8}
static const micro_fn K512[3][MAX_R] = {ROW8(k512, WK_F32), ROW8(k512, WK_BF16), ROW8(k512, WK_INT8)};
static const micro_fn K256[3][MAX_R_AVX2] = {{k256_WK_F32_1, k256_WK_F32_2, k256_WK_F32_3},
                                             {k256_WK_BF16_1, k256_WK_BF16_2, k256_WK_BF16_3},
                                             {k256_WK_INT8_1, k256_WK_INT8_2, k256_WK_INT8_3}};

static int dtype_slot(int32_t dtype) { return dtype == WK_F32 ? 0 : dtype == WK_BF16 ? 1 : 2; }

static int max_rows(int32_t path) { return path == SIMD_AVX2 ? MAX_R_AVX2 : MAX_R; }

// Inputs k0..k1 of rows r < R of x against panel p of w into tile[r][32]: the sum starts from zero when k0 == 0,
// else continues the tile's partial sums (the same additions in the same order as one pass over all of K).
// xp: the same rows as bf16 pairs (ldp per row) when the AVX512_BF16 path multiplies bf16 weights, else NULL.
static void micro_k(int32_t path, const packed* w, int32_t p, const float* x, int64_t ldx, const uint32_t* xp,
                    int64_t ldp, int R, float* tile, int32_t k0, int32_t k1) {
    size_t esz = dtype_bytes(w->dtype);
    const void* panel = (const char*)w->data + ((size_t)p * w->kp + k0) * PANEL * esz;
    x += k0;
    if (xp)
        KDP[R - 1](xp + k0 / 2, ldp, panel, (k1 - k0 + 1) / 2 * 2, tile, k0 > 0);
    else if (simd_has_avx512(path))
        K512[dtype_slot(w->dtype)][R - 1](x, ldx, panel, k1 - k0, tile, k0 > 0);
    else if (path == SIMD_AVX2)
        K256[dtype_slot(w->dtype)][R - 1](x, ldx, panel, k1 - k0, tile, k0 > 0);
    else
        kernel_scalar(R, x, ldx, panel, w->dtype, k1 - k0, tile, k0 > 0);
}

static void apply_scales(const packed* w, int32_t p, int R, float* tile) {
    if (w->dtype == WK_INT8) {
        const float* s = w->scales + (int64_t)p * PANEL;
        for (int r = 0; r < R; r++)
            for (int i = 0; i < PANEL; i++) tile[r * PANEL + i] *= s[i];
    }
}

// Tiles of panel p for rows [r0, r1) of x: tiles[b] holds row block b (R_max rows each). With several row blocks
// the panel is walked in chunks of K_CHUNK inputs, every block per chunk, so each chunk is loaded from memory once
// and reused from L1 by all the blocks (otherwise the first block waits on memory and the rest re-read L2).
#define K_CHUNK 128
#define L1_PANEL_BYTES (32 << 10) // a smaller panel stays in L1 across the blocks anyway
static void panel_tiles(int32_t path, const packed* w, int32_t p, const float* x, int64_t ldx, const uint32_t* xp,
                        int64_t ldp, int32_t r0, int32_t r1, int R_max, float* tiles) {
    int32_t n_blocks = (r1 - r0 + R_max - 1) / R_max;
    int32_t step = n_blocks > 1 && (size_t)w->k * PANEL * dtype_bytes(w->dtype) > L1_PANEL_BYTES ? K_CHUNK : w->k;
    for (int32_t k0 = 0; k0 < w->k; k0 += step) {
        int32_t k1 = k0 + step < w->k ? k0 + step : w->k;
        for (int32_t b = 0; b < n_blocks; b++) {
            int32_t rb = r0 + b * R_max, R = r1 - rb < R_max ? r1 - rb : R_max;
            micro_k(path, w, p, x + (int64_t)rb * ldx, ldx, xp ? xp + (int64_t)rb * ldp : NULL, ldp, R,
                    tiles + (int64_t)b * MAX_R * PANEL, k0, k1);
        }
    }
    for (int32_t b = 0; b < n_blocks; b++) {
        int32_t rb = r0 + b * R_max, R = r1 - rb < R_max ? r1 - rb : R_max;
        apply_scales(w, p, R, tiles + (int64_t)b * MAX_R * PANEL);
    }
}

// ----------------------------------------------------------------------------
// Epilogues

static void silu_mul(int32_t path, float* out, const float* g, const float* u, int n);

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static void silu_mul_512(float* out, const float* g,
                                                                                      const float* u, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gv = _mm512_loadu_ps(g + i);
        __m512 sig = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(gv, sig), _mm512_loadu_ps(u + i)));
    }
    for (; i < n; i++) out[i] = silu_f(g[i]) * u[i];
}

__attribute__((target("avx2,fma"))) static void silu_mul_256(float* out, const float* g, const float* u, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 sig = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(gv, sig), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) out[i] = silu_f(g[i]) * u[i];
}

static void silu_mul(int32_t path, float* out, const float* g, const float* u, int n) {
    if (simd_has_avx512(path)) silu_mul_512(out, g, u, n);
    else if (path == SIMD_AVX2) silu_mul_256(out, g, u, n);
    else
        for (int i = 0; i < n; i++) out[i] = silu_f(g[i]) * u[i];
}

// ----------------------------------------------------------------------------
// Driver: an item is (column unit, row group); a unit is one panel, or a (gate, up) pair for SwiGLU.

typedef struct {
    int32_t path;
    const packed* w;
    const float* x;
    int32_t ldx, n_rows, ldo, n_out, n_groups;
    float* out;
    epilogue e;
    const uint32_t* xp; // activations as bf16 pairs (AVX512_BF16 path, bf16 weights), else NULL
    int64_t ldp;
} gemm_job;

static void gemm_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    (void)tid;
    const gemm_job* j = ctx;
    int R_max = max_rows(j->path);
    enum { MAX_BLOCKS = (ROW_GROUP + MAX_R_AVX2 - 1) / MAX_R_AVX2 }; // row blocks in a group, on the narrowest path
    float tile[MAX_BLOCKS * MAX_R * PANEL], tile2[MAX_BLOCKS * MAX_R * PANEL];
    for (int64_t item = start; item < end; item++) {
        int32_t unit = (int32_t)(item / j->n_groups), group = (int32_t)(item % j->n_groups);
        int32_t r0 = group * ROW_GROUP, r1 = r0 + ROW_GROUP < j->n_rows ? r0 + ROW_GROUP : j->n_rows;
        int32_t c0 = unit * PANEL;
        int32_t cols = j->n_out - c0 < PANEL ? j->n_out - c0 : PANEL;
        if (j->e == EPI_SWIGLU) {
            panel_tiles(j->path, j->w, 2 * unit, j->x, j->ldx, j->xp, j->ldp, r0, r1, R_max, tile);
            panel_tiles(j->path, j->w, 2 * unit + 1, j->x, j->ldx, j->xp, j->ldp, r0, r1, R_max, tile2);
        } else {
            panel_tiles(j->path, j->w, unit, j->x, j->ldx, j->xp, j->ldp, r0, r1, R_max, tile);
        }
        for (int32_t r = r0; r < r1; r++) {
            int32_t at = ((r - r0) / R_max) * MAX_R * PANEL + ((r - r0) % R_max) * PANEL;
            float* o = j->out + (int64_t)r * j->ldo + c0;
            const float* t = tile + at;
            if (j->e == EPI_SWIGLU)
                silu_mul(j->path, o, t, tile2 + at, cols);
            else if (j->e == EPI_ADD)
                for (int i = 0; i < cols; i++) o[i] += t[i];
            else
                memcpy(o, t, (size_t)cols * sizeof(float));
        }
    }
}

// Below this many multiply-adds the pool's hand-off costs more than it saves.
#define GEMM_PARALLEL_MIN (1 << 15)

int64_t gemm_pairs_size(int32_t k, int32_t n_rows) { return (int64_t)(k + 1) / 2 * n_rows; }

static uint32_t bf16_pair(float lo, float hi) { return f32_to_bf16(lo) | (uint32_t)f32_to_bf16(hi) << 16; }

void gemm(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, float* out, int32_t ldo,
          int32_t n_out, epilogue e, uint32_t* pairs) {
    if (n_rows <= 0 || n_out <= 0) return;
    int32_t units = (n_out + PANEL - 1) / PANEL;
    gemm_job job = {path, w, x, ldx, n_rows, ldo, n_out, (n_rows + ROW_GROUP - 1) / ROW_GROUP, out, e, NULL, 0};
    if (path == SIMD_AVX512_BF16 && w->dtype == WK_BF16 && pairs) { // round the activations to bf16 pairs once
        job.ldp = (w->k + 1) / 2;
        for (int32_t r = 0; r < n_rows; r++)
            for (int32_t j = 0; j < w->k; j += 2)
                pairs[r * job.ldp + j / 2] = bf16_pair(x[(int64_t)r * ldx + j], j + 1 < w->k ? x[(int64_t)r * ldx + j + 1] : 0.0f);
        job.xp = pairs;
    }
    int64_t items = (int64_t)units * job.n_groups;
    if (p == NULL || (int64_t)n_rows * w->k * w->n < GEMM_PARALLEL_MIN)
        gemm_range(&job, 0, items, 0);
    else
        pool_run(p, items, gemm_range, &job);
}

// ----------------------------------------------------------------------------
// Path dispatch

int32_t simd_path_supported(int32_t path) {
    switch (path) {
        case SIMD_SCALAR: return 1;
        case SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case SIMD_AVX512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        case SIMD_AVX512_BF16: return simd_path_supported(SIMD_AVX512) && __builtin_cpu_supports("avx512bf16");
        default: return 0;
    }
}

const char* simd_path_name(int32_t path) {
    static const char* const names[SIMD_N_PATHS] = {"scalar", "avx2", "avx512", "avx512bf16"};
    return path >= 0 && path < SIMD_N_PATHS ? names[path] : "?";
}

int32_t simd_best_path(void) {
    const char* forced = getenv("WEIR_SIMD");
    if (forced && *forced)
        for (int32_t p = 0; p < SIMD_N_PATHS; p++)
            if (strcmp(forced, simd_path_name(p)) == 0 && simd_path_supported(p)) return p;
    for (int32_t p = SIMD_N_PATHS - 1; p > 0; p--)
        if (simd_path_supported(p)) return p;
    return SIMD_SCALAR;
}
