/*
 * attention.h: the paged KV cache of the CPU backend and attention over it.
 *
 * The cache is a pool of fixed-size blocks shared by all sequences; a sequence's block table maps its
 * position p to block table[p / block_size], offset p % block_size. Inside a block, keys are stored
 * transposed (dimension-major: [kv_head][head_dim][block_size]) so the scores of 16 positions are one
 * vector of FMAs with no horizontal sums, and values position-major ([kv_head][block_size][head_dim])
 * for the weighted sum:
 *   k: [n_layers][n_blocks][n_kv_heads][head_dim][block_size]
 *   v: [n_layers][n_blocks][n_kv_heads][block_size][head_dim]
 */
#ifndef WK_ATTENTION_H
#define WK_ATTENTION_H

#include <stdint.h>

typedef struct {
    int32_t n_layers, n_blocks, block_size, n_kv_heads, head_dim;
    float* k;
    float* v;
} kv_pool;

// 0 or WK_ERR_NOMEM. block_size must be a multiple of 16.
int32_t kv_pool_alloc(kv_pool* kv, int32_t n_layers, int32_t n_blocks, int32_t block_size, int32_t n_kv_heads,
                      int32_t head_dim);
void kv_pool_free(kv_pool* kv);

// Stores one position's keys and values (kv_dim floats each, heads concatenated).
void kv_write(const kv_pool* kv, int32_t layer, int32_t block, int32_t offset, const float* k, const float* v);

// Causal attention of one row for the `group` query heads sharing kv head kvh:
// out[h] = softmax(q[h] . k_t * scale, t = 0..pos) . v_t, reading positions through `table`.
// q and out hold group * head_dim floats; scratch holds group * (pos + 16) floats.
void attend(int32_t path, const kv_pool* kv, int32_t layer, const int32_t* table, int32_t pos, int32_t kvh,
            int32_t group, const float* q, float scale, float* out, float* scratch);

#endif // WK_ATTENTION_H
