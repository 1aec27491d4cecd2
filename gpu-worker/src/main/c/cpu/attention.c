/*
 * attention.c: paged KV cache writes and attention (scalar, AVX2, AVX-512). See attention.h.
 * One pass per (row, kv head) with an online softmax: per chunk of positions (one or two vectors of scores),
 * every query head of the group takes its scores, raises its running max if they exceed it (rescaling
 * what it has summed so far), and adds exp(score - max) times the values. Each chunk is read once for the
 * whole group, after the next chunk was asked for. Scores of positions past `pos` are
 * masked, so stale data in a block's unused tail never matters. The rows of a prompt chunk (attend_rows) go in tiles
 * that read each chunk all of them see once for the tile, every row's arithmetic unchanged.
 */
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/wk_common.h"
#include "simd.h"

static int32_t elem_bytes(int32_t dtype) { return dtype == WK_INT8 ? 1 : dtype == WK_BF16 ? 2 : 4; }

// Calls body(..., es) with the cache's element size in bytes as a constant, so each size gets loops of its own.
#define WITH_ELEM_SIZE(kv, body, ...)                    \
    do {                                                 \
        int32_t es_ = elem_bytes((kv)->dtype);           \
        if (es_ == 1) body(__VA_ARGS__, 1);              \
        else if (es_ == 2) body(__VA_ARGS__, 2);         \
        else body(__VA_ARGS__, 4);                       \
    } while (0)

size_t kv_pool_bytes(const kv_pool* kv) {
    return (size_t)kv->n_layers * kv->n_blocks * kv->n_kv_heads * kv->tile_bytes;
}

int32_t kv_pool_alloc(kv_pool* kv, int32_t n_layers, int32_t n_blocks, int32_t block_size, int32_t n_kv_heads,
                      int32_t head_dim, int32_t dtype) {
    int64_t elems = 2LL * head_dim * block_size;
    int64_t tile = elems * elem_bytes(dtype) + (dtype == WK_INT8 ? 2LL * block_size * (int64_t)sizeof(float) : 0);
    *kv = (kv_pool){n_layers, n_blocks, block_size, n_kv_heads, head_dim, dtype, elems, tile, NULL};
    size_t bytes = kv_pool_bytes(kv);
    kv->data = wk_alloc_huge(bytes);
    if (!kv->data)
        return wk_fail(WK_ERR_NOMEM, "out of memory for the KV cache (%d blocks, %lld MiB)", n_blocks,
                       (long long)(bytes >> 20));
    return WK_OK;
}

void kv_pool_free(kv_pool* kv) {
    free(kv->data);
    kv->data = NULL;
}

// The tile of (layer, block, kv head).
static inline const char* tile_at(const kv_pool* kv, int32_t layer, int32_t block, int32_t kvh) {
    return (const char*)kv->data + (((int64_t)layer * kv->n_blocks + block) * kv->n_kv_heads + kvh) * kv->tile_bytes;
}

// An int8 tile's key scales (block_size of them); its value scales follow.
static inline const float* key_scales(const kv_pool* kv, const char* tile) {
    return (const float*)(tile + kv->tile_elems);
}

// The prefetch helpers are always inlined: GCC judges a function that only prefetches to be const (no effect) and
// deletes the calls to it that it did not inline, which left kv_prefetch empty.
#define PREFETCH_FN static inline __attribute__((always_inline))

PREFETCH_FN void prefetch_bytes(const char* p, int64_t bytes) {
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + i, 0, 2);
}

// Asks for the keys and values of positions [p, min(p + 16, n)) of a row (p a multiple of 16), one chunk ahead of
// their use: a sequence's blocks lie anywhere in the pool, so the hardware prefetcher would start cold on each one.
// Into L2 (prefetcht1): into L1, prefetches hold the few L1 miss buffers and stall the loads in flight (1.4x
// slower on Zen 4).
PREFETCH_FN void prefetch_positions(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t kvh, int32_t p,
                                    int32_t n) {
    int64_t es = elem_bytes(kv->dtype), hd = kv->head_dim, bs = kv->block_size, j = p % bs;
    const char* tile = tile_at(kv, layer, table[p / bs], kvh);
    if (bs == 16) prefetch_bytes(tile, hd * bs * es); // the key rows of a one-chunk block are contiguous
    else
        for (int64_t i = 0; i < hd; i++) __builtin_prefetch(tile + (i * bs + j) * es, 0, 2);
    prefetch_bytes(tile + (hd * bs + j * hd) * es, (n - p < 16 ? n - p : 16) * hd * es);
    if (kv->dtype == WK_INT8) { // the 16 positions' key scales and value scales: a line each
        const float* ks = key_scales(kv, tile) + j;
        __builtin_prefetch(ks, 0, 2);
        __builtin_prefetch(ks + bs, 0, 2);
    }
}

void kv_prefetch(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh) {
    prefetch_positions(kv, layer, table, kvh, 0, pos + 1);
    if (pos >= 16) prefetch_positions(kv, layer, table, kvh, pos / 16 * 16, pos + 1);
}

