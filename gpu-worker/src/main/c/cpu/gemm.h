/*
 * gemm.h: weights pre-packed at load into the order the kernels read them, and the batched matrix
 * product out = x W^T over every row of a step at once.
 *
 * Packed layout: the out-features are cut into panels of 32 columns; a panel stores its columns' weights
 * input by input, g consecutive inputs of a column side by side: [panel][k / g][32][g]. A kernel
 * streams one panel front to back (one sequential stream for the hardware prefetcher, no horizontal sums)
 * while holding up to 8 rows x 32 columns of accumulators in registers, so each weight loaded is used by
 * every row of the batch. Storage types:
 *   WK_F32   g = 1: 32 floats per k.
 *   WK_BF16  g = 2: 32-bit lane c holds column c's weight for k (low half) and k+1 (high half). A shift and an
 *            and split a lane into two f32 for FMA; vdpbf16ps (the AVX512_BF16 path) multiplies the pair by the
 *            same pair of activations in one instruction. An odd K is padded with a zero input.
 *   WK_INT8  g = 4: one f32 scale per column (symmetric, max |w| / 127 per output row), K padded with zero
 *            inputs to a multiple of 4, so one 64-byte load holds 16 columns x 4 inputs, the operand of
 *            vpdpbusd (AVX512_VNNI). The activations are quantized too (W8A8), per row (token) at every product:
 *            q = rint(x / s), s = max |x| / 127. vpdpbusd multiplies unsigned by signed bytes, so they are stored
 *            as the u8 q + 128 and each column's int32 sum starts at -128 x its weight sum (offsets): the
 *            correction depends on the column only, so it is fixed at load and costs nothing in the loop, and
 *            the weights stay plain int8 for every other reader. The sums are exact, so every path gets the same
 *            integer; the epilogue turns it into (float)sum * s_row * s_col.
 * Every output element is one accumulator summed over k in order, so a row's result does not depend
 * on which other rows share the step or which thread ran it.
 */
#ifndef WK_GEMM_H
#define WK_GEMM_H

#include <stdint.h>

#include "pool.h"

#define PANEL 32
#define WK_INT8_MAX_K 32768

typedef struct {
    int32_t k;         // in features
    int32_t kp;        // k rounded up to the storage's group of inputs g: panel stride
    int32_t n;         // packed columns (a multiple of PANEL)
    int32_t n_panels;  // n / PANEL
    int32_t dtype;     // WK_F32, WK_BF16 or WK_INT8
    void* data;        // n_panels * kp * PANEL elements
    float* scales;     // WK_INT8: (n) per-column scales; NULL otherwise
    int32_t* offsets;  // WK_INT8: (n) -128 x each column's sum of int8 weights; NULL otherwise
} packed;

// Allocates room for at least n_cols columns of k inputs (2 MiB aligned, huge pages advised), zeroed.
// WK_INT8 takes k <= WK_INT8_MAX_K: an int32 sum, from its start -128 x sum(w) through the k products
// (q + 128) w, stays within 383 x 127 x k < 2^31.
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
    EPI_ARGMAX, // nothing stored: each panel's largest value and its column (gemm_argmax)
} epilogue;

// out[m, c] for m < n_rows, c < n_out; x is (n_rows, w->k) with row stride ldx, out has row stride ldo.
// n_out <= w->n (w->n / 2 for EPI_SWIGLU). p may be NULL (run on the caller). scratch: gemm_scratch_bytes(w->k, n_rows)
// bytes where the activations are converted once per call (bf16 pairs for bf16 weights on the AVX512_BF16 path,
// int8 for int8 weights on every path); may be NULL for f32 weights.
void gemm(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, float* out,
          int32_t ldo, int32_t n_out, epilogue e, void* scratch);

// The greedy token of each row without storing the product (an LM head whose logits nobody reads: writing and
// re-reading n_rows x vocab floats per step costs more than the comparisons). For row m and panel u (32 columns,
// u < n_units = ceil(n_out / 32)): panel_max[m * n_units + u] is the largest of the panel's products (NaNs skipped;
// -inf when all are NaN) and panel_arg[..] the first column holding it. Exception, so that gemm_argmax_of_panels
// matches wk_argmax_ref (which keeps index 0 when product 0 is NaN): a NaN in column 0 gives panel 0 (NaN, 0).
void gemm_argmax(pool* p, int32_t path, const packed* w, const float* x, int32_t ldx, int32_t n_rows, int32_t n_out,
                 float* panel_max, int32_t* panel_arg, void* scratch);

// Row m's greedy token from gemm_argmax's panels: the first panel holding the largest maximum.
int32_t gemm_argmax_of_panels(const float* panel_max, const int32_t* panel_arg, int32_t n_units);

// Bytes of scratch gemm needs for n_rows rows of k inputs.
int64_t gemm_scratch_bytes(int32_t k, int32_t n_rows);

#endif // WK_GEMM_H
