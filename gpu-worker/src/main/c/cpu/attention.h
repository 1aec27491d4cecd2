/*
 * attention.h: the paged KV cache of the CPU backend and attention over it.
 *
 * The cache is a pool of fixed-size blocks shared by all sequences; a sequence's block table maps its
 * position p to block table[p / block_size], offset p % block_size. Each (layer, block, kv head) is one
 * contiguous tile, keys then values, so attention streams one region per block:
 *   keys    transposed, [head_dim][block_size]: the scores of 16 positions are one vector of FMAs, no
 *           horizontal sums;
 *   values  position-major, [block_size][head_dim], for the weighted sum.
 *   scales  WK_INT8 only: the keys' scale of each position, then the values', one f32 each.
 *   tiles   [n_layers][n_blocks][n_kv_heads], 2 * head_dim * block_size elements (+ 2 * block_size scales) each.
 * Elements are f32, bf16 (WK_BF16: rounded to nearest even when written, widened to f32 when read; half the bytes
 * to stream, at bf16's relative error of 2^-9 on keys and values) or int8 (WK_INT8: each position's key and value
 * of a kv head quantized symmetrically, max |x| / 127 per vector, as the weights' rows are; a quarter of the bytes).
 * With int8 the scores of a chunk are scaled by its positions' key scales after the dot products, and the softmax
 * weights by the value scales before the weighted sum, so the elements are only widened, never multiplied apart.
 */
#ifndef WK_ATTENTION_H
#define WK_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t n_layers, n_blocks, block_size, n_kv_heads, head_dim;
    int32_t dtype;      // WK_F32, WK_BF16 or WK_INT8
    int64_t tile_elems; // 2 * head_dim * block_size
    int64_t tile_bytes; // the elements' bytes, and the scales' with WK_INT8
    void* data;
} kv_pool;

// 0 or WK_ERR_NOMEM. block_size must be a multiple of 16, dtype WK_F32, WK_BF16 or WK_INT8.
int32_t kv_pool_alloc(kv_pool* kv, int32_t n_layers, int32_t n_blocks, int32_t block_size, int32_t n_kv_heads,
                      int32_t head_dim, int32_t dtype);
void kv_pool_free(kv_pool* kv);
size_t kv_pool_bytes(const kv_pool* kv);

// Stores one position's key and value of kv head kvh (head_dim floats each); `path` vectorises int8's quantization.
void kv_write(int32_t path, const kv_pool* kv, int32_t layer, int32_t block, int32_t offset, int32_t kvh, const float* k,
              const float* v);

// Asks for the cache lines a row at position pos touches first for kv head kvh: where kv_write stores its key and
// value (a column of transposed keys spans a line per dimension), and where attend starts (which then asks for
// each next chunk of positions itself).
void kv_prefetch(const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh);

// Causal attention of one row for the `group` query heads sharing kv head kvh:
// out[h] = softmax(q[h] . k_t * scale, t = 0..pos) . v_t, reading positions through `table`.
// q and out hold group * head_dim floats. One pass over the positions (online softmax).
void attend(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
            int32_t group, const float* q, float scale, float* out);

#define ATTEND_ROWS_TILE 4 // rows attend_rows serves together on AVX-512

// attend for n_rows consecutive positions pos0, pos0 + 1, ... of one sequence (a prompt chunk, its keys and values
// all written): row r's q and out at q + r * ld_q and out + r * ld_out. Each row's output is bit for bit what attend
// gives it alone. The positions that ATTEND_ROWS_TILE rows (AVX-512; 2 on AVX2) all see are read once for all of
// them: in a prompt the same keys and values are otherwise streamed again for every row.
void attend_rows(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos0, int32_t n_rows,
                 int32_t kvh, int32_t group, const float* q, int64_t ld_q, float scale, float* out, int64_t ld_out);

#endif // WK_ATTENTION_H
