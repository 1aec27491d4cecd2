/*
 * matmul.h: out = x W^T for a batch of rows, with runtime SIMD dispatch.
 * The hot loop of the CPU backend: every projection and the LM head go through matmul().
 */
#ifndef WK_MATMUL_H
#define WK_MATMUL_H

#include <stdint.h>

#include "pool.h"

enum { MATMUL_SCALAR = 0, MATMUL_AVX2 = 1, MATMUL_AVX512 = 2, MATMUL_N_PATHS = 3 };

// 1 if this CPU (and OS) can run the path.
int32_t matmul_path_supported(int32_t path);
// The fastest supported path, or the one WEIR_SIMD (scalar|avx2|avx512) forces if supported.
int32_t matmul_best_path(void);
const char* matmul_path_name(int32_t path);

// out[b, i] = sum_j w[i, j] * x[b, j] for b < n_rows, i < d; x is (n_rows, n), w is (d, n), out is (n_rows, d).
// Output rows i are split across the pool (p may be NULL: run on the caller).
void matmul(pool* p, int32_t path, float* out, const float* x, const float* w, int32_t n_rows, int32_t n, int32_t d);

#endif // WK_MATMUL_H
