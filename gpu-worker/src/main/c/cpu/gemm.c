/*
 * gemm.c: packing, the micro-kernels (scalar, AVX2+FMA, AVX-512) for each storage type, the int8
 * activations of the W8A8 products, and the driver that spreads (panel, row group) tiles over the pool.
 * See gemm.h for the layout.
 */
#define _GNU_SOURCE
#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/wk_common.h"
#include "amx.h"
#include "simd.h"

#define MAX_R 8          // rows per micro-kernel call (AVX-512: 8 x 2 accumulators)
#define MAX_R_AVX2 2     // AVX2 has 16 registers: 2 rows x 4 accumulators + 4 weight vectors
#define ROW_GROUP 32     // rows per work item: a panel is reused from L1/L2 for this many rows
#define PREFETCH_BYTES 2048

// Software prefetch of 128 bytes (two lines) at byte offset `at` of what a kernel streams, into L2. A panel chunk's
// first row block (next == NULL) asks for its own stream PREFETCH_BYTES ahead. The other row blocks re-read the chunk
// from L1 and meanwhile ask for `next`, the chunk the first block reads after this one, so the first block no longer
// starts every chunk waiting on memory while the others leave the memory idle (1.1-1.2x on 32-row int8 products).
// Into L2, not L1: prefetches into L1 hold its few miss buffers and stall the loads in flight, which cost 1.2x at
// batch 1 in f32 and 1.4x in int8 on Zen 4; the L2 ones keep a stream going where the hardware's would stop.
static inline __attribute__((always_inline)) void prefetch_ahead(const void* chunk, const char* next, size_t at) {
    const char* p = next ? next + at : (const char*)chunk + PREFETCH_BYTES + at;
    _mm_prefetch(p, _MM_HINT_T1);
    _mm_prefetch(p + 64, _MM_HINT_T1);
}

// ----------------------------------------------------------------------------
// Packing

static size_t dtype_bytes(int32_t dtype) { return dtype == WK_F32 ? 4 : dtype == WK_BF16 ? 2 : 1; }

static int32_t round_up(int32_t v, int32_t to) { return (v + to - 1) / to * to; }

// Inputs of a column stored side by side (g in gemm.h).
static int32_t dtype_group(int32_t dtype) { return dtype == WK_F32 ? 1 : dtype == WK_BF16 ? 2 : 4; }

int32_t packed_alloc(packed* w, int32_t k, int32_t n_cols, int32_t dtype) {
    memset(w, 0, sizeof *w);
    if (dtype == WK_INT8 && k > WK_INT8_MAX_K)
        return wk_fail(WK_ERR_ARG, "int8 weights take at most %d inputs, not %d", WK_INT8_MAX_K, k);
    int32_t g = dtype_group(dtype);
    w->k = k;
    w->kp = round_up(k, g);
    w->n_panels = (n_cols + PANEL - 1) / PANEL;
    w->n = w->n_panels * PANEL;
    w->dtype = dtype;
    size_t bytes = (size_t)w->n * w->kp * dtype_bytes(dtype) + (dtype == WK_INT8 ? AMX_PANEL_SLACK : 0);
    w->data = wk_alloc_huge(bytes);
    if (!w->data) return wk_fail(WK_ERR_NOMEM, "out of memory packing a %d x %d weight", n_cols, k);
    memset(w->data, 0, bytes);
    if (dtype == WK_INT8) {
        w->scales = calloc((size_t)w->n, sizeof(float));
        w->offsets = calloc((size_t)w->n, sizeof(int32_t));
        if (!w->scales || !w->offsets) return wk_fail(WK_ERR_NOMEM, "out of memory for int8 scales");
    }
    return WK_OK;
}

void packed_free(packed* w) {
    free(w->data);
    free(w->scales);
    free(w->offsets);
    w->data = NULL;
    w->scales = NULL;
    w->offsets = NULL;
}

// Element index of (column i of a panel, input j) from the panel's start.
static inline int64_t panel_index(int32_t dtype, int32_t i, int32_t j) {
    int32_t g = dtype_group(dtype);
    return ((int64_t)(j / g) * PANEL + i) * g + j % g;
}

// Element index of (column c, input j) inside the packed data.
static inline int64_t packed_index(const packed* w, int32_t c, int32_t j) {
    return (int64_t)(c / PANEL) * w->kp * PANEL + panel_index(w->dtype, c % PANEL, j);
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
            float scale = int8_scale(amax);
            int32_t sum = 0;
            for (int32_t j = 0; j < w->k; j++) sum += d[packed_index(w, c, j)] = (int8_t)lrintf(row[j] / scale);
            w->scales[c] = scale;
            w->offsets[c] = -128 * sum;
        }
    }
}

void packed_column(const packed* w, int32_t c, float* out) {
    for (int32_t j = 0; j < w->k; j++) {
        int64_t at = packed_index(w, c, j);
        if (w->dtype == WK_F32) {
            out[j] = ((const float*)w->data)[at];
        } else if (w->dtype == WK_BF16) {
            out[j] = bf16_to_f32(((const uint16_t*)w->data)[at]);
        } else {
            out[j] = ((const int8_t*)w->data)[at] * w->scales[c];
        }
    }
}