// max |x| / 127 over n values (1 when all are 0), NaN when one is not finite: the int8 KV cache then answers NaN
// as the f32 one would, instead of quietly quantizing garbage.
static float int8_scale_of(const float* x, int32_t n) {
    float poison = 0.0f;
    return int8_scale(absmax_from(x, 0, n, 0.0f, &poison)) + poison;
}

// rint(y) for |y| <= 127 (round half to even, as lrintf), without a call into libm (lrintf is one at -O3 without
// -ffast-math, and it made int8 writes 12x slower than bf16's): adding 1.5 x 2^23 leaves no fraction bits, so the
// addition itself rounds. NaN (a NaN scale) gives whatever the conversion gives; the NaN scale poisons the output.
static inline int8_t round_i8(float y) {
    volatile float magic = 12582912.0f; // volatile: the compiler must not fold (y + magic) - magic into y
    return (int8_t)(int32_t)((y + magic) - magic);
}

// q[i * stride] = rint(x[i] / s) for i < n with s = int8_scale_of(x, n), returned.
static float quantize_i8(const float* x, int32_t n, int8_t* q, int64_t stride) {
    float s = int8_scale_of(x, n);
    for (int32_t i = 0; i < n; i++) q[i * stride] = round_i8(x[i] / s);
    return s;
}

// The same 16 at a time (the max is exact in any order; vcvtps2dq rounds half to even as rint does).
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) static float quantize_i8_512(const float* x, int32_t n,
                                                                                          int8_t* q, int64_t stride) {
    float poison = 0.0f, s = int8_scale(absmax_512(x, n, &poison)) + poison;
    __m512 sv = _mm512_set1_ps(s);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int8_t b[16];
        _mm_storeu_si128((__m128i*)b, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_div_ps(_mm512_loadu_ps(x + i), sv))));
        for (int j = 0; j < 16; j++) q[(i + j) * stride] = b[j];
    }
    for (; i < n; i++) q[i * stride] = round_i8(x[i] / s);
    return s;
}

void kv_write(int32_t path, const kv_pool* kv, int32_t layer, int32_t block, int32_t offset, int32_t kvh, const float* k,
              const float* v) {
    int32_t hd = kv->head_dim, bs = kv->block_size;
    int64_t vrow = (int64_t)hd * bs + (int64_t)offset * hd; // this position's values
    if (kv->dtype == WK_INT8) {
        int8_t* t = (int8_t*)tile_at(kv, layer, block, kvh);
        float* scales = (float*)key_scales(kv, (const char*)t);
        int avx512 = simd_has_avx512(path);
        scales[offset] = avx512 ? quantize_i8_512(k, hd, t + offset, bs) : quantize_i8(k, hd, t + offset, bs);
        scales[bs + offset] = avx512 ? quantize_i8_512(v, hd, t + vrow, 1) : quantize_i8(v, hd, t + vrow, 1);
    } else if (kv->dtype == WK_BF16) {
        uint16_t* t = (uint16_t*)tile_at(kv, layer, block, kvh);
        for (int32_t i = 0; i < hd; i++) {
            t[(int64_t)i * bs + offset] = f32_to_bf16(k[i]);
            t[vrow + i] = f32_to_bf16(v[i]);
        }
    } else {
        float* t = (float*)tile_at(kv, layer, block, kvh);
        for (int32_t i = 0; i < hd; i++) t[(int64_t)i * bs + offset] = k[i];
        memcpy(t + vrow, v, (size_t)hd * sizeof(float));
    }
}

// A row's output and online-softmax state for the heads of a group, before its first position.
static inline void start_heads(float* out, float* max, float* sum, int32_t group, int32_t hd) {
    for (int32_t h = 0; h < group; h++) max[h] = -INFINITY, sum[h] = 0.0f;
    memset(out, 0, (size_t)group * hd * sizeof(float));
}

// ----------------------------------------------------------------------------
// Scalar: the reference, one position at a time

static float tile_elem(const kv_pool* kv, const char* tile, int64_t i) {
    return kv->dtype == WK_INT8   ? (float)((const int8_t*)tile)[i]
           : kv->dtype == WK_BF16 ? bf16_to_f32(((const uint16_t*)tile)[i])
                                  : ((const float*)tile)[i];
}

// Dimension i of position j's key, and of its value, in a tile.
static float key_at(const kv_pool* kv, const char* tile, int32_t i, int32_t j) {
    float x = tile_elem(kv, tile, (int64_t)i * kv->block_size + j);
    return kv->dtype == WK_INT8 ? x * key_scales(kv, tile)[j] : x;
}

static float value_at(const kv_pool* kv, const char* tile, int32_t j, int32_t i) {
    float x = tile_elem(kv, tile, (int64_t)kv->head_dim * kv->block_size + (int64_t)j * kv->head_dim + i);
    return kv->dtype == WK_INT8 ? x * key_scales(kv, tile)[kv->block_size + j] : x;
}

