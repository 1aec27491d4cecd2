/*
 * wk_common.h: host-side code shared by both backends (compiled once with gcc, linked into
 * libweir_cpu.so and libweir_cuda.so). Everything here is backend-neutral bookkeeping:
 * errors, config/tensor validation, per-slot sequence lengths, dtype conversion, the RoPE table,
 * and the scalar reference matmul. The math of the forward pass lives in each backend.
 */
#ifndef WK_COMMON_H
#define WK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "../weir_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

// ----------------------------------------------------------------------------
// Errors: a thread-local message, returned through wk_last_error()

// Formats the message, stores it for wk_last_error() and returns code (so: return wk_fail(...)).
int32_t wk_fail(int32_t code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void wk_clear_error(void);

// ----------------------------------------------------------------------------
// Tensor table

typedef struct {
    const char* name;  // "WQ", for messages
    int per_layer;     // 1: one copy per layer, 0: global
    int64_t rows;      // out features
    int64_t cols;      // in features (1 for norm vectors)
} wk_tensor_shape;

// Fills *s for tensor t under cfg. Returns WK_ERR_ARG for an unknown tensor id.
int32_t wk_tensor_shape_of(const wk_config* cfg, int32_t t, wk_tensor_shape* s);

// ----------------------------------------------------------------------------
// Model bookkeeping, embedded as the first member of each backend's wk_model (wk_model_kv_info relies on it)

typedef struct {
    wk_config cfg;           // as given to wk_model_create
    wk_options opts;         // with defaults filled in
    int32_t q_dim;           // n_heads * head_dim
    int32_t kv_dim;          // n_kv_heads * head_dim
    int32_t blocks_per_slot; // ceil(max_seq_len / block_size)
    uint8_t* is_set;         // (WK_N_TENSORS, n_layers) 1 once a tensor (layer) was uploaded
    int32_t* seq_len;        // (max_slots) positions each slot holds (slot API)
    int32_t* slot_tables;    // (max_slots, blocks_per_slot) slot s owns blocks s*B .. s*B+B-1
    const int32_t** row_tables; // (max_batch) per-step: each row's block table
    int32_t* row_pos;        // (max_batch) per-step scratch for the slot API
    int32_t* logit_rows;     // (max_batch) per-step scratch for the slot API
} wk_state;

// Validates cfg and opts (filling defaults) and allocates the bookkeeping.
int32_t wk_state_build(wk_state* st, const wk_config* cfg, const wk_options* opts);
void wk_state_free(wk_state* st);

// wk_model_create's options: max_slots slots, each with its own blocks; f32 weights.
// Fails (WK_ERR_ARG) unless both are positive.
int32_t wk_slot_options(int32_t max_slots, int32_t max_batch, wk_options* out);

// Validates a wk_model_set_tensor call. On success *offset is the element offset of this
// (tensor, layer) inside the tensor's (n_layers, rows, cols) storage and *count its element count.
int32_t wk_check_set_tensor(const wk_state* st, int32_t t, int32_t layer, const void* data,
                            int32_t dtype, int64_t n_elements, int64_t* offset, int64_t* count);
void wk_mark_set(wk_state* st, int32_t t, int32_t layer);

// WK_ERR_STATE naming the first tensor never set.
int32_t wk_check_ready(const wk_state* st);

// ----------------------------------------------------------------------------
// Forward driver: validation, chunking and KV-length bookkeeping around a backend's step.

// One validated step: n_rows <= max_batch rows; row i is tokens[i] at positions[i], its sequence's
// blocks are tables[i]. Logits are wanted for rows logit_rows[0..n_logits), in that order.
typedef struct {
    int32_t n_rows;
    const int32_t* tokens;
    const int32_t* positions;
    const int32_t* const* tables;
    int32_t n_logits;
    const int32_t* logit_rows;
    int32_t* argmax;  // (n_logits) greedy token of each logit row, or NULL
} wk_batch;

typedef int32_t (*wk_step_fn)(void* model, const wk_batch* batch, float* logits);

// What each backend defines for the entry points they share (wk_model_set_tensor, wk_forward, wk_forward_batch,
// wk_forward_paged, in wk_common.c): its model's bookkeeping, storing a validated tensor (w: its count elements
// from element `offset` of the whole tensor, as f32), and one batch of validated rows through every layer.
wk_state* wk_backend_state(wk_model* m);
int32_t wk_backend_store(wk_model* m, int32_t tensor, int32_t layer, int64_t offset, const float* w);
int32_t wk_backend_step(void* model, const wk_batch* batch, float* logits);

int32_t wk_run_sequence(wk_state* st, wk_step_fn step, void* model, int32_t slot, const int32_t* tokens,
                        int32_t n_tokens, int32_t start_pos, float* logits_out);
int32_t wk_run_batch(wk_state* st, wk_step_fn step, void* model, int32_t n_rows, const int32_t* slots,
                     const int32_t* tokens, const int32_t* positions, float* logits_out);
int32_t wk_run_paged(wk_state* st, wk_step_fn step, void* model, int32_t n_rows, const int32_t* tokens,
                     const int32_t* positions, const int32_t* row_seq, int32_t n_seqs, const int32_t* block_tables,
                     int32_t table_stride, int32_t n_logits, const int32_t* logit_rows, float* logits_out,
                     int32_t* argmax_out);

// best = 0, then every i with x[i] > x[best] becomes best: the first index of the largest value, NaNs ignored
// (a NaN at 0 stays). The engine's Java sampler chooses the same way.
int32_t wk_argmax_ref(const float* x, int32_t n);

// ----------------------------------------------------------------------------
// Host memory

// `bytes` of host memory, 64-byte aligned; 2 MiB aligned with madvise(MADV_HUGEPAGE) when large, so
// weights and the KV cache get transparent huge pages where the OS allows. free() releases it.
void* wk_alloc_huge(size_t bytes);

// ----------------------------------------------------------------------------
// Numerics shared by both backends

// dst[0..n) = src converted from dtype (F32 copy, F16/BF16 widened). src may be unaligned.
void wk_to_f32(float* dst, const void* src, int32_t dtype, int64_t n);

// HF rotate_half RoPE table: cos_sin[(pos * head_dim/2 + i) * 2 + {0,1}] = {cos, sin}(pos * theta^(-2i/head_dim)),
// computed in double. Size: max_seq_len * head_dim floats.
void wk_rope_table(const wk_config* cfg, float* cos_sin);

// 1 for the KV-cache element types (WK_F32, WK_BF16, WK_INT8).
int32_t wk_kv_dtype_valid(int32_t kv_dtype);

// Validates wk_test_attention's arguments (max_head_dim: the backend's limit) and sets *n_blocks to the pool
// size its table needs (largest block id + 1).
int32_t wk_check_test_attention(int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                                int32_t max_head_dim, int32_t block_size, int32_t n_pos, int32_t n_rows,
                                const int32_t* table, const float* q, const float* k, const float* v, const float* out,
                                int32_t* n_blocks);

// Scalar reference: out[i] = sum_j w[i*n + j] * x[j], f32, in index order (never vectorized).
void wk_matmul_ref(float* out, const float* x, const float* w, int32_t n, int32_t d);

#ifdef __cplusplus
}
#endif

#endif // WK_COMMON_H