// ----------------------------------------------------------------------------
// Micro-kernels for f32 and bf16 weights: tile[r][0..32) = sum_j x[r][j] * panel[j][0..32), r < R. R is a
// compile-time constant in each instance, so the accumulators stay in registers.

static inline float load_scalar(const void* panel, int32_t dtype, int64_t at) {
    return dtype == WK_F32 ? ((const float*)panel)[at] : bf16_to_f32(((const uint16_t*)panel)[at]);
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

// bf16 weights, f32 activations: each pair row (k, k+1) splits into the weights of k (shift) and of k+1 (and),
// multiplied in order, so every output is the same sum as with f32 weights of those values.
AVX512_FN void bf16_pairs_avx512(const int R, const float* x, int64_t ldx, const uint16_t* panel, int32_t K,
                                 __m512 acc[MAX_R][2], const char* next) {
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    for (int32_t j = 0; j < K; j += 2) {
        const uint16_t* p = panel + (int64_t)j * PANEL;
        prefetch_ahead(panel, next, (size_t)j * PANEL * sizeof *p);
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
                                  int32_t K, float* tile, int cont, const char* next) {
    __m512 acc[MAX_R][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = cont ? _mm512_loadu_ps(tile + r * PANEL) : _mm512_setzero_ps();
        acc[r][1] = cont ? _mm512_loadu_ps(tile + r * PANEL + 16) : _mm512_setzero_ps();
    }
    if (dtype == WK_BF16) {
        bf16_pairs_avx512(R, x, ldx, panel, K, acc, next);
    } else {
        for (int32_t j = 0; j < K; j++) {
            const float* p = (const float*)panel + (int64_t)j * PANEL;
            prefetch_ahead(panel, next, (size_t)j * PANEL * sizeof *p);
            __m512 w0 = _mm512_loadu_ps(p), w1 = _mm512_loadu_ps(p + 16);
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
                                float* tile, int cont, const char* next) {
    __m512 acc[MAX_R][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = cont ? _mm512_loadu_ps(tile + r * PANEL) : _mm512_setzero_ps();
        acc[r][1] = cont ? _mm512_loadu_ps(tile + r * PANEL + 16) : _mm512_setzero_ps();
    }
    for (int32_t j = 0; j < K; j += 2) {
        const uint16_t* p = panel + (int64_t)j * PANEL;
        prefetch_ahead(panel, next, (size_t)j * PANEL * sizeof *p);
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
        }                                                                                              \
    } while (0)

AVX2_FN void kernel_avx2_body(const int R, const float* x, int64_t ldx, const void* panel, const int32_t dtype,
                              int32_t K, float* tile, int cont, const char* next) {
    __m256 acc[MAX_R_AVX2][4];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = cont ? _mm256_loadu_ps(tile + r * PANEL + 8 * q) : _mm256_setzero_ps();
    size_t row_bytes = PANEL * dtype_bytes(dtype);
    for (int32_t j = 0; j < K; j++) {
        if (dtype == WK_F32 || j % 2 == 0) prefetch_ahead(panel, next, (size_t)j * row_bytes); // bf16: 64 bytes a row
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
        const float* x, int64_t ldx, const void* panel, int32_t K, float* tile, int cont, const char* next) { \
        kernel_avx512_body(R, x, ldx, panel, dt, K, tile, cont, next);                                     \
    }
#define DEF_AVX2(R, dt)                                                                                    \
    __attribute__((target("avx2,fma"))) static void k256_##dt##_##R(const float* x, int64_t ldx,           \
                                                                     const void* panel, int32_t K, float* tile,   \
                                                                     int cont, const char* next) {                \
        kernel_avx2_body(R, x, ldx, panel, dt, K, tile, cont, next);                                       \
    }
INSTANCES(DEF_512, WK_F32) INSTANCES(DEF_512, WK_BF16)
DEF_AVX2(1, WK_F32) DEF_AVX2(2, WK_F32)
DEF_AVX2(1, WK_BF16) DEF_AVX2(2, WK_BF16)

#define DEF_DPBF16(R)                                                                                     \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16"))) static void kdp_##R(             \
        const uint32_t* xp, int64_t ldp, const void* panel, int32_t K, float* tile, int cont, const char* next) { \
        kernel_dpbf16_body(R, xp, ldp, panel, K, tile, cont, next);                                        \
    }
DEF_DPBF16(1) DEF_DPBF16(2) DEF_DPBF16(3) DEF_DPBF16(4) DEF_DPBF16(5) DEF_DPBF16(6) DEF_DPBF16(7) DEF_DPBF16(8)
typedef void (*dp_fn)(const uint32_t* xp, int64_t ldp, const void* panel, int32_t K, float* tile, int cont,
                      const char* next);
static const dp_fn KDP[MAX_R] = {kdp_1, kdp_2, kdp_3, kdp_4, kdp_5, kdp_6, kdp_7, kdp_8};

typedef void (*micro_fn)(const float* x, int64_t ldx, const void* panel, int32_t K, float* tile, int cont,
                         const char* next);

#define ROW8(prefix, dt) {prefix##_##dt##_1, prefix##_##dt##_2, prefix##_##dt##_3, prefix##_##dt##_4, \
                          prefix##_##dt##_5, prefix##_##dt##_6, prefix##_##dt##_7, prefix##_##dt##_8}
static const micro_fn K512[2][MAX_R] = {ROW8(k512, WK_F32), ROW8(k512, WK_BF16)};
static const micro_fn K256[2][MAX_R_AVX2] = {{k256_WK_F32_1, k256_WK_F32_2}, {k256_WK_BF16_1, k256_WK_BF16_2}};

// ----------------------------------------------------------------------------
// W8A8 (int8 weights, see gemm.h): the activations of a product quantized once per call, and micro-kernels
// that add the exact int32 sums sum_j (q[r][j] + 128) * w[j][c] to tile[r][c], starting from start[c] when
// given (else from the int32 sums the tile holds), and with xs given (the last chunk of K) turn them into
// (float)sum * xs[r] * ws[c]. K is a multiple of 4. Every path adds the same integers and finishes with the same
// two roundings, so all of them return the scalar kernel's floats bit for bit.

// Rows of quantized activations gemm keeps: whole AMX tiles of 16.
static int32_t tile_rows(int32_t n_rows) { return round_up(n_rows, 16); }

// The u8 of x in a row of scale s: rint(x / s) + 128 (|x / s| passes 127 by a rounding error at most, so the rounded
// value is within -127..127).
static inline uint8_t quantize_u8(float x, float s) { return (uint8_t)(lrintf(x / s) + 128); }

// A row's u8 and its scale, 16 or 8 inputs at a time; max is exact in any order and vcvtps2dq rounds to nearest
// even as lrintf does, so every path quantizes alike. The scale returned is NaN when an input is not finite, so
// that row's outputs are NaN as they would be with f32 activations, not quietly finite.
#define TARGET_512 "avx512f,avx512bw,avx512dq,avx512vl"
__attribute__((target(TARGET_512))) static float quantize_row_512(const float* x, int32_t n, uint8_t* q) {
    float poison = 0.0f, s = int8_scale(absmax_512(x, n, &poison));
    const __m512 sv = _mm512_set1_ps(s);
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512i v = _mm512_cvtps_epi32(_mm512_div_ps(_mm512_loadu_ps(x + j), sv));
        v = _mm512_add_epi32(v, _mm512_set1_epi32(128));
        _mm_storeu_si128((__m128i*)(q + j), _mm512_cvtepi32_epi8(v));
    }
    for (; j < n; j++) q[j] = quantize_u8(x[j], s);
    return s + poison;
}

__attribute__((target("avx2,fma"))) static float quantize_row_256(const float* x, int32_t n, uint8_t* q) {
    __m256 m = _mm256_setzero_ps(), z = _mm256_setzero_ps();
    int32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        m = _mm256_max_ps(m, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v));
        z = _mm256_add_ps(z, _mm256_mul_ps(v, _mm256_setzero_ps()));
    }
    float poison = hsum256(z), s = int8_scale(absmax_from(x, j, n, hmax256(m), &poison));
    const __m256 sv = _mm256_set1_ps(s);
    for (j = 0; j + 8 <= n; j += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(x + j), sv));
        v = _mm256_add_epi32(v, _mm256_set1_epi32(128));
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); // 1..255 fit
        _mm_storel_epi64((__m128i*)(q + j), _mm_packus_epi16(w, w));
    }
    for (; j < n; j++) q[j] = quantize_u8(x[j], s);
    return s + poison;
}