static void attend_scalar(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                          int32_t group, const float* q, float scale, float* out) {
    int32_t hd = kv->head_dim, bs = kv->block_size;
    for (int32_t h = 0; h < group; h++) {
        const float* qh = q + (int64_t)h * hd;
        float* o = out + (int64_t)h * hd;
        float max = -INFINITY, sum = 0.0f;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int32_t t = 0; t <= pos; t++) {
            const char* tile = tile_at(kv, layer, table[t / bs], kvh);
            int32_t j = t % bs;
            float s = 0.0f;
            for (int32_t i = 0; i < hd; i++) s += qh[i] * key_at(kv, tile, i, j);
            s *= scale;
            if (s > max) { // a new max: what was summed so far shrinks by exp(old - new)
                float a = expf(max - s);
                sum *= a;
                for (int32_t i = 0; i < hd; i++) o[i] *= a;
                max = s;
            }
            float p = expf(s - max);
            sum += p;
            for (int32_t i = 0; i < hd; i++) o[i] += p * value_at(kv, tile, j, i);
        }
        for (int32_t i = 0; i < hd; i++) o[i] /= sum;
    }
}

// ----------------------------------------------------------------------------
// AVX-512: 16 positions per chunk

#define A512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

AVX512_FN __m512 widen16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

// 16 elements of es bytes (4 f32, 2 bf16, 1 int8) at p as f32; the masked form reads only the lanes in mk and zeroes
// the others.
AVX512_FN __m512 load16(const char* p, const int es) {
    if (es == 1) return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const void*)p)));
    return es == 2 ? widen16(_mm256_loadu_si256((const void*)p)) : _mm512_loadu_ps(p);
}

AVX512_FN __m512 load16m(const char* p, __mmask16 mk, const int es) {
    if (es == 1) return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, p)));
    return es == 2 ? widen16(_mm256_maskz_loadu_epi16(mk, p)) : _mm512_maskz_loadu_ps(mk, p);
}

// One head's scores of the 16 positions of a chunk (dimension i of position t at keys + i * krow + t * es), unscaled.
AVX512_FN __m512 scores16(const char* keys, int64_t krow, const float* qh, int32_t hd, const int es) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int32_t i = 0;
    for (; i + 4 <= hd; i += 4)
        for (int u = 0; u < 4; u++)
            acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(qh[i + u]), load16(keys + (i + u) * krow, es), acc[u]);
    for (; i < hd; i++) acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(qh[i]), load16(keys + i * krow, es), acc[0]);
    return _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
}

// o[16c .. 16c + 16) += sum over t < valid of p[t] * (value t)[16c ..], two chains of FMAs.
AVX512_FN __m512 weigh16(__m512 a0, const char* vc, int64_t vrow, const float* p, int32_t valid, __mmask16 mk,
                         const int es) {
    __m512 a1 = _mm512_setzero_ps();
    int32_t t = 0;
    for (; t + 2 <= valid; t += 2) {
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), load16m(vc + t * vrow, mk, es), a0);
        a1 = _mm512_fmadd_ps(_mm512_set1_ps(p[t + 1]), load16m(vc + (t + 1) * vrow, mk, es), a1);
    }
    if (t < valid) a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), load16m(vc + t * vrow, mk, es), a0);
    return _mm512_add_ps(a0, a1);
}

// The lanes of a head's last vector of 16 that hold its dimensions.
AVX512_FN __mmask16 head_tail(int32_t hd) { return (__mmask16)(hd % 16 == 0 ? 0xffff : (1u << (hd % 16)) - 1); }

// What a chunk's raw scores are multiplied by: 1 / sqrt(head_dim), and with int8 the positions' key scales.
AVX512_FN __m512 chunk_scale(__m512 scale16, const float* kscales, const int es) {
    return es == 1 ? _mm512_mul_ps(scale16, _mm512_loadu_ps(kscales)) : scale16;
}

// Two 16-position chunks of a row (each within one block) from position t0: where their keys, values and int8
// scales lie, and which of their positions the row sees (the first n of the sequence).
typedef struct {
    const char* keys[2];
    const char* vals[2];
    const float* kscales[2]; // int8: the chunk's key scales, its value scales bs further
    int32_t valid[2];
    __mmask16 live[2];
} chunk_pair;

AVX512_FN chunk_pair locate_pair(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t kvh, int32_t t0,
                                 int32_t n, const int es) {
    int32_t hd = kv->head_dim, bs = kv->block_size;
    chunk_pair c;
    for (int k = 0; k < 2; k++) {
        int32_t tk = t0 + 16 * k, j0 = tk % bs;
        c.valid[k] = n - tk >= 16 ? 16 : n - tk > 0 ? n - tk : 0;
        c.live[k] = (__mmask16)(c.valid[k] == 16 ? 0xffff : (1u << c.valid[k]) - 1);
        const char* tile = c.valid[k] ? tile_at(kv, layer, table[tk / bs], kvh) : NULL;
        c.keys[k] = c.valid[k] ? tile + j0 * es : NULL;
        c.vals[k] = c.valid[k] ? tile + ((int64_t)hd * bs + (int64_t)j0 * hd) * es : NULL;
        c.kscales[k] = es == 1 && c.valid[k] ? key_scales(kv, tile) + j0 : NULL;
    }
    return c;
}

