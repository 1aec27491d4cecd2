/*
 * attention.c: paged KV cache writes and attention (scalar, AVX2, AVX-512). See attention.h.
 * Two passes per (row, kv head): scores of every position for every query head of the group, then
 * softmax and the weighted sum of values. Scores of positions past `pos` are masked to -inf, so stale
 * data in a block's unused tail never matters.
 */
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/wk_common.h"
#include "simd.h"

int32_t kv_pool_alloc(kv_pool* kv, int32_t n_layers, int32_t n_blocks, int32_t block_size, int32_t n_kv_heads,
                      int32_t head_dim) {
    *kv = (kv_pool){n_layers, n_blocks, block_size, n_kv_heads, head_dim, NULL, NULL};
    size_t elems = (size_t)n_layers * n_blocks * block_size * n_kv_heads * head_dim;
    kv->k = wk_alloc_huge(elems * sizeof(float));
    kv->v = wk_alloc_huge(elems * sizeof(float));
    if (!kv->k || !kv->v) {
        kv_pool_free(kv);
        return wk_fail(WK_ERR_NOMEM, "out of memory for the KV cache (%d blocks, %lld MiB)", n_blocks,
                       (long long)(2 * elems * sizeof(float) >> 20));
    }
    return WK_OK;
}

void kv_pool_free(kv_pool* kv) {
    free(kv->k);
    free(kv->v);
    kv->k = kv->v = NULL;
}

// Start of (layer, block, kv head) in k or v: both hold head_dim * block_size floats there.
static inline int64_t head_offset(const kv_pool* kv, int32_t layer, int32_t block, int32_t kvh) {
    return (((int64_t)layer * kv->n_blocks + block) * kv->n_kv_heads + kvh) * kv->head_dim * kv->block_size;
}

void kv_write(const kv_pool* kv, int32_t layer, int32_t block, int32_t offset, const float* k, const float* v) {
    int32_t hd = kv->head_dim, bs = kv->block_size;
    for (int32_t h = 0; h < kv->n_kv_heads; h++) {
        float* kd = kv->k + head_offset(kv, layer, block, h) + offset;
        for (int32_t i = 0; i < hd; i++) kd[(int64_t)i * bs] = k[h * hd + i];
        memcpy(kv->v + head_offset(kv, layer, block, h) + (int64_t)offset * hd, v + h * hd, (size_t)hd * sizeof(float));
    }
}

// ----------------------------------------------------------------------------
// Scalar

static void attend_scalar(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                          int32_t group, const float* q, float scale, float* out, float* s) {
    int32_t hd = kv->head_dim, bs = kv->block_size, n = pos + 1;
    for (int32_t h = 0; h < group; h++) {
        float* sh = s + (int64_t)h * (pos + 16);
        float max = -INFINITY;
        for (int32_t t = 0; t < n; t++) {
            const float* kb = kv->k + head_offset(kv, layer, table[t / bs], kvh) + t % bs;
            float dot = 0.0f;
            for (int32_t i = 0; i < hd; i++) dot += q[h * hd + i] * kb[(int64_t)i * bs];
            sh[t] = dot * scale;
            if (sh[t] > max) max = sh[t];
        }
        float sum = 0.0f;
        for (int32_t t = 0; t < n; t++) sum += (sh[t] = expf(sh[t] - max));
        float* o = out + h * hd;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int32_t t = 0; t < n; t++) {
            const float* vt = kv->v + head_offset(kv, layer, table[t / bs], kvh) + (int64_t)(t % bs) * hd;
            float a = sh[t] / sum;
            for (int32_t i = 0; i < hd; i++) o[i] += a * vt[i];
        }
    }
}

// ----------------------------------------------------------------------------
// AVX-512: 16 positions per score vector

#define A512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