static float quantize_row_scalar(const float* x, int32_t n, uint8_t* q) {
    float poison = 0.0f, s = int8_scale(absmax_from(x, 0, n, 0.0f, &poison));
    for (int32_t j = 0; j < n; j++) q[j] = quantize_u8(x[j], s);
    return s + poison;
}

// Rows of x (k inputs) into u8 rows of ldq bytes and their scales xs. The bytes past k are 0 (they meet zero weights,
// or on AMX the next panel's weights, and add nothing); on the AMX paths so are the rows up to a multiple of 16 (a
// tile's), which a tile of a short row group reads.
static void quantize_rows(int32_t path, const float* x, int64_t ldx, int32_t n_rows, int32_t k, uint8_t* xq,
                          int64_t ldq, float* xs) {
    for (int32_t r = 0; r < n_rows; r++) {
        const float* row = x + r * ldx;
        uint8_t* q = xq + r * ldq;
        xs[r] = simd_has_avx512(path) ? quantize_row_512(row, k, q)
                : path == SIMD_AVX2   ? quantize_row_256(row, k, q)
                                      : quantize_row_scalar(row, k, q);
        memset(q + k, 0, (size_t)(ldq - k));
    }
    if (simd_has_amx(path)) memset(xq + n_rows * ldq, 0, (size_t)((tile_rows(n_rows) - n_rows) * ldq));
}