// Asks for the pair after the one at t0 (a sequence's blocks lie anywhere in the pool).
PREFETCH_FN void prefetch_next_pair(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t kvh, int32_t t0,
                                    int32_t n) {
    if (t0 + 32 < n) prefetch_positions(kv, layer, table, kvh, t0 + 32, n);
    if (t0 + 48 < n) prefetch_positions(kv, layer, table, kvh, t0 + 48, n);
}

// Chunk k's scaled scores of one head, -inf at the positions the row does not see.
AVX512_FN __m512 chunk_scores(const chunk_pair* c, int k, __m512 raw, __m512 scale16, const int es) {
    return _mm512_mask_blend_ps(c->live[k], _mm512_set1_ps(-INFINITY),
                                _mm512_mul_ps(raw, chunk_scale(scale16, c->kscales[k], es)));
}

// Folds one head's scores of a pair into its running max and sum (rescaling its output o when the max rises) and
// leaves the pair's value weights in pt[32] (int8: times each position's value scale).
AVX512_FN void softmax_pair(const chunk_pair* c, __m512 s0, __m512 s1, float* max, float* sum, float* o, int32_t hd,
                            int32_t bs, float* pt, const int es) {
    int32_t nv = (hd + 15) / 16;
    __mmask16 tail = head_tail(hd);
    float cmax = _mm512_reduce_max_ps(_mm512_max_ps(s0, s1));
    if (cmax > *max) { // a new max: what was summed so far shrinks by exp(old - new)
        float a = expf(*max - cmax);
        __m512 av = _mm512_set1_ps(a);
        *sum *= a;
        for (int32_t v = 0; v < nv; v++) {
            __mmask16 mk = v == nv - 1 ? tail : 0xffff;
            _mm512_mask_storeu_ps(o + 16 * v, mk, _mm512_mul_ps(av, _mm512_maskz_loadu_ps(mk, o + 16 * v)));
        }
        *max = cmax;
    }
    __m512 m = _mm512_set1_ps(*max);
    __m512 p0 = _mm512_maskz_mov_ps(c->live[0], exp512(_mm512_sub_ps(s0, m)));
    __m512 p1 = _mm512_maskz_mov_ps(c->live[1], exp512(_mm512_sub_ps(s1, m)));
    *sum += _mm512_reduce_add_ps(_mm512_add_ps(p0, p1));
    _mm512_storeu_ps(pt, es == 1 ? _mm512_mul_ps(p0, _mm512_loadu_ps(c->kscales[0] + bs)) : p0);
    _mm512_storeu_ps(pt + 16, es == 1 && c->valid[1] ? _mm512_mul_ps(p1, _mm512_loadu_ps(c->kscales[1] + bs)) : p1);
}

// One row's pairs from position t0 on (a multiple of 32) to its end n, every head of the group: out, max and sum
// carry each head's running state.
AVX512_FN void row_pairs(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t t0, int32_t n, int32_t kvh,
                         int32_t group, const float* q, float scale, float* out, float* max, float* sum, const int es) {
    int32_t hd = kv->head_dim, bs = kv->block_size, nv = (hd + 15) / 16;
    int64_t krow = bs * es, vrow = hd * es; // bytes from one key dimension / value position to the next
    __mmask16 tail = head_tail(hd);
    const __m512 scale16 = _mm512_set1_ps(scale);
    for (; t0 < n; t0 += 32) {
        chunk_pair c = locate_pair(kv, layer, table, kvh, t0, n, es);
        prefetch_next_pair(kv, layer, table, kvh, t0, n);
        for (int32_t h = 0; h < group; h++) {
            const float* qh = q + (int64_t)h * hd;
            float* o = out + (int64_t)h * hd;
            __m512 s0 = chunk_scores(&c, 0, scores16(c.keys[0], krow, qh, hd, es), scale16, es);
            __m512 s1 = c.valid[1] ? chunk_scores(&c, 1, scores16(c.keys[1], krow, qh, hd, es), scale16, es)
                                   : _mm512_set1_ps(-INFINITY);
            float pt[32];
            softmax_pair(&c, s0, s1, &max[h], &sum[h], o, hd, bs, pt, es);
            for (int32_t v = 0; v < nv; v++) {
                __mmask16 mk = v == nv - 1 ? tail : 0xffff;
                __m512 acc = weigh16(_mm512_maskz_loadu_ps(mk, o + 16 * v), c.vals[0] + 16 * v * es, vrow, pt,
                                     c.valid[0], mk, es);
                if (c.valid[1]) // a chain of its own
                    acc = _mm512_add_ps(acc, weigh16(_mm512_setzero_ps(), c.vals[1] + 16 * v * es, vrow, pt + 16,
                                                     c.valid[1], mk, es));
                _mm512_mask_storeu_ps(o + 16 * v, mk, acc);
            }
        }
    }
}

AVX512_FN void finish_heads(float* out, const float* sum, int32_t group, int32_t hd) {
    int32_t nv = (hd + 15) / 16;
    __mmask16 tail = head_tail(hd);
    for (int32_t h = 0; h < group; h++) {
        __m512 inv = _mm512_set1_ps(1.0f / sum[h]);
        for (int32_t v = 0; v < nv; v++) {
            float* o = out + (int64_t)h * hd + 16 * v;
            __mmask16 mk = v == nv - 1 ? tail : 0xffff;
            _mm512_mask_storeu_ps(o, mk, _mm512_mul_ps(inv, _mm512_maskz_loadu_ps(mk, o)));
        }
    }
}

