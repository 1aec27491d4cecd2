/*
 * weir_kernels.h: the Weir kernel library API. This header is the source of truth.
 *
 * Two backends implement exactly this API:
 *   libweir_cpu.so   cpu/     C11, runtime SIMD dispatch (AVX-512 / AVX2+FMA / scalar), pthread pool
 *   libweir_cuda.so  cuda/    hand-written CUDA kernels, f32 weights in device memory
 * The Java binding (io.weir.worker.kernels.WeirNative) mirrors it by hand, in jextract's shape.
 *
 * Conventions
 *   - Every function that can fail returns a wk_status: 0 on success, a negative code otherwise,
 *     and leaves a message for wk_last_error(). No function calls exit() or abort().
 *   - The error message is thread-local: read it on the thread that made the failing call,
 *     before making another call.
 *   - A model is used by one thread at a time (the engine thread). Different models are independent.
 *   - The forward calls never allocate: model creation sizes every buffer (activations for
 *     max_batch rows, the KV cache as a pool of fixed-size blocks).
 *   - KV cache: a pool of n_blocks blocks of block_size positions. The paged API (wk_forward_paged)
 *     takes a block table per sequence from the caller, which owns the blocks (allocation, sharing
 *     of common prefixes, eviction). The slot API (wk_forward, wk_forward_batch) gives slot s the
 *     fixed blocks [s * B, (s + 1) * B), B = ceil(max_seq_len / block_size); do not mix the two APIs
 *     on one model.
 *   - Weights are nn.Linear layout, [out, in] row-major. q/k rows are in the Hugging Face order
 *     (RoPE rotates pairs (i, i + head_dim/2) of each head, "rotate_half").
 */
#ifndef WEIR_KERNELS_H
#define WEIR_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WK_API __attribute__((visibility("default")))
#else
#define WK_API
#endif

// ----------------------------------------------------------------------------
// Status codes

typedef enum wk_status {
    WK_OK              =  0,
    WK_ERR_ARG         = -1,  // bad argument: NULL pointer, unknown tensor/dtype, wrong element count
    WK_ERR_RANGE       = -2,  // slot, position or batch size out of range, or a gap in a slot's KV cache
    WK_ERR_STATE       = -3,  // model not ready: a weight tensor was never set
    WK_ERR_NOMEM       = -4,  // host or device allocation failed
    WK_ERR_DEVICE      = -5,  // CUDA runtime error (message has the CUDA error string)
    WK_ERR_UNSUPPORTED = -6,  // this machine/backend cannot do it (e.g. an AVX-512 test path on an AVX2 CPU)
} wk_status;

// ----------------------------------------------------------------------------
// Model description

typedef struct wk_config {
    int32_t dim;             // hidden size (hidden_size)
    int32_t hidden_dim;      // SwiGLU inner size (intermediate_size)
    int32_t n_layers;        // decoder layers
    int32_t n_heads;         // query heads
    int32_t n_kv_heads;      // key/value heads (GQA: n_heads % n_kv_heads == 0)
    int32_t head_dim;        // per-head size; q_dim = n_heads*head_dim, kv_dim = n_kv_heads*head_dim
    int32_t vocab_size;      // logits per row
    int32_t max_seq_len;     // KV cache positions per slot
    float   rms_eps;         // RMSNorm epsilon
    float   rope_theta;      // RoPE base
    int32_t tied_embeddings; // 1: the LM head is TOK_EMBEDDINGS (WK_LM_HEAD must not be set)
} wk_config;

// Weight element types. Uploads accept F32, F16 and BF16; storage (wk_options.weight_dtype) is F32,
// BF16 or INT8 (symmetric per output row, quantized at upload). The CPU backend multiplies INT8 weights by
// activations quantized to int8 per row at each product (W8A8, integer sums); CUDA by f32 activations.
// The KV cache (wk_options.kv_dtype) is F32, BF16 or INT8.
typedef enum wk_dtype { WK_F32 = 0, WK_F16 = 1, WK_BF16 = 2, WK_INT8 = 3 } wk_dtype;

// Sizes of a model's native state.
typedef struct wk_options {
    int32_t max_batch;    // rows (tokens) per forward step, > 0
    int32_t max_slots;    // sequences of the slot API, >= 0 (0: paged API only)
    int32_t n_blocks;     // KV-cache blocks; 0: exactly enough for the slots
    int32_t block_size;   // positions per block, a multiple of 16; 0: 16
    int32_t weight_dtype; // storage of projection and LM-head weights: WK_F32, WK_BF16 or WK_INT8
    int32_t kv_dtype;     // KV-cache elements: WK_F32, or on the CPU only (CUDA answers WK_ERR_UNSUPPORTED)
                          // WK_BF16 (half the bytes; keys and values rounded to bf16 when written) or WK_INT8 (a
                          // quarter, plus a scale per position and kv head: each key and value quantized
                          // symmetrically, max |x| / 127, when written)
} wk_options;