static inline int32_t load_i32(const uint8_t* p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void kernel_int8_scalar(int R, const uint8_t* xq, int64_t ldq, const int8_t* panel, int32_t K, float* tile,
                               const int32_t* start, const float* xs, const float* ws) {
    int32_t acc[MAX_R][PANEL];
    for (int r = 0; r < R; r++)
        memcpy(acc[r], start ? (const void*)start : (const void*)(tile + r * PANEL), sizeof acc[r]);
    for (int32_t j = 0; j < K; j += 4)
        for (int32_t i = 0; i < PANEL; i++)
            for (int32_t t = 0; t < 4; t++) {
                int32_t w = panel[(int64_t)j * PANEL + i * 4 + t];
                for (int r = 0; r < R; r++) acc[r][i] += xq[r * ldq + j + t] * w;
            }
    for (int r = 0; r < R; r++) {
        if (!xs) {
            memcpy(tile + r * PANEL, acc[r], sizeof acc[r]);
            continue;
        }
        for (int i = 0; i < PANEL; i++) tile[r * PANEL + i] = (float)acc[r][i] * xs[r] * ws[i];
    }
}

// The int32 accumulators are GCC's __v16si / __v8si, not __m512i / __m256i (vectors of int64): with those, gcc 12
// copies every accumulator through another register and spills some inside the loop.

// AVX-512: two vectors of 16 columns per row.
AVX512_FN void int8_start_512(const int R, __v16si acc[MAX_R][2], const float* tile, const int32_t* start) {
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 2; h++)
            acc[r][h] = (__v16si)_mm512_loadu_si512(start ? (const void*)(start + 16 * h) : tile + r * PANEL + 16 * h);
}

AVX512_FN void int8_finish_512(const int R, __v16si acc[MAX_R][2], float* tile, const float* xs, const float* ws) {
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 2; h++) {
            float* t = tile + r * PANEL + 16 * h;
            if (!xs) {
                _mm512_storeu_si512(t, (__m512i)acc[r][h]);
                continue;
            }
            __m512 sum = _mm512_cvtepi32_ps((__m512i)acc[r][h]);
            _mm512_storeu_ps(t, _mm512_mul_ps(_mm512_mul_ps(sum, _mm512_set1_ps(xs[r])), _mm512_loadu_ps(ws + 16 * h)));
        }
}

// vpdpbusd: a 64-byte panel load is 16 columns x 4 inputs; a row's 4 u8 broadcast to every column.
#define VNNI_FN __attribute__((target(TARGET_512 ",avx512vnni"), always_inline)) static inline
VNNI_FN void kernel_vnni_body(const int R, const uint8_t* xq, int64_t ldq, const int8_t* panel, int32_t K, float* tile,
                              const int32_t* start, const float* xs, const float* ws, const char* next) {
    __v16si acc[MAX_R][2];
    int8_start_512(R, acc, tile, start);
    for (int32_t j = 0; j < K; j += 4) {
        const int8_t* p = panel + (int64_t)j * PANEL;
        prefetch_ahead(panel, next, (size_t)j * PANEL);
        __m512i w0 = _mm512_loadu_si512(p), w1 = _mm512_loadu_si512(p + 64);
        for (int r = 0; r < R; r++) {
            __m512i xv = _mm512_set1_epi32(load_i32(xq + r * ldq + j));
            acc[r][0] = (__v16si)_mm512_dpbusd_epi32((__m512i)acc[r][0], xv, w0);
            acc[r][1] = (__v16si)_mm512_dpbusd_epi32((__m512i)acc[r][1], xv, w1);
        }
    }
    int8_finish_512(R, acc, tile, xs, ws);
}

// Without VNNI, exactly: bytes 0, 2 and 1, 3 of each 4 widened to int16 (weights sign-, activations zero-extended),
// two vpmaddwd give w0 x0 + w2 x2 and w1 x1 + w3 x3 per column. vpmaddubsw would saturate 255 x 127 x 2.
AVX512_FN __v16si dot4_madd_512(__v16si acc, __m512i xv, __m512i w_even, __m512i w_odd) {
    __m512i x_even = _mm512_and_si512(xv, _mm512_set1_epi16(0xff)), x_odd = _mm512_srli_epi16(xv, 8);
    return acc + (__v16si)_mm512_madd_epi16(w_even, x_even) + (__v16si)_mm512_madd_epi16(w_odd, x_odd);
}