// Positions in pairs of 16-position chunks (each within one block): the two chunks' scores are independent chains,
// and the max, the exp, the sum and a rescale are paid once per 32 positions instead of once per 16.
AVX512_FN void attend_avx512_body(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                                  int32_t group, const float* q, float scale, float* out, const int es) {
    float max[group], sum[group];
    start_heads(out, max, sum, group, kv->head_dim);
    row_pairs(kv, layer, table, 0, pos + 1, kvh, group, q, scale, out, max, sum, es);
    finish_heads(out, sum, group, kv->head_dim);
}

// ----------------------------------------------------------------------------
// AVX-512, ROW_TILE rows of one sequence at once (a prompt chunk): the pairs every row of the tile sees whole are
// read once for all of them. Each row's sums are formed exactly as attend_avx512_body forms them, in the same order
// (the loads are shared, not the arithmetic), so a row's output does not depend on the rows beside it.

#define ROW_TILE ATTEND_ROWS_TILE // 4 x 4 chains of scores stay in registers beside the shared loads

// scores16 of ROW_TILE query heads (qh[r]): each key vector loaded once.
AVX512_FN void scores16_rows(const char* keys, int64_t krow, const float* const* qh, int32_t hd, __m512* out,
                             const int es) {
    __m512 acc[ROW_TILE][4];
    for (int r = 0; r < ROW_TILE; r++)
        for (int u = 0; u < 4; u++) acc[r][u] = _mm512_setzero_ps();
    int32_t i = 0;
    for (; i + 4 <= hd; i += 4)
        for (int u = 0; u < 4; u++) {
            __m512 k = load16(keys + (i + u) * krow, es);
            for (int r = 0; r < ROW_TILE; r++) acc[r][u] = _mm512_fmadd_ps(_mm512_set1_ps(qh[r][i + u]), k, acc[r][u]);
        }
    for (; i < hd; i++) {
        __m512 k = load16(keys + i * krow, es);
        for (int r = 0; r < ROW_TILE; r++) acc[r][0] = _mm512_fmadd_ps(_mm512_set1_ps(qh[r][i]), k, acc[r][0]);
    }
    for (int r = 0; r < ROW_TILE; r++)
        out[r] = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3]));
}

// weigh16 over a whole chunk for ROW_TILE rows (weights pt[r]): each value vector loaded once.
AVX512_FN void weigh16_rows(__m512* acc, const char* vc, int64_t vrow, const float* const* pt, __mmask16 mk,
                            const int es) {
    __m512 a1[ROW_TILE];
    for (int r = 0; r < ROW_TILE; r++) a1[r] = _mm512_setzero_ps();
    for (int32_t t = 0; t < 16; t += 2) {
        __m512 v0 = load16m(vc + t * vrow, mk, es), v1 = load16m(vc + (t + 1) * vrow, mk, es);
        for (int r = 0; r < ROW_TILE; r++) {
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(pt[r][t]), v0, acc[r]);
            a1[r] = _mm512_fmadd_ps(_mm512_set1_ps(pt[r][t + 1]), v1, a1[r]);
        }
    }
    for (int r = 0; r < ROW_TILE; r++) acc[r] = _mm512_add_ps(acc[r], a1[r]);
}