// Weight tensors, in forward-pass order. Shapes, [out, in] row-major:
typedef enum wk_tensor {
    WK_TOK_EMBEDDINGS = 0, // (vocab_size, dim)            global
    WK_ATTN_NORM      = 1, // (dim)                        per layer
    WK_WQ             = 2, // (n_heads*head_dim, dim)      per layer
    WK_WK             = 3, // (n_kv_heads*head_dim, dim)   per layer
    WK_WV             = 4, // (n_kv_heads*head_dim, dim)   per layer
    WK_WO             = 5, // (dim, n_heads*head_dim)      per layer
    WK_FFN_NORM       = 6, // (dim)                        per layer
    WK_W_GATE         = 7, // (hidden_dim, dim)            per layer
    WK_W_UP           = 8, // (hidden_dim, dim)            per layer
    WK_W_DOWN         = 9, // (dim, hidden_dim)            per layer
    WK_FINAL_NORM     = 10,// (dim)                        global
    WK_LM_HEAD        = 11,// (vocab_size, dim)            global, absent when tied_embeddings
    WK_N_TENSORS      = 12
} wk_tensor;

typedef struct wk_model wk_model;

// ----------------------------------------------------------------------------
// Library

WK_API const char* wk_backend_name(void);  // "cpu" or "cuda"
WK_API int32_t     wk_device_count(void);  // CPU: 1. CUDA: cudaGetDeviceCount, or 0 on error (message in wk_last_error)
WK_API const char* wk_last_error(void);    // thread-local message for the last non-zero status; "" if none
WK_API const char* wk_backend_info(void);  // one line for logs: SIMD path and threads, or the GPU name

// ----------------------------------------------------------------------------
// Model lifecycle

// Validates cfg and allocates weights storage, activations for max_batch rows and the KV cache
// (max_slots sequences × max_seq_len positions × n_layers). *out is NULL on failure.
WK_API int32_t wk_model_create(const wk_config* cfg, int32_t max_slots, int32_t max_batch, wk_model** out);

// The same with every size given (see wk_options). The KV cache is n_blocks x block_size positions.
WK_API int32_t wk_model_create_ex(const wk_config* cfg, const wk_options* opts, wk_model** out);

// Copies (converting to the storage type) one weight tensor into backend memory. layer is 0..n_layers-1 for
// per-layer tensors and -1 for global ones. n_elements must equal the tensor's size. The caller's
// buffer may be freed as soon as this returns. Setting a tensor again overwrites it.
WK_API int32_t wk_model_set_tensor(wk_model* m, int32_t tensor, int32_t layer,
                                   const void* data, int32_t dtype, int64_t n_elements);

// Frees everything; NULL is a no-op.
WK_API void wk_model_free(wk_model* m);

// ----------------------------------------------------------------------------
// Forward pass

// Runs tokens[0..n_tokens) of one sequence at positions start_pos.. through the model, writing
// their keys/values into slot's KV cache, and writes the vocab_size logits of the LAST token to
// logits_out. Prompts longer than max_batch are processed in chunks of max_batch rows.
// Requires 0 <= start_pos <= (positions the slot already holds) and start_pos + n_tokens <= max_seq_len;
// start_pos 0 starts a new sequence in the slot, a smaller start_pos rewinds it.
WK_API int32_t wk_forward(wk_model* m, int32_t slot, const int32_t* tokens, int32_t n_tokens,
                          int32_t start_pos, float* logits_out);

// Batched step for continuous batching: row i is token tokens[i] at position positions[i] of
// slot slots[i]. Rows of one slot must have consecutive positions, in order (a prefill chunk);
// each row sees its slot's cache up to and including its own position. Writes n_rows × vocab_size
// logits (row-major) to logits_out. n_rows <= max_batch.
WK_API int32_t wk_forward_batch(wk_model* m, int32_t n_rows, const int32_t* slots, const int32_t* tokens,
                                const int32_t* positions, float* logits_out);

// Paged step (continuous batching over the block pool): row i is token tokens[i] at position
// positions[i] of sequence row_seq[i] (0..n_seqs-1), whose block table is
// block_tables[row_seq[i] * table_stride ..]: position p lives in block table[p / block_size].
// Rows of one sequence must have consecutive positions, in order; every earlier position of a
// sequence must already be in its blocks (the caller tracks that). Writes the logits of the rows
// logit_rows[0..n_logits) (each in [0, n_rows)), in that order, to logits_out (n_logits x vocab_size);
// n_logits may be 0. With argmax_out non-NULL, also writes each of those rows' greedy token (the first index
// of its largest logit, NaNs ignored; index 0 when logit 0 is NaN) to argmax_out[0..n_logits); then logits_out
// may be NULL, when only the greedy tokens are wanted (the CPU backend then never stores the logits).
// n_rows <= max_batch.
WK_API int32_t wk_forward_paged(wk_model* m, int32_t n_rows, const int32_t* tokens, const int32_t* positions,
                                const int32_t* row_seq, int32_t n_seqs, const int32_t* block_tables,
                                int32_t table_stride, int32_t n_logits, const int32_t* logit_rows, float* logits_out,
                                int32_t* argmax_out);