AVX512_FN void kernel_int8_512_body(const int R, const uint8_t* xq, int64_t ldq, const int8_t* panel, int32_t K,
                                    float* tile, const int32_t* start, const float* xs, const float* ws, const char* next) {
    __v16si acc[MAX_R][2];
    int8_start_512(R, acc, tile, start);
    for (int32_t j = 0; j < K; j += 4) {
        const int8_t* p = panel + (int64_t)j * PANEL;
        prefetch_ahead(panel, next, (size_t)j * PANEL);
        __m512i w_even[2], w_odd[2];
        for (int h = 0; h < 2; h++) {
            __m512i w = _mm512_loadu_si512(p + 64 * h);
            w_even[h] = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 8);
            w_odd[h] = _mm512_srai_epi16(w, 8);
        }
        for (int r = 0; r < R; r++) {
            __m512i xv = _mm512_set1_epi32(load_i32(xq + r * ldq + j));
            for (int h = 0; h < 2; h++) acc[r][h] = dot4_madd_512(acc[r][h], xv, w_even[h], w_odd[h]);
        }
    }
    int8_finish_512(R, acc, tile, xs, ws);
}

// AVX2: the same as the AVX-512 fallback on four vectors of 8 columns per row, one vector of the panel at a time
// (each row's activations split into even and odd bytes once per 4 inputs): with all four vectors' weights live at
// once, 2 rows x 4 accumulators overflowed AVX2's 16 registers and GCC stored every accumulator on each step.
AVX2_FN __v8si dot4_madd_256(__v8si acc, __m256i x_even, __m256i x_odd, __m256i w_even, __m256i w_odd) {
    return acc + (__v8si)_mm256_madd_epi16(w_even, x_even) + (__v8si)_mm256_madd_epi16(w_odd, x_odd);
}

AVX2_FN void kernel_int8_avx2_body(const int R, const uint8_t* xq, int64_t ldq, const int8_t* panel, int32_t K,
                                   float* tile, const int32_t* start, const float* xs, const float* ws, const char* next) {
    __v8si acc[MAX_R_AVX2][4];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = (__v8si)_mm256_loadu_si256(start ? (const void*)(start + 8 * q) : tile + r * PANEL + 8 * q);
    for (int32_t j = 0; j < K; j += 4) {
        const int8_t* p = panel + (int64_t)j * PANEL;
        prefetch_ahead(panel, next, (size_t)j * PANEL);
        __m256i x_even[MAX_R_AVX2], x_odd[MAX_R_AVX2];
        for (int r = 0; r < R; r++) {
            __m256i xv = _mm256_set1_epi32(load_i32(xq + r * ldq + j));
            x_even[r] = _mm256_and_si256(xv, _mm256_set1_epi16(0xff));
            x_odd[r] = _mm256_srli_epi16(xv, 8);
        }
        for (int q = 0; q < 4; q++) {
            __m256i w = _mm256_loadu_si256((const __m256i*)(p + 32 * q));
            __m256i w_even = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8), w_odd = _mm256_srai_epi16(w, 8);
            for (int r = 0; r < R; r++) acc[r][q] = dot4_madd_256(acc[r][q], x_even[r], x_odd[r], w_even, w_odd);
        }
    }
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) {
            float* t = tile + r * PANEL + 8 * q;
            if (!xs) {
                _mm256_storeu_si256((__m256i*)t, (__m256i)acc[r][q]);
                continue;
            }
            __m256 sum = _mm256_cvtepi32_ps((__m256i)acc[r][q]);
            _mm256_storeu_ps(t, _mm256_mul_ps(_mm256_mul_ps(sum, _mm256_set1_ps(xs[r])), _mm256_loadu_ps(ws + 8 * q)));
        }
}

#define DEF_INT8(R, name, tgt, body)                                                                      \
    __attribute__((target(tgt))) static void name##_##R(const uint8_t* xq, int64_t ldq, const int8_t* panel, \
                                                           int32_t K, float* tile, const int32_t* start,       \
                                                           const float* xs, const float* ws, const char* next) { \
        body(R, xq, ldq, panel, K, tile, start, xs, ws, next);                                                 \
    }
#define DEF_VNNI(R, _) DEF_INT8(R, kvnni, TARGET_512 ",avx512vnni", kernel_vnni_body)
#define DEF_I8_512(R, _) DEF_INT8(R, ki8_512, TARGET_512, kernel_int8_512_body)
#define DEF_I8_256(R, _) DEF_INT8(R, ki8_256, "avx2,fma", kernel_int8_avx2_body)
INSTANCES(DEF_VNNI, _) INSTANCES(DEF_I8_512, _)
DEF_I8_256(1, _) DEF_I8_256(2, _)
typedef void (*int8_fn)(const uint8_t* xq, int64_t ldq, const int8_t* panel, int32_t K, float* tile,
                        const int32_t* start, const float* xs, const float* ws, const char* next);
#define ROW8_I8(name) {name##_1, name##_2, name##_3, name##_4, name##_5, name##_6, name##_7, name##_8}
static const int8_fn KVNNI[MAX_R] = ROW8_I8(kvnni), KI8_512[MAX_R] = ROW8_I8(ki8_512);
static const int8_fn KI8_256[MAX_R_AVX2] = {ki8_256_1, ki8_256_2};

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