// ROW_TILE consecutive rows at positions pos0, pos0 + 1, ...: row r's q and out at q + r * ld_q, out + r * ld_out.
AVX512_FN void attend_tile_avx512_body(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0,
                                       int32_t kvh, int32_t group, const float* q, int64_t ld_q, float scale,
                                       float* out, int64_t ld_out, const int es) {
    int32_t hd = kv->head_dim, bs = kv->block_size, nv = (hd + 15) / 16, whole = (pos0 + 1) / 32 * 32;
    int64_t krow = bs * es, vrow = hd * es;
    __mmask16 tail = head_tail(hd);
    const __m512 scale16 = _mm512_set1_ps(scale);
    float max[ROW_TILE][group], sum[ROW_TILE][group];
    for (int r = 0; r < ROW_TILE; r++) start_heads(out + r * ld_out, max[r], sum[r], group, hd);
    for (int32_t t0 = 0; t0 < whole; t0 += 32) { // pairs every row sees whole
        chunk_pair c = locate_pair(kv, layer, table, kvh, t0, t0 + 32, es);
        prefetch_next_pair(kv, layer, table, kvh, t0, pos0 + ROW_TILE);
        for (int32_t h = 0; h < group; h++) {
            const float* qh[ROW_TILE];
            const float* ptr[ROW_TILE];
            float pt[ROW_TILE][32];
            __m512 s0[ROW_TILE], s1[ROW_TILE];
            for (int r = 0; r < ROW_TILE; r++) qh[r] = q + r * ld_q + (int64_t)h * hd, ptr[r] = pt[r];
            scores16_rows(c.keys[0], krow, qh, hd, s0, es);
            scores16_rows(c.keys[1], krow, qh, hd, s1, es);
            for (int r = 0; r < ROW_TILE; r++)
                softmax_pair(&c, chunk_scores(&c, 0, s0[r], scale16, es), chunk_scores(&c, 1, s1[r], scale16, es),
                             &max[r][h], &sum[r][h], out + r * ld_out + (int64_t)h * hd, hd, bs, pt[r], es);
            for (int32_t v = 0; v < nv; v++) {
                __mmask16 mk = v == nv - 1 ? tail : 0xffff;
                __m512 acc[ROW_TILE], second[ROW_TILE];
                for (int r = 0; r < ROW_TILE; r++) {
                    acc[r] = _mm512_maskz_loadu_ps(mk, out + r * ld_out + (int64_t)h * hd + 16 * v);
                    second[r] = _mm512_setzero_ps();
                }
                weigh16_rows(acc, c.vals[0] + 16 * v * es, vrow, ptr, mk, es);
                for (int r = 0; r < ROW_TILE; r++) ptr[r] = pt[r] + 16;
                weigh16_rows(second, c.vals[1] + 16 * v * es, vrow, ptr, mk, es);
                for (int r = 0; r < ROW_TILE; r++) {
                    ptr[r] = pt[r];
                    float* o = out + r * ld_out + (int64_t)h * hd + 16 * v;
                    _mm512_mask_storeu_ps(o, mk, _mm512_add_ps(acc[r], second[r]));
                }
            }
        }
    }
    for (int r = 0; r < ROW_TILE; r++) { // the rest, each row on its own
        float* o = out + r * ld_out;
        row_pairs(kv, layer, table, whole, pos0 + r + 1, kvh, group, q + r * ld_q, scale, o, max[r], sum[r], es);
        finish_heads(o, sum[r], group, hd);
    }
}

A512 static void attend_avx512(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                               int32_t group, const float* q, float scale, float* out) {
    WITH_ELEM_SIZE(kv, attend_avx512_body, kv, layer, table, pos, kvh, group, q, scale, out);
}

A512 static void attend_tile_avx512(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0, int32_t kvh,
                                    int32_t group, const float* q, int64_t ld_q, float scale, float* out,
                                    int64_t ld_out) {
    WITH_ELEM_SIZE(kv, attend_tile_avx512_body, kv, layer, table, pos0, kvh, group, q, ld_q, scale, out, ld_out);
}

// ----------------------------------------------------------------------------
// AVX2: 8 positions per chunk

#define AVX2_ROW_TILE 2 // 2 x 4 chains of scores beside the shared key vector, in AVX2's 16 registers

#define A256 __attribute__((target("avx2,fma")))

// 8 elements of es bytes (4 f32, 2 bf16, 1 int8) at p as f32; the masked form reads the first n (< 8) and zeroes
// the others.
AVX2_FN __m256 load8(const char* p, const int es) {
    if (es == 4) return _mm256_loadu_ps((const float*)p);
    if (es == 1) return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const void*)p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const void*)p)), 16));
}

AVX2_FN __m256 load8m(const char* p, int32_t n, const int es) {
    if (es == 4) return _mm256_maskload_ps((const float*)p, mask256(n));
    char t[16] = {0}; // AVX2 has no 8- or 16-bit masked load
    memcpy(t, p, (size_t)n * es);
    return load8(t, es);
}

// A chunk of 8 positions of a row (within one block) from position t0: where its keys, values and int8 scales lie,
// which of its positions the row sees (the first n of the sequence), and what its raw scores are multiplied by.
typedef struct {
    const char* keys;
    const char* vals;
    const float* kscales; // int8: the chunk's key scales, its value scales bs further
    int32_t valid;
    __m256 live;
    __m256 scale;
} chunk8;

AVX2_FN chunk8 locate8(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t kvh, int32_t t0, int32_t n,
                       float scale, const int es) {
    int32_t hd = kv->head_dim, bs = kv->block_size, j0 = t0 % bs;
    const char* tile = tile_at(kv, layer, table[t0 / bs], kvh);
    chunk8 c;
    c.valid = n - t0 < 8 ? n - t0 : 8;
    c.live = _mm256_castsi256_ps(mask256(c.valid));
    c.keys = tile + j0 * es;
    c.vals = tile + ((int64_t)hd * bs + (int64_t)j0 * hd) * es;
    c.kscales = es == 1 ? key_scales(kv, tile) + j0 : NULL;
    c.scale = _mm256_set1_ps(scale);
    if (es == 1) c.scale = _mm256_mul_ps(c.scale, _mm256_loadu_ps(c.kscales));
    return c;
}

// Asks for the chunks 16 positions ahead, every other chunk.
PREFETCH_FN void prefetch_ahead8(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t kvh, int32_t t0,
                                 int32_t n) {
    if (t0 % 16 == 0 && t0 + 16 < n) prefetch_positions(kv, layer, table, kvh, t0 + 16, n);
}

