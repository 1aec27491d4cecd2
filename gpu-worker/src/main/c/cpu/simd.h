/*
 * simd.h: the SIMD paths of the CPU backend and small vector helpers shared by the kernels
 * (a vectorised exp, horizontal sums). Every function that uses AVX2 or AVX-512 carries its own
 * target attribute, so the library builds for any x86-64 and dispatches at run time.
 */
#ifndef WK_SIMD_H
#define WK_SIMD_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

// AVX512_BF16 is AVX-512 plus, for bf16-stored weights, products in bf16 (vdpbf16ps: activations rounded to
// bf16, products summed in f32), twice the multiply-adds per instruction of f32 FMA. AVX512_VNNI is AVX-512
// plus, for int8-stored weights, vpdpbusd (4 byte products summed into each int32 lane), four times the
// multiply-adds per instruction of f32 FMA; its results equal every other path's (gemm.h). Each extension
// changes only its own storage type, so a model takes the best path for its weights. AMX is AVX512_VNNI plus, for
// int8-stored weights and row groups of at least a tile's 16 rows, tdpbusd on tile registers (amx.h), with the same
// results; AMX_MODEL runs that same kernel on a C model of the tile instructions (for tests: it is slow).
enum {
    SIMD_SCALAR = 0,
    SIMD_AVX2 = 1,
    SIMD_AVX512 = 2,
    SIMD_AVX512_BF16 = 3,
    SIMD_AVX512_VNNI = 4,
    SIMD_AMX = 5,
    SIMD_AMX_MODEL = 6,
    SIMD_N_PATHS = 7
};

// True for the paths that may use AVX-512F.
static inline int simd_has_avx512(int32_t path) { return path >= SIMD_AVX512; }

// True for the paths that multiply int8 weights with vpdpbusd.
static inline int simd_has_vnni(int32_t path) { return path == SIMD_AVX512_VNNI || path >= SIMD_AMX; }

// True for the paths that multiply int8 weights on AMX tiles (or their model).
static inline int simd_has_amx(int32_t path) { return path >= SIMD_AMX; }

// 1 if this CPU (and OS) can run the path.
int32_t simd_path_supported(int32_t path);
// The fastest supported path for weights stored as dtype (WK_F32, WK_BF16, WK_INT8), or the one WEIR_SIMD
// (a simd_path_name) forces if supported.
int32_t simd_best_path(int32_t dtype);
const char* simd_path_name(int32_t path);

// The symmetric int8 scale of values whose largest magnitude is amax (weights per column, activations per row, KV
// entries per position and kv head).
static inline float int8_scale(float amax) { return amax > 0.0f ? amax / 127.0f : 1.0f; }

// max |x[j]| over j0 <= j < n, from amax; adds x * 0 to *poison, which stays 0 unless some x is infinite or NaN (so
// a scale with it added is NaN and the outputs built from it are too, not quietly finite).
static inline float absmax_from(const float* x, int32_t j0, int32_t n, float amax, float* poison) {
    for (int32_t j = j0; j < n; j++) {
        amax = fmaxf(amax, fabsf(x[j]));
        *poison += x[j] * 0.0f;
    }
    return amax;
}

// The same over i < n, 16 at a time (the max is exact in any order).
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static inline float absmax_512(const float* x, int32_t n,
                                                                                           float* poison) {
    __m512 m = _mm512_setzero_ps(), z = _mm512_setzero_ps();
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        m = _mm512_max_ps(m, _mm512_abs_ps(v));
        z = _mm512_add_ps(z, _mm512_mul_ps(v, _mm512_setzero_ps()));
    }
    *poison += _mm512_reduce_add_ps(z);
    return absmax_from(x, i, n, _mm512_reduce_max_ps(m), poison);
}

// f32 -> bf16, rounding to nearest even (weights and KV entries are stored this way; NaN stays NaN).
static inline uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#define AVX2_FN __attribute__((target("avx2,fma"), always_inline)) static inline
#define AVX512_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"), always_inline)) static inline

// exp(x) for 16 / 8 floats, Cephes' polynomial after range reduction (relative error ~2e-7);
// inputs below -87 give 0 (softmax masks rely on exp(-inf) = 0).
AVX512_FN __m512 exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.5f));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, fx);
}

AVX2_FN __m256 exp256(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.5f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i pow2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2));
}

AVX2_FN float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_FN float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Mask of the first n (0..8) lanes, for AVX2 masked loads and stores.
AVX2_FN __m256i mask256(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float silu_f(float g) { return g / (1.0f + expf(-g)); }

#endif // WK_SIMD_H