// A panel's largest value (NaNs skipped, -inf if all are) and the first of its `cols` columns holding it, stored as
// column c0 + i; see gemm_argmax for column 0.
static void panel_argmax_scalar(const float* t, int cols, int32_t c0, float* max, int32_t* arg) {
    float m = -INFINITY;
    for (int i = 0; i < cols; i++)
        if (t[i] > m) m = t[i];
    int i = 0;
    while (i + 1 < cols && !(t[i] == m || (m == -INFINITY && t[i] != t[i]))) i++; // an all-NaN panel: its first column
    *max = m;
    *arg = c0 + i;
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static void panel_argmax_512(const float* t, int32_t c0,
                                                                                          float* max, int32_t* arg) {
    __m512 ninf = _mm512_set1_ps(-INFINITY); // max_ps(x, -inf) is -inf for a NaN x (the second operand wins)
    __m512 a = _mm512_max_ps(_mm512_loadu_ps(t), ninf), b = _mm512_max_ps(_mm512_loadu_ps(t + 16), ninf);
    float m = _mm512_reduce_max_ps(_mm512_max_ps(a, b));
    __m512 mv = _mm512_set1_ps(m);
    uint32_t hit = (uint32_t)_mm512_cmpeq_ps_mask(a, mv) | (uint32_t)_mm512_cmpeq_ps_mask(b, mv) << 16;
    *max = m;
    *arg = c0 + __builtin_ctz(hit); // m is one of the 32 (NaNs read as -inf), so hit is not 0
}

static void panel_argmax(int32_t path, const float* t, int cols, int32_t c0, float* max, int32_t* arg) {
    if (c0 == 0 && t[0] != t[0]) { // wk_argmax_ref stays at a NaN index 0
        *max = NAN;
        *arg = 0;
    } else if (cols == PANEL && simd_has_avx512(path)) {
        panel_argmax_512(t, c0, max, arg);
    } else {
        panel_argmax_scalar(t, cols, c0, max, arg);
    }
}

int32_t gemm_argmax_of_panels(const float* panel_max, const int32_t* panel_arg, int32_t n_units) {
    int32_t best = 0;
    for (int32_t u = 1; u < n_units; u++)
        if (panel_max[u] > panel_max[best]) best = u; // a NaN panel 0 is never beaten
    return panel_arg[best];
}

// ----------------------------------------------------------------------------
// Driver: an item is (column unit, row group); a unit is one panel, or a (gate, up) pair for SwiGLU.

typedef struct {
    int32_t path;
    const packed* w;
    const float* x;
    int32_t ldx, n_rows, ldo, n_out, n_groups, units;
    float* out;
    epilogue e;
    const void* xc;  // the activations converted once per call: bf16 pairs (AVX512_BF16 path, bf16 weights) or u8
                     // (int8 weights), else NULL
    int64_t ldc;     // elements of xc per row
    const float* xs; // int8 weights: the rows' activation scales
    float* panel_max;   // EPI_ARGMAX: (n_rows, units) per-panel maxima and their columns
    int32_t* panel_arg;
} gemm_job;

static int max_rows(int32_t path) { return path == SIMD_AVX2 ? MAX_R_AVX2 : MAX_R; }

// Inputs k0..k1 of rows rb..rb+R-1 against panel p into tile[r][32]: the sum starts afresh when k0 == 0, else
// continues the tile's partial sums (the same additions in the same order as one pass over all of K). The chunk's
// first row block (first) prefetches its own stream; the others prefetch what follows the chunk (prefetch_ahead).
static void micro_k(const gemm_job* j, int32_t p, int32_t rb, int R, float* tile, int32_t k0, int32_t k1, int first) {
    const packed* w = j->w;
    int32_t g = dtype_group(w->dtype);
    size_t bytes = dtype_bytes(w->dtype);
    const void* panel = (const char*)w->data + ((size_t)p * w->kp + k0) * PANEL * bytes;
    const char* next = first ? NULL : (const char*)panel + (size_t)round_up(k1 - k0, g) * PANEL * bytes;
    int cont = k0 > 0;
    if (w->dtype == WK_INT8) {
        const uint8_t* xq = (const uint8_t*)j->xc + rb * j->ldc + k0;
        const int32_t* start = cont ? NULL : w->offsets + (int64_t)p * PANEL;
        const float* xs = k1 == w->k ? j->xs + rb : NULL;
        const float* ws = w->scales + (int64_t)p * PANEL;
        int32_t K = round_up(k1 - k0, 4);
        int8_fn f = simd_has_vnni(j->path)      ? KVNNI[R - 1]
                    : simd_has_avx512(j->path)  ? KI8_512[R - 1]
                    : j->path == SIMD_AVX2      ? KI8_256[R - 1]
                                                : NULL;
        if (f) f(xq, j->ldc, panel, K, tile, start, xs, ws, next);
        else kernel_int8_scalar(R, xq, j->ldc, panel, K, tile, start, xs, ws);
        return;
    }
    const float* x = j->x + (int64_t)rb * j->ldx + k0;
    int bf16 = w->dtype == WK_BF16;
    if (j->xc)
        KDP[R - 1]((const uint32_t*)j->xc + rb * j->ldc + k0 / 2, j->ldc, panel, round_up(k1 - k0, 2), tile, cont, next);
    else if (simd_has_avx512(j->path))
        K512[bf16][R - 1](x, j->ldx, panel, k1 - k0, tile, cont, next);
    else if (j->path == SIMD_AVX2)
        K256[bf16][R - 1](x, j->ldx, panel, k1 - k0, tile, cont, next);
    else
        kernel_scalar(R, x, j->ldx, panel, w->dtype, k1 - k0, tile, cont);
}

// AMX (amx.h): a whole row group's sums of an int8 panel from the tile registers.

// Row groups at least this tall use the tiles; shorter ones would leave most of a tile's 16 rows idle.
#define AMX_MIN_ROWS 16
_Static_assert(ROW_GROUP <= AMX_MAX_ROWS, "a row group fits in the tiles of one call");

static int uses_tiles(const gemm_job* j, int32_t rows) {
    return simd_has_amx(j->path) && j->w->dtype == WK_INT8 && rows >= AMX_MIN_ROWS;
}

// The tiles' sums plus the columns' offsets are the integers the VNNI kernel's accumulators hold at the end of K, and
// int8_finish_512 turns them into its floats.
__attribute__((target(TARGET_512))) static void finish_tile_sums(const int32_t* sums, int32_t rows, const int32_t* offsets,
                                                                  const float* xs, const float* ws, float* tile) {
    for (int32_t rb = 0; rb < rows; rb += MAX_R) {
        int R = rows - rb < MAX_R ? rows - rb : MAX_R;
        __v16si acc[MAX_R][2];
        for (int r = 0; r < R; r++)
            for (int h = 0; h < 2; h++)
                acc[r][h] = (__v16si)_mm512_loadu_si512(sums + (rb + r) * PANEL + 16 * h) +
                            (__v16si)_mm512_loadu_si512(offsets + 16 * h);
        int8_finish_512(R, acc, tile + rb * PANEL, xs + rb, ws);
    }
}

// tile[r][32] for rows [r0, r1) of panel p, over all of K.
static void panel_tiles_amx(const gemm_job* j, int32_t p, int32_t r0, int32_t r1, float* tile) {
    const packed* w = j->w;
    int32_t sums[AMX_MAX_ROWS * PANEL] __attribute__((aligned(64)));
    amx_int8_sums(j->path == SIMD_AMX_MODEL, (const uint8_t*)j->xc + r0 * j->ldc, j->ldc, r1 - r0,
                  (const int8_t*)w->data + (size_t)p * w->kp * PANEL, round_up(w->kp, AMX_K_STEP), sums);
    finish_tile_sums(sums, r1 - r0, w->offsets + (int64_t)p * PANEL, j->xs + r0, w->scales + (int64_t)p * PANEL, tile);
}

// Tiles of panel p for rows [r0, r1): tiles[b] holds row block b (R_max rows each). With several row blocks the
// panel is walked in chunks of K_CHUNK inputs, every block per chunk, so each chunk is loaded from memory once
// and reused from L1 by all the blocks (otherwise the first block waits on memory and the rest re-read L2).
#define K_CHUNK 128               // a multiple of every storage's group of inputs
#define L1_PANEL_BYTES (32 << 10) // a smaller panel stays in L1 across the blocks anyway
static void panel_tiles(const gemm_job* j, int32_t p, int32_t r0, int32_t r1, int R_max, float* tiles) {
    const packed* w = j->w;
    if (uses_tiles(j, r1 - r0)) { // R_max is MAX_R on the AMX paths: block b's rows follow block b - 1's
        panel_tiles_amx(j, p, r0, r1, tiles);
        return;
    }
    int32_t n_blocks = (r1 - r0 + R_max - 1) / R_max;
    int32_t step = n_blocks > 1 && (size_t)w->k * PANEL * dtype_bytes(w->dtype) > L1_PANEL_BYTES ? K_CHUNK : w->k;
    for (int32_t k0 = 0; k0 < w->k; k0 += step) {
        int32_t k1 = k0 + step < w->k ? k0 + step : w->k;
        for (int32_t b = 0; b < n_blocks; b++) {
            int32_t rb = r0 + b * R_max, R = r1 - rb < R_max ? r1 - rb : R_max;
            micro_k(j, p, rb, R, tiles + (int64_t)b * MAX_R * PANEL, k0, k1, b == 0);
        }
    }
}

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
            panel_tiles(j, 2 * unit, r0, r1, R_max, tile);
            panel_tiles(j, 2 * unit + 1, r0, r1, R_max, tile2);
        } else {
            panel_tiles(j, unit, r0, r1, R_max, tile);
        }
        for (int32_t r = r0; r < r1; r++) {
            int32_t at = ((r - r0) / R_max) * MAX_R * PANEL + ((r - r0) % R_max) * PANEL;
            const float* t = tile + at;
            if (j->e == EPI_ARGMAX) {
                int64_t u = (int64_t)r * j->units + unit;
                panel_argmax(j->path, t, cols, c0, j->panel_max + u, j->panel_arg + u);
                continue;
            }
            float* o = j->out + (int64_t)r * j->ldo + c0;
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

// bf16 pairs per row, or the int8 scale per row and quantize_rows' u8: rows of k rounded up to AMX_K_STEP bytes, as
// many as tile_rows.
int64_t gemm_scratch_bytes(int32_t k, int32_t n_rows) {
    int64_t pairs = (int64_t)(k + 1) / 2 * sizeof(uint32_t) * n_rows;
    int64_t int8 = (int64_t)sizeof(float) * n_rows + (int64_t)round_up(k, AMX_K_STEP) * tile_rows(n_rows);
    return pairs > int8 ? pairs : int8;
}

static uint32_t bf16_pair(float lo, float hi) { return f32_to_bf16(lo) | (uint32_t)f32_to_bf16(hi) << 16; }

// Converts the activations as the weights' arithmetic needs (see gemm_scratch_bytes), then runs the job's items.
static void run_gemm(pool* p, gemm_job* job, void* scratch) {
    const packed* w = job->w;
    const float* x = job->x;
    int32_t n_rows = job->n_rows, ldx = job->ldx;
    if (w->dtype == WK_INT8) { // quantize the activations once: the rows' scales, then their u8
        float* xs = scratch;
        uint8_t* xq = (uint8_t*)(xs + n_rows);
        int32_t ldq = round_up(w->kp, AMX_K_STEP);
        quantize_rows(job->path, x, ldx, n_rows, w->k, xq, ldq, xs);
        job->xc = xq;
        job->ldc = ldq;
        job->xs = xs;
    } else if (job->path == SIMD_AVX512_BF16 && w->dtype == WK_BF16) { // round the activations to bf16 pairs once
        uint32_t* pairs = scratch;
        job->ldc = (w->k + 1) / 2;
        for (int32_t r = 0; r < n_rows; r++)
            for (int32_t j = 0; j < w->k; j += 2)
                pairs[r * job->ldc + j / 2] = bf16_pair(x[(int64_t)r * ldx + j], j + 1 < w->k ? x[(int64_t)r * ldx + j + 1] : 0.0f);
        job->xc = pairs;
    }
    int64_t items = (int64_t)job->units * job->n_groups;
    if (p == NULL || (int64_t)n_rows * w->k * w->n < GEMM_PARALLEL_MIN)
        gemm_range(job, 0, items, 0);
    else
        pool_run(p, items, gemm_range, job);
}

void gemm(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, float* out, int32_t ldo,
          int32_t n_out, epilogue e, void* scratch) {
    if (n_rows <= 0 || n_out <= 0) return;
    gemm_job job = {.path = path, .w = w, .x = x, .ldx = ldx, .n_rows = n_rows, .ldo = ldo, .n_out = n_out,
                    .n_groups = (n_rows + ROW_GROUP - 1) / ROW_GROUP, .units = (n_out + PANEL - 1) / PANEL, .out = out, .e = e};
    run_gemm(p, &job, scratch);
}

void gemm_argmax(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, int32_t n_out,
                 float* panel_max, int32_t* panel_arg, void* scratch) {
    if (n_rows <= 0 || n_out <= 0) return;
    gemm_job job = {.path = path, .w = w, .x = x, .ldx = ldx, .n_rows = n_rows, .n_out = n_out,
                    .n_groups = (n_rows + ROW_GROUP - 1) / ROW_GROUP, .units = (n_out + PANEL - 1) / PANEL,
                    .e = EPI_ARGMAX, .panel_max = panel_max, .panel_arg = panel_arg};
    run_gemm(p, &job, scratch);
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
        case SIMD_AVX512_VNNI: return simd_path_supported(SIMD_AVX512) && __builtin_cpu_supports("avx512vnni");
        case SIMD_AMX: return simd_path_supported(SIMD_AVX512_VNNI) && amx_available();
        case SIMD_AMX_MODEL: return simd_path_supported(SIMD_AVX512_VNNI);
        default: return 0;
    }
}

const char* simd_path_name(int32_t path) {
    static const char* const names[SIMD_N_PATHS] = {"scalar",     "avx2", "avx512",   "avx512bf16",
                                                     "avx512vnni", "amx",  "amx-model"};
    return path >= 0 && path < SIMD_N_PATHS ? names[path] : "?";
}

int32_t simd_best_path(int32_t dtype) {
    const char* forced = getenv("WEIR_SIMD");
    if (forced && *forced)
        for (int32_t p = 0; p < SIMD_N_PATHS; p++)
            if (strcmp(forced, simd_path_name(p)) == 0 && simd_path_supported(p)) return p;
    if (dtype == WK_BF16 && simd_path_supported(SIMD_AVX512_BF16)) return SIMD_AVX512_BF16;
    if (dtype == WK_INT8 && simd_path_supported(SIMD_AMX)) return SIMD_AMX;
    if (dtype == WK_INT8 && simd_path_supported(SIMD_AVX512_VNNI)) return SIMD_AVX512_VNNI;
    for (int32_t p = SIMD_AVX512; p > 0; p--)
        if (simd_path_supported(p)) return p;
    return SIMD_SCALAR;
}
