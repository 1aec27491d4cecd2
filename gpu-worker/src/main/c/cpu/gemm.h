/*
 * gemm.h: weights pre-packed at load into the order the kernels read them, and the batched matrix
 * product out = x W^T over every row of a step at once.
 *
 * Packed layout: the out-features are cut into panels of 32 columns; a panel stores, for k = 0..K-1,
 * the 32 weights of input feature k: [panel][k][32]. A kernel streams one panel front to back (one
 * sequential stream for the hardware prefetcher, no horizontal sums) while holding up to 8 rows x 32
 * columns of accumulators in registers, so each weight loaded is used by every row of the batch.
 * Storage types:
 *   WK_F32   32 floats per k.
 *   WK_BF16  stored by pairs of inputs: for k = 0, 2, 4.., 32 columns x (k, k+1), 32-bit lane c holding
 *            column c's weight for k (low half) and k+1 (high half). A shift and an and split a lane into
 *            two f32 for FMA; vdpbf16ps (the AVX512_BF16 path) multiplies the pair by the same pair of
 *            activations in one instruction. An odd K is padded with a zero input.
 *   WK_INT8  32 int8 per k with one f32 scale per column (symmetric, max |w| / 127 per output row),
 *            applied to the finished dot products.
 * Every output element is one accumulator summed over k in order, so a row's result does not depend
 * on which other rows share the step or which thread ran it.
 */
#ifndef WK_GEMM_H
#define WK_GEMM_H

#include <stdint.h>

#include "pool.h"

#define PANEL 32

typedef struct {
    int32_t k;         // in features
    int32_t kp;        // k rounded up to the storage's input granularity (even for WK_BF16): panel stride
    int32_t n;         // packed columns (a multiple of PANEL)
    int32_t n_panels;  // n / PANEL
    int32_t dtype;     // WK_F32, WK_BF16 or WK_INT8
    void* data;        // n_panels * k * PANEL elements
    float* scales;     // WK_INT8: (n) per-column scales; NULL otherwise
} packed;

// Allocates room for at least n_cols columns of k inputs (2 MiB aligned, huge pages advised), zeroed.
int32_t packed_alloc(packed* w, int32_t k, int32_t n_cols, int32_t dtype);
void packed_free(packed* w);

// Packs src (rows x k, row-major nn.Linear [out, in], f32) into columns dst_col(0..rows-1) of w,
// where dst_col(r) = col0 + r, or with pair_stride > 0 the SwiGLU pair layout:
// dst_col(r) = (r / 32) * pair_stride + col0 + r % 32.
void packed_set_rows(packed* w, const float* src, int32_t rows, int32_t col0, int32_t pair_stride);

// out[j] = W[c, j] for j < k, as f32 (embedding lookups in a tied LM head).
void packed_column(const packed* w, int32_t c, float* out);

typedef enum {
    EPI_STORE,  // out[m, c] = product
    EPI_ADD,    // out[m, c] += product (residual connections)
    EPI_SWIGLU, // panels come in (gate, up) pairs; out[m, 32p + i] = silu(gate) * up of pair p
} epilogue;

// out[m, c] for m < n_rows, c < n_out; x is (n_rows, w->k) with row stride ldx, out has row stride ldo.
// n_out <= w->n (w->n / 2 for EPI_SWIGLU). p may be NULL (run on the caller). pairs: scratch for the activations
// as bf16 pairs, gemm_pairs_size(w, n_rows) uint32 (used on the AVX512_BF16 path with bf16 weights; else may be NULL).
void gemm(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, float* out,
          int32_t ldo, int32_t n_out, epilogue e, uint32_t* pairs);

// uint32 of activation pairs gemm needs for n_rows rows of k inputs.
int64_t gemm_pairs_size(int32_t k, int32_t n_rows);

#endif // WK_GEMM_H