// KV-cache geometry of a model: *n_blocks and *block_size (either may be NULL).
WK_API int32_t wk_model_kv_info(const wk_model* m, int32_t* n_blocks, int32_t* block_size);

// ----------------------------------------------------------------------------
// Machine ceilings, for benchmarks (CPU backend; CUDA: device memory and FP32 FMA)

// Read bandwidth in GB/s over a buffer of `bytes`, summed by every pool thread, best of `reps` passes.
WK_API int32_t wk_bench_read_bandwidth(int64_t bytes, int32_t reps, double* gb_per_s);
// Peak FP32 FMA rate in GFLOP/s over every pool thread (independent FMA chains, ~`millis` ms).
WK_API int32_t wk_bench_fma_peak(int32_t millis, double* gflop_per_s);
// Attention alone on one thread (CPU only): n_rows sequences of n_pos positions each, in blocks of 16 spread over a
// KV cache of kv_dtype elements (n_layers x n_kv_heads tiles of head_dim), one query head per kv head, each sequence
// queried by the rows at its last n_query positions (1..n_pos: 1 is a decode step, more a prompt chunk's rows, served
// together as a step serves them); the best of `reps` passes over every layer, sequence and head in the order a step
// runs them (each (sequence, head) asking for the next one's first blocks), in ns per position a row attends to and
// kv head. A decode pass reads n_rows x n_pos x n_layers x n_kv_heads positions: bigger than the
// caches, it measures what attention gets from memory.
WK_API int32_t wk_bench_attention(int32_t kv_dtype, int32_t n_rows, int32_t n_pos, int32_t n_query, int32_t n_layers,
                                  int32_t n_kv_heads, int32_t head_dim, int32_t reps, double* ns_per_position);

// ----------------------------------------------------------------------------
// Test hooks

// out[d] = W[d,n] · x[n] through one of this backend's matmul implementations.
// path 0 is the scalar C reference (both backends); CPU: 1 = AVX2+FMA, 2 = AVX-512F, 3 = AVX-512 with
// AVX512_BF16 (differs from 2 only for bf16 weights in wk_test_gemm: activations rounded to bf16), 4 = AVX-512 with
// AVX512_VNNI (differs from 2 only in how int8 weights are multiplied, with the same results), 5 = 4 with AMX tiles
// for int8 products of 16 rows or more (the same results), 6 = 5 with the tile instructions run by a C model
// (wherever 4 runs: it checks 5's tiling without AMX hardware); CUDA: 1 = the device matvec kernel.
// WK_ERR_UNSUPPORTED when this machine cannot run the path, WK_ERR_ARG for an unknown path.
WK_API int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d);

// out[m, d] = x[m, n] · W[d, n]^T for m rows through the backend's batched product with W stored as
// dtype (WK_F32, WK_BF16, WK_INT8), on path `path` (CPU: 0 scalar, 1 AVX2, 2 AVX-512, 3 AVX512_BF16, 4 AVX512_VNNI,
// 5 AMX, 6 AMX on the tile model; CUDA: 1).
WK_API int32_t wk_test_gemm(int32_t path, int32_t dtype, float* out, const float* x, const float* w, int32_t m,
                            int32_t n, int32_t d);

// The same product reduced to each row's greedy token (argmax[m], wk_argmax_ref's choice) the way a step that wants
// no logits computes it, without storing the product. CPU only (CUDA: WK_ERR_UNSUPPORTED, its greedy tokens come
// from the logits).
WK_API int32_t wk_test_gemm_argmax(int32_t path, int32_t dtype, int32_t* argmax, const float* x, const float* w,
                                   int32_t m, int32_t n, int32_t d);

// Paged causal attention of the query rows at the last n_rows (1..n_pos) of n_pos positions, as one step of a
// prompt chunk runs it, against keys/values k, v (n_pos, n_kv_heads * head_dim, dense) written into blocks
// table[0..ceil(n_pos / block_size)) of a scratch pool holding kv_dtype elements (as wk_options.kv_dtype), on path
// `path`. q and out hold n_rows * n_heads * head_dim floats, row by row.
WK_API int32_t wk_test_attention(int32_t path, int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads,
                                 int32_t head_dim, int32_t block_size, int32_t n_pos, int32_t n_rows,
                                 const int32_t* table, const float* q, const float* k, const float* v, float* out);

// Stresses the CPU thread pool: n_jobs jobs of 1..max_items items each (chunks of one item), on a pool of
// n_threads threads, every item recording which job ran it. *bad gets the number of items not run exactly
// once by their own job (0 when the hand-off is right: a worker that wakes late must not run an item of a
// finished job, nor an item twice). CUDA: WK_ERR_UNSUPPORTED.
WK_API int32_t wk_test_pool(int32_t n_threads, int32_t n_jobs, int32_t max_items, int64_t* bad);

#ifdef __cplusplus
}
#endif

#endif // WEIR_KERNELS_H