A512 static void attend_avx512(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                               int32_t group, const float* q, float scale, float* out, float* s) {
    int32_t hd = kv->head_dim, bs = kv->block_size, n = pos + 1, padded = (n + 15) / 16 * 16, stride = pos + 16;
    int32_t nv = (hd + 15) / 16;
    __mmask16 tail = (__mmask16)(hd % 16 == 0 ? 0xffff : (1u << (hd % 16)) - 1);
    for (int32_t h = 0; h < group; h++) {
        float* sh = s + (int64_t)h * stride;
        const float* qh = q + h * hd;
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        for (int32_t t0 = 0; t0 < n; t0 += 16) {
            const float* kb = kv->k + head_offset(kv, layer, table[t0 / bs], kvh) + t0 % bs;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            int32_t i = 0;
            for (; i + 2 <= hd; i += 2) {
                acc0 = _mm512_fmadd_ps(_mm512_set1_ps(qh[i]), _mm512_loadu_ps(kb + (int64_t)i * bs), acc0);
                acc1 = _mm512_fmadd_ps(_mm512_set1_ps(qh[i + 1]), _mm512_loadu_ps(kb + (int64_t)(i + 1) * bs), acc1);
            }
            if (i < hd) acc0 = _mm512_fmadd_ps(_mm512_set1_ps(qh[i]), _mm512_loadu_ps(kb + (int64_t)i * bs), acc0);
            __m512 sc = _mm512_mul_ps(_mm512_add_ps(acc0, acc1), _mm512_set1_ps(scale));
            int32_t valid = n - t0;
            if (valid < 16) sc = _mm512_mask_blend_ps((__mmask16)((1u << valid) - 1), _mm512_set1_ps(-INFINITY), sc);
            vmax = _mm512_max_ps(vmax, sc);
            _mm512_storeu_ps(sh + t0, sc);
        }
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vmax)), vsum = _mm512_setzero_ps();
        for (int32_t t0 = 0; t0 < padded; t0 += 16) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(sh + t0), m));
            vsum = _mm512_add_ps(vsum, e);
            _mm512_storeu_ps(sh + t0, e);
        }
        float inv = 1.0f / _mm512_reduce_add_ps(vsum);

        float* o = out + h * hd;
        if (nv <= 4) { // accumulators in registers
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int32_t t = 0; t < n; t++) {
                const float* vt = kv->v + head_offset(kv, layer, table[t / bs], kvh) + (int64_t)(t % bs) * hd;
                __m512 a = _mm512_set1_ps(sh[t]);
                for (int32_t c = 0; c < nv; c++) {
                    __mmask16 mk = c == nv - 1 ? tail : 0xffff;
                    acc[c] = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mk, vt + 16 * c), acc[c]);
                }
            }
            for (int32_t c = 0; c < nv; c++)
                _mm512_mask_storeu_ps(o + 16 * c, c == nv - 1 ? tail : 0xffff, _mm512_mul_ps(acc[c], _mm512_set1_ps(inv)));
        } else {
            memset(o, 0, (size_t)hd * sizeof(float));
            for (int32_t t = 0; t < n; t++) {
                const float* vt = kv->v + head_offset(kv, layer, table[t / bs], kvh) + (int64_t)(t % bs) * hd;
                __m512 a = _mm512_set1_ps(sh[t] * inv);
                for (int32_t c = 0; c < nv; c++) {
                    __mmask16 mk = c == nv - 1 ? tail : 0xffff;
                    _mm512_mask_storeu_ps(o + 16 * c, mk, _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mk, vt + 16 * c),
                                                                          _mm512_maskz_loadu_ps(mk, o + 16 * c)));
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------
// AVX2: 8 positions per score vector

#define A256 __attribute__((target("avx2,fma")))

A256 static void attend_avx2(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                             int32_t group, const float* q, float scale, float* out, float* s) {
    int32_t hd = kv->head_dim, bs = kv->block_size, n = pos + 1, padded = (n + 7) / 8 * 8, stride = pos + 16;
    int32_t nv = (hd + 7) / 8;
    __m256i tail = mask256(hd % 8 == 0 ? 8 : hd % 8), full = mask256(8);
    for (int32_t h = 0; h < group; h++) {
        float* sh = s + (int64_t)h * stride;
        const float* qh = q + h * hd;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        for (int32_t t0 = 0; t0 < n; t0 += 8) {
            const float* kb = kv->k + head_offset(kv, layer, table[t0 / bs], kvh) + t0 % bs;
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            int32_t i = 0;
            for (; i + 2 <= hd; i += 2) {
                acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(qh + i), _mm256_loadu_ps(kb + (int64_t)i * bs), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(qh + i + 1), _mm256_loadu_ps(kb + (int64_t)(i + 1) * bs), acc1);
            }
            if (i < hd) acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(qh + i), _mm256_loadu_ps(kb + (int64_t)i * bs), acc0);
            __m256 sc = _mm256_mul_ps(_mm256_add_ps(acc0, acc1), _mm256_set1_ps(scale));
            int32_t valid = n - t0;
            if (valid < 8) sc = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), sc, _mm256_castsi256_ps(mask256(valid)));
            vmax = _mm256_max_ps(vmax, sc);
            _mm256_storeu_ps(sh + t0, sc);
        }
        __m256 m = _mm256_set1_ps(hmax256(vmax)), vsum = _mm256_setzero_ps();
        for (int32_t t0 = 0; t0 < padded; t0 += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(sh + t0), m));
            vsum = _mm256_add_ps(vsum, e);
            _mm256_storeu_ps(sh + t0, e);
        }
        float inv = 1.0f / hsum256(vsum);
        float* o = out + h * hd;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int32_t t = 0; t < n; t++) {
            const float* vt = kv->v + head_offset(kv, layer, table[t / bs], kvh) + (int64_t)(t % bs) * hd;
            __m256 a = _mm256_set1_ps(sh[t] * inv);
            for (int32_t c = 0; c < nv; c++) {
                __m256i mk = c == nv - 1 ? tail : full;
                _mm256_maskstore_ps(o + 8 * c, mk, _mm256_fmadd_ps(a, _mm256_maskload_ps(vt + 8 * c, mk),
                                                                   _mm256_maskload_ps(o + 8 * c, mk)));
            }
        }
    }
}

void attend(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
            int32_t group, const float* q, float scale, float* out, float* scratch) {
    if (simd_has_avx512(path)) attend_avx512(kv, layer, table, pos, kvh, group, q, scale, out, scratch);
    else if (path == SIMD_AVX2) attend_avx2(kv, layer, table, pos, kvh, group, q, scale, out, scratch);
    else attend_scalar(kv, layer, table, pos, kvh, group, q, scale, out, scratch);
}