// The raw scores of n_q query heads (qh[r]) over a chunk: each key vector loaded once for all of them, each head's
// sum formed in four chains as one head's alone.
AVX2_FN void scores8_rows(const char* keys, int64_t krow, const float* const* qh, int32_t hd, int n_q, __m256* out,
                          const int es) {
    __m256 acc[AVX2_ROW_TILE][4];
    for (int r = 0; r < n_q; r++)
        for (int u = 0; u < 4; u++) acc[r][u] = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 4 <= hd; i += 4)
        for (int u = 0; u < 4; u++) {
            __m256 k = load8(keys + (i + u) * krow, es);
            for (int r = 0; r < n_q; r++) acc[r][u] = _mm256_fmadd_ps(_mm256_set1_ps(qh[r][i + u]), k, acc[r][u]);
        }
    for (; i < hd; i++) {
        __m256 k = load8(keys + i * krow, es);
        for (int r = 0; r < n_q; r++) acc[r][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(qh[r] + i), k, acc[r][0]);
    }
    for (int r = 0; r < n_q; r++)
        out[r] = _mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3]));
}

// Folds one head's raw chunk scores into its running max and sum (rescaling its output o when the max rises) and
// leaves the chunk's value weights in pt[8] (int8: times each position's value scale).
AVX2_FN void softmax8(const chunk8* c, __m256 raw, float* max, float* sum, float* o, int32_t hd, int32_t bs, float* pt,
                      const int es) {
    int32_t nv = (hd + 7) / 8;
    __m256i tail = mask256(hd - 8 * (nv - 1));
    __m256 s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(raw, c->scale), c->live);
    float cmax = hmax256(s);
    if (cmax > *max) { // a new max: what was summed so far shrinks by exp(old - new)
        float a = expf(*max - cmax);
        __m256 av = _mm256_set1_ps(a);
        *sum *= a;
        for (int32_t v = 0; v < nv; v++) {
            __m256i mk = v == nv - 1 ? tail : mask256(8);
            _mm256_maskstore_ps(o + 8 * v, mk, _mm256_mul_ps(av, _mm256_maskload_ps(o + 8 * v, mk)));
        }
        *max = cmax;
    }
    __m256 p = _mm256_and_ps(c->live, exp256(_mm256_sub_ps(s, _mm256_set1_ps(*max))));
    *sum += hsum256(p);
    _mm256_storeu_ps(pt, es == 1 ? _mm256_mul_ps(p, _mm256_loadu_ps(c->kscales + bs)) : p);
}

// o_r[8v ..] += the chunk's weighted values for n_q rows (weights pt[r]): whole vectors in two chains of FMAs, a
// head's last partial vector in one; each value vector loaded once for all the rows.
AVX2_FN void weigh8_rows(const chunk8* c, int32_t v, int32_t hd, int64_t vrow, float* const* o, const float* const* pt,
                         int n_q, const int es) {
    int32_t nv = (hd + 7) / 8, w = v == nv - 1 ? hd - 8 * (nv - 1) : 8;
    __m256i mk = mask256(w);
    const char* vc = c->vals + 8 * v * es;
    __m256 a0[AVX2_ROW_TILE], a1[AVX2_ROW_TILE];
    for (int r = 0; r < n_q; r++) a0[r] = _mm256_maskload_ps(o[r] + 8 * v, mk), a1[r] = _mm256_setzero_ps();
    int32_t t = 0;
    if (w == 8)
        for (; t + 2 <= c->valid; t += 2) {
            __m256 v0 = load8(vc + t * vrow, es), v1 = load8(vc + (t + 1) * vrow, es);
            for (int r = 0; r < n_q; r++) {
                a0[r] = _mm256_fmadd_ps(_mm256_set1_ps(pt[r][t]), v0, a0[r]);
                a1[r] = _mm256_fmadd_ps(_mm256_set1_ps(pt[r][t + 1]), v1, a1[r]);
            }
        }
    for (; t < c->valid; t++) {
        __m256 vt = load8m(vc + t * vrow, w, es);
        for (int r = 0; r < n_q; r++) a0[r] = _mm256_fmadd_ps(_mm256_set1_ps(pt[r][t]), vt, a0[r]);
    }
    for (int r = 0; r < n_q; r++) _mm256_maskstore_ps(o[r] + 8 * v, mk, _mm256_add_ps(a0[r], a1[r]));
}

// The chunks [t0, n) of n_q rows (query heads at q + r * ld_q, outputs at out + r * ld_out, running maxima and sums
// at max + r * group, sum + r * group), every head of the group; the rows must all see these chunks whole unless
// n_q is 1.
AVX2_FN void chunks8_rows(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t t0, int32_t n, int32_t kvh,
                          int32_t group, const float* q, int64_t ld_q, float scale, float* out, int64_t ld_out,
                          float* max, float* sum, int n_q, const int es) {
    int32_t hd = kv->head_dim, bs = kv->block_size, nv = (hd + 7) / 8;
    int64_t krow = bs * es, vrow = hd * es; // bytes from one key dimension / value position to the next
    for (; t0 < n; t0 += 8) {
        chunk8 c = locate8(kv, layer, table, kvh, t0, n, scale, es);
        prefetch_ahead8(kv, layer, table, kvh, t0, n);
        for (int32_t h = 0; h < group; h++) {
            const float* qh[AVX2_ROW_TILE];
            float* o[AVX2_ROW_TILE];
            const float* ptr[AVX2_ROW_TILE];
            float pt[AVX2_ROW_TILE][8];
            __m256 raw[AVX2_ROW_TILE];
            for (int r = 0; r < n_q; r++)
                qh[r] = q + r * ld_q + (int64_t)h * hd, o[r] = out + r * ld_out + (int64_t)h * hd, ptr[r] = pt[r];
            scores8_rows(c.keys, krow, qh, hd, n_q, raw, es);
            for (int r = 0; r < n_q; r++)
                softmax8(&c, raw[r], max + r * group + h, sum + r * group + h, o[r], hd, bs, pt[r], es);
            for (int32_t v = 0; v < nv; v++) weigh8_rows(&c, v, hd, vrow, o, ptr, n_q, es);
        }
    }
}

AVX2_FN void finish_heads8(float* out, const float* sum, int32_t group, int32_t hd) {
    int32_t nv = (hd + 7) / 8;
    __m256i tail = mask256(hd - 8 * (nv - 1));
    for (int32_t h = 0; h < group; h++) {
        __m256 inv = _mm256_set1_ps(1.0f / sum[h]);
        for (int32_t v = 0; v < nv; v++) {
            float* o = out + (int64_t)h * hd + 8 * v;
            __m256i mk = v == nv - 1 ? tail : mask256(8);
            _mm256_maskstore_ps(o, mk, _mm256_mul_ps(inv, _mm256_maskload_ps(o, mk)));
        }
    }
}

AVX2_FN void attend_avx2_body(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                              int32_t group, const float* q, float scale, float* out, const int es) {
    float max[group], sum[group];
    start_heads(out, max, sum, group, kv->head_dim);
    chunks8_rows(kv, layer, table, 0, pos + 1, kvh, group, q, 0, scale, out, 0, max, sum, 1, es);
    finish_heads8(out, sum, group, kv->head_dim);
}

// AVX2_ROW_TILE consecutive rows at positions pos0, pos0 + 1, ...: the chunks all of them see whole together (each
// row's sums formed as alone), the rest row by row.
AVX2_FN void attend_tile_avx2_body(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0, int32_t kvh,
                                   int32_t group, const float* q, int64_t ld_q, float scale, float* out,
                                   int64_t ld_out, const int es) {
    int32_t hd = kv->head_dim, whole = (pos0 + 1) / 8 * 8;
    float max[AVX2_ROW_TILE * group], sum[AVX2_ROW_TILE * group];
    for (int r = 0; r < AVX2_ROW_TILE; r++) start_heads(out + r * ld_out, max + r * group, sum + r * group, group, hd);
    chunks8_rows(kv, layer, table, 0, whole, kvh, group, q, ld_q, scale, out, ld_out, max, sum, AVX2_ROW_TILE, es);
    for (int r = 0; r < AVX2_ROW_TILE; r++) {
        float* o = out + r * ld_out;
        chunks8_rows(kv, layer, table, whole, pos0 + r + 1, kvh, group, q + r * ld_q, 0, scale, o, 0, max + r * group,
                     sum + r * group, 1, es);
        finish_heads8(o, sum + r * group, group, hd);
    }
}

A256 static void attend_avx2(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
                             int32_t group, const float* q, float scale, float* out) {
    WITH_ELEM_SIZE(kv, attend_avx2_body, kv, layer, table, pos, kvh, group, q, scale, out);
}

A256 static void attend_tile_avx2(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0, int32_t kvh,
                                  int32_t group, const float* q, int64_t ld_q, float scale, float* out,
                                  int64_t ld_out) {
    WITH_ELEM_SIZE(kv, attend_tile_avx2_body, kv, layer, table, pos0, kvh, group, q, ld_q, scale, out, ld_out);
}

void attend(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
            int32_t group, const float* q, float scale, float* out) {
    if (simd_has_avx512(path)) attend_avx512(kv, layer, table, pos, kvh, group, q, scale, out);
    else if (path == SIMD_AVX2) attend_avx2(kv, layer, table, pos, kvh, group, q, scale, out);
    else attend_scalar(kv, layer, table, pos, kvh, group, q, scale, out);
}

void attend_rows(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0, int32_t n_rows,
                 int32_t kvh, int32_t group, const float* q, int64_t ld_q, float scale, float* out, int64_t ld_out) {
    int32_t r = 0;
    if (simd_has_avx512(path))
        for (; r + ROW_TILE <= n_rows; r += ROW_TILE)
            attend_tile_avx512(kv, layer, table, pos0 + r, kvh, group, q + r * ld_q, ld_q, scale, out + r * ld_out,
                               ld_out);
    else if (path == SIMD_AVX2)
        for (; r + AVX2_ROW_TILE <= n_rows; r += AVX2_ROW_TILE)
            attend_tile_avx2(kv, layer, table, pos0 + r, kvh, group, q + r * ld_q, ld_q, scale, out + r * ld_out,
                             ld_out);
    for (; r < n_rows; r++) attend(path, kv, layer, table, pos0 + r, kvh, group, q + r * ld_q, scale, out + r * ld_out);
}
