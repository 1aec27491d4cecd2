/*
 * weir_cuda.cu: the CUDA backend of weir_kernels.h. Same math as cpu/weir_cpu.c, with hand-written kernels
 * (no cuBLAS): weights stored on the device as f32, bf16 or int8 (per-row scales), activations and the paged
 * KV cache on the device, the logits of the requested rows copied back per step.
 * Every CUDA call is checked and turned into WK_ERR_DEVICE + a wk_last_error message; nothing exits.
 *
 *   errors       CUDA_TRY / launch checks
 *   model        struct wk_model, build/free, weight upload
 *   kernels      embedding, RMSNorm, matmul (a warp per output row for small batches, a shared-memory
 *                tiled GEMM for large ones), RoPE, paged KV write, paged attention (one block per
 *                (head, row)), SwiGLU, residual, logit-row gather
 *   forward      wk_backend_step: one batch of rows through every layer
 *   API          the exported wk_* functions, benchmarks and test hooks
 *
 * The paged KV cache: k and v are [n_layers][n_blocks][block_size][kv_dim]; a row's position p lives in
 * block table[p / block_size]. Each step uploads the rows (tokens, positions, logit rows, block tables) in one
 * copy. Decode steps are not captured in CUDA graphs (yet): each step launches ~10 kernels per layer.
 *
 * Build: nvcc -O3 -std=c++17 -Xcompiler -fPIC -shared -gencode arch=compute_80,code=sm_80
 *        -gencode arch=compute_90,code=sm_90 weir_cuda.cu wk_common.o   (see ../Makefile)
 */
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/wk_common.h"
#include "../weir_kernels.h"

// ----------------------------------------------------------------------------
// Errors

static int32_t cuda_fail(cudaError_t e, const char* what, int line) {
    // the contract's WK_ERR_NOMEM covers device allocations too: the caller may retry with a smaller KV cache
    return wk_fail(e == cudaErrorMemoryAllocation ? WK_ERR_NOMEM : WK_ERR_DEVICE, "CUDA error: %s (%s) at weir_cuda.cu:%d in %s", cudaGetErrorString(e), cudaGetErrorName(e),
                   line, what);
}

// wk_fail formats into the thread-local buffer wk_last_error() returns: quote a previous message from a copy.
static int32_t fail_no_device(int32_t code, const char* what) {
    char why[256];
    snprintf(why, sizeof why, "%s", wk_last_error());
    return wk_fail(code, "%s: no CUDA device: %s", what, why);
}

#define CUDA_TRY(call)                                                  \
    do {                                                                \
        cudaError_t e_ = (call);                                        \
        if (e_ != cudaSuccess) return cuda_fail(e_, #call, __LINE__);   \
    } while (0)

// After a kernel launch: configuration errors show up here, execution errors at the next sync.
#define LAUNCH_CHECK(name)                                                      \
    do {                                                                        \
        cudaError_t e_ = cudaGetLastError();                                    \
        if (e_ != cudaSuccess) return cuda_fail(e_, "launch of " name, __LINE__); \
    } while (0)

#define TRY(expr)                          \
    do {                                   \
        int32_t rc_ = (expr);              \
        if (rc_ != WK_OK) return rc_;      \
    } while (0)

#define THREADS 256          // threads per block everywhere
#define WARPS (THREADS / 32) // matmul: output rows per block
#define MAX_HEAD_DIM THREADS // attention keeps a block-wide partial sum per head dimension
#define SMALL_BATCH 8        // up to this many rows: warp-per-row matmul; more: tiled GEMM

// ----------------------------------------------------------------------------
// Weights: one device matrix in its storage type

struct dmat {
    void* data;     // (count) elements of dtype
    float* scales;  // WK_INT8: one per row (over every layer); else NULL
    int32_t dtype;  // WK_F32, WK_BF16, WK_INT8
};

__device__ __forceinline__ float wload(const void* w, int32_t dtype, int64_t i) {
    if (dtype == WK_F32) return ((const float*)w)[i];
    if (dtype == WK_BF16) return __bfloat162float(((const __nv_bfloat16*)w)[i]);
    return (float)((const int8_t*)w)[i];
}

static size_t dtype_size(int32_t dtype) { return dtype == WK_F32 ? 4 : dtype == WK_BF16 ? 2 : 1; }

// ----------------------------------------------------------------------------
// Model

struct wk_model {
    wk_state st;                  // config, options, tensor and slot bookkeeping (shared with CPU)
    dmat w[WK_N_TENSORS];         // device weights (n_layers or 1, rows, cols); norms always f32; LM_HEAD
                                  // aliases TOK_EMBEDDINGS when tied
    float* x;                     // (max_batch, dim) residual stream
    float* xb;                    // (max_batch, dim) RMSNorm output
    float* xb2;                   // (max_batch, dim) o_proj / down_proj output
    float* q;                     // (max_batch, q_dim)
    float* k;                     // (max_batch, kv_dim)
    float* v;                     // (max_batch, kv_dim)
    float* ao;                    // (max_batch, q_dim) attention output
    float* hb;                    // (max_batch, hidden_dim) gate, then silu(gate) * up
    float* hb2;                   // (max_batch, hidden_dim) up
    float* att;                   // (max_batch, n_heads, max_seq_len) attention scores
    float* rope;                  // (max_seq_len, head_dim/2, 2) cos, sin
    float* key_cache;             // (n_layers, n_blocks, block_size, kv_dim)
    float* value_cache;           // (n_layers, n_blocks, block_size, kv_dim)
    float* logits;                // (max_batch, vocab_size)
    float* host_logits;           // (max_batch, vocab_size) pinned, for steps whose caller wants only argmax
    int32_t* rows;                // device copy of host_rows
    int32_t* host_rows;           // pinned: tokens, positions, logit rows (max_batch each), tables (max_batch, bps)
};

static bool is_matrix(int t) { return t != WK_ATTN_NORM && t != WK_FFN_NORM && t != WK_FINAL_NORM; }

static void free_model(wk_model* m) {
    for (int t = 0; t < WK_N_TENSORS; t++)
        if (!(t == WK_LM_HEAD && m->st.cfg.tied_embeddings)) {
            cudaFree(m->w[t].data);
            cudaFree(m->w[t].scales);
        }
    float* bufs[] = {m->x, m->xb, m->xb2, m->q, m->k, m->v, m->ao, m->hb, m->hb2, m->att, m->rope, m->key_cache,
                     m->value_cache, m->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    cudaFree(m->rows);
    cudaFreeHost(m->host_rows);
    cudaFreeHost(m->host_logits);
    wk_state_free(&m->st);
    free(m);
}

static int32_t alloc_f32(float** p, int64_t n) {
    CUDA_TRY(cudaMalloc((void**)p, (size_t)(n > 0 ? n : 1) * sizeof(float)));
    return WK_OK;
}

static int64_t rows_field(const wk_model* m) { return m->st.opts.max_batch; }

static int32_t build_model(wk_model* m) {
    const wk_config* c = &m->st.cfg;
    const wk_options* o = &m->st.opts;
    int64_t B = o->max_batch, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim;
    if (c->head_dim > MAX_HEAD_DIM)
        return wk_fail(WK_ERR_UNSUPPORTED, "cuda backend: head_dim %d > %d is not supported", c->head_dim, MAX_HEAD_DIM);
    for (int t = 0; t < WK_N_TENSORS; t++) {
        wk_tensor_shape s = {0};
        wk_tensor_shape_of(c, t, &s);
        if (t == WK_LM_HEAD && c->tied_embeddings) continue;
        int64_t count = (s.per_layer ? c->n_layers : 1) * s.rows * s.cols;
        // as on the CPU, weight_dtype is the projections' and the LM head's storage: untied embeddings stay f32
        bool quantized = is_matrix(t) && (t != WK_TOK_EMBEDDINGS || c->tied_embeddings);
        int32_t dt = quantized ? o->weight_dtype : WK_F32;
        m->w[t].dtype = dt;
        CUDA_TRY(cudaMalloc(&m->w[t].data, (size_t)count * dtype_size(dt)));
        if (dt == WK_INT8)
            CUDA_TRY(cudaMalloc((void**)&m->w[t].scales, (size_t)(s.per_layer ? c->n_layers : 1) * s.rows * sizeof(float)));
    }
    if (c->tied_embeddings) m->w[WK_LM_HEAD] = m->w[WK_TOK_EMBEDDINGS];

    int64_t kv_elems = (int64_t)c->n_layers * o->n_blocks * o->block_size * kv_dim;
    struct { float** p; int64_t n; } bufs[] = {
        {&m->x, B * c->dim}, {&m->xb, B * c->dim}, {&m->xb2, B * c->dim}, {&m->q, B * q_dim}, {&m->k, B * kv_dim},
        {&m->v, B * kv_dim}, {&m->ao, B * q_dim}, {&m->hb, B * c->hidden_dim}, {&m->hb2, B * c->hidden_dim},
        {&m->att, B * c->n_heads * c->max_seq_len}, {&m->rope, (int64_t)c->max_seq_len * c->head_dim},
        {&m->key_cache, kv_elems}, {&m->value_cache, kv_elems}, {&m->logits, B * c->vocab_size},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) TRY(alloc_f32(bufs[i].p, bufs[i].n));
    size_t row_ints = (size_t)3 * B + (size_t)B * m->st.blocks_per_slot;
    CUDA_TRY(cudaMalloc((void**)&m->rows, row_ints * sizeof(int32_t)));
    CUDA_TRY(cudaMallocHost((void**)&m->host_rows, row_ints * sizeof(int32_t)));
    // the forward calls never allocate (weir_kernels.h): the greedy-only steps' copy of the logits is sized here
    CUDA_TRY(cudaMallocHost((void**)&m->host_logits, (size_t)B * c->vocab_size * sizeof(float)));

    float* table = (float*)malloc((size_t)c->max_seq_len * c->head_dim * sizeof(float));
    if (!table) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of host memory for the RoPE table");
    wk_rope_table(c, table);
    cudaError_t e = cudaMemcpy(m->rope, table, (size_t)c->max_seq_len * c->head_dim * sizeof(float), cudaMemcpyHostToDevice);
    free(table);
    CUDA_TRY(e);
    return WK_OK;
}

// Converts f32 host rows to the storage type of `d` and copies them to element offset `offset` (row `row0`).
static int32_t upload(dmat* d, const float* src, int64_t offset, int64_t rows, int64_t cols, int64_t row0) {
    int64_t n = rows * cols;
    if (d->dtype == WK_F32) {
        CUDA_TRY(cudaMemcpy((float*)d->data + offset, src, (size_t)n * 4, cudaMemcpyHostToDevice));
        return WK_OK;
    }
    void* host = malloc((size_t)n * dtype_size(d->dtype));
    float* scales = d->dtype == WK_INT8 ? (float*)malloc((size_t)rows * sizeof(float)) : NULL;
    if (!host || (d->dtype == WK_INT8 && !scales)) {
        free(host);
        free(scales);
        return wk_fail(WK_ERR_NOMEM, "wk_model_set_tensor: out of host memory converting %lld elements", (long long)n);
    }
    if (d->dtype == WK_BF16) {
        __nv_bfloat16* h = (__nv_bfloat16*)host;
        for (int64_t i = 0; i < n; i++) h[i] = __float2bfloat16_rn(src[i]);
    } else {
        int8_t* h = (int8_t*)host;
        for (int64_t r = 0; r < rows; r++) {
            float amax = 0.0f;
            for (int64_t j = 0; j < cols; j++) amax = fmaxf(amax, fabsf(src[r * cols + j]));
            scales[r] = amax > 0.0f ? amax / 127.0f : 1.0f;
            for (int64_t j = 0; j < cols; j++) h[r * cols + j] = (int8_t)lrintf(src[r * cols + j] / scales[r]);
        }
    }
    cudaError_t e = cudaMemcpy((char*)d->data + offset * dtype_size(d->dtype), host, (size_t)n * dtype_size(d->dtype),
                               cudaMemcpyHostToDevice);
    if (e == cudaSuccess && scales)
        e = cudaMemcpy(d->scales + row0, scales, (size_t)rows * sizeof(float), cudaMemcpyHostToDevice);
    free(host);
    free(scales);
    CUDA_TRY(e);
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Kernels

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reductions over THREADS threads; every thread gets the result.
__device__ float block_sum(float v) {
    __shared__ float part[WARPS];
    __shared__ float total;
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        float s = threadIdx.x < WARPS ? part[threadIdx.x] : 0.0f;
        s = warp_sum(s);
        if (threadIdx.x == 0) total = s;
    }
    __syncthreads();
    return total;
}

__device__ float block_max(float v) {
    __shared__ float part[WARPS];
    __shared__ float total;
    v = warp_max(v);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        float s = threadIdx.x < WARPS ? part[threadIdx.x] : -INFINITY;
        s = warp_max(s);
        if (threadIdx.x == 0) total = s;
    }
    __syncthreads();
    return total;
}

// grid (B): x[b] = emb[tokens[b]] (converted from the storage type)
__global__ void embed_kernel(float* x, dmat emb, const int32_t* tokens, int dim) {
    int64_t row = tokens[blockIdx.x];
    float scale = emb.dtype == WK_INT8 ? emb.scales[row] : 1.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x)
        x[(int64_t)blockIdx.x * dim + j] = wload(emb.data, emb.dtype, row * dim + j) * scale;
}

// grid (n_out): out[i] = x[rows ? rows[i] : i] / sqrt(mean(x^2) + eps) * weight
__global__ void rmsnorm_kernel(float* out, const float* x, const int32_t* rows, const float* weight, int dim, float eps) {
    const float* xr = x + (int64_t)(rows ? rows[blockIdx.x] : blockIdx.x) * dim;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
    float inv = 1.0f / sqrtf(block_sum(ss) / dim + eps); // not rsqrtf (2 ulp): the CPU's rounding
    for (int j = threadIdx.x; j < dim; j += blockDim.x) out[(int64_t)blockIdx.x * dim + j] = weight[j] * (inv * xr[j]);
}

// grid (ceil(d / WARPS)): one warp per output row i, looping over the (few) batch rows so the weight row
// stays in L1; lanes stride the row so loads coalesce. w points at this layer's matrix, scales at its rows.
__global__ void matvec_kernel(float* out, const float* x, const void* w, int32_t dtype, const float* scales, int n_rows,
                              int n, int d) {
    int i = blockIdx.x * WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (i >= d) return;
    float scale = scales ? scales[i] : 1.0f;
    for (int b = 0; b < n_rows; b++) {
        const float* xb = x + (int64_t)b * n;
        float sum = 0.0f;
        for (int j = lane; j < n; j += 32) sum += wload(w, dtype, (int64_t)i * n + j) * xb[j];
        sum = warp_sum(sum);
        if (lane == 0) out[(int64_t)b * d + i] = sum * scale;
    }
}

// Tiled GEMM for large batches: out[m, i] = sum_j x[m, j] * W[i, j]. Block tile 64 rows x 64 outputs, K in steps
// of 16 through shared memory; each of the 256 threads computes a 4 x 4 sub-tile.
#define TM 64
#define TN 64
#define TK 16
__global__ void gemm_kernel(float* out, const float* x, const void* w, int32_t dtype, const float* scales, int n_rows,
                            int n, int d) {
    __shared__ float xs[TK][TM + 1];
    __shared__ float ws[TK][TN + 1];
    int m0 = blockIdx.y * TM, i0 = blockIdx.x * TN;
    int tr = threadIdx.x / 16, tc = threadIdx.x % 16; // 16 x 16 threads, 4 x 4 each
    float acc[4][4] = {{0}};
    for (int k0 = 0; k0 < n; k0 += TK) {
        for (int e = threadIdx.x; e < TM * TK; e += THREADS) {
            int r = e / TK, kk = e % TK, m = m0 + r, k = k0 + kk;
            xs[kk][r] = m < n_rows && k < n ? x[(int64_t)m * n + k] : 0.0f;
            int i = i0 + r;
            ws[kk][r] = i < d && k < n ? wload(w, dtype, (int64_t)i * n + k) : 0.0f;
        }
        __syncthreads();
        for (int kk = 0; kk < TK; kk++) {
            float a[4], b[4];
            for (int u = 0; u < 4; u++) {
                a[u] = xs[kk][tr * 4 + u];
                b[u] = ws[kk][tc * 4 + u];
            }
            for (int u = 0; u < 4; u++)
                for (int v = 0; v < 4; v++) acc[u][v] += a[u] * b[v];
        }
        __syncthreads();
    }
    for (int u = 0; u < 4; u++)
        for (int v = 0; v < 4; v++) {
            int m = m0 + tr * 4 + u, i = i0 + tc * 4 + v;
            if (m < n_rows && i < d) out[(int64_t)m * d + i] = acc[u][v] * (scales ? scales[i] : 1.0f);
        }
}

// grid (B): rotate pairs (i, i + head_dim/2) of every head of row b by its position (HF rotate_half)
__global__ void rope_kernel(float* vec, const float* rope, const int32_t* positions, int n_heads, int head_dim) {
    int half = head_dim / 2;
    const float* cs = rope + (int64_t)positions[blockIdx.x] * head_dim;
    for (int t = threadIdx.x; t < n_heads * half; t += blockDim.x) {
        int h = t / half, i = t % half;
        float* x = vec + ((int64_t)blockIdx.x * n_heads + h) * head_dim;
        float c = cs[2 * i], s = cs[2 * i + 1], x1 = x[i], x2 = x[i + half];
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
    }
}

// Offset of (layer, position p of the sequence with block table `table`) in a cache laid out
// (n_layers, n_blocks, block_size, kv_dim).
__device__ int64_t cache_offset(const int32_t* table, int p, int layer, int n_blocks, int block_size, int kv_dim) {
    return (((int64_t)layer * n_blocks + table[p / block_size]) * block_size + p % block_size) * kv_dim;
}

// grid (B): copy row b's k, v into its block at its position
__global__ void kv_write_kernel(float* key_cache, float* value_cache, const float* k, const float* v, const int32_t* tables,
                                int table_stride, const int32_t* positions, int layer, int n_blocks, int block_size,
                                int kv_dim) {
    int64_t off = cache_offset(tables + (int64_t)blockIdx.x * table_stride, positions[blockIdx.x], layer, n_blocks,
                               block_size, kv_dim);
    for (int j = threadIdx.x; j < kv_dim; j += blockDim.x) {
        key_cache[off + j] = k[(int64_t)blockIdx.x * kv_dim + j];
        value_cache[off + j] = v[(int64_t)blockIdx.x * kv_dim + j];
    }
}

// grid (B, n_heads): one block per (row, query head), rows on x (up to 2^31 - 1; y stops at 65535). Scores over
// positions 0..pos into att, block softmax, then THREADS / head_dim groups of threads each sum a stride of positions
// per dimension.
__global__ void attention_kernel(float* ao, float* att, const float* q, const float* key_cache, const float* value_cache,
                                 const int32_t* tables, int table_stride, const int32_t* positions, int layer, int n_blocks,
                                 int block_size, int max_seq_len, int n_heads, int n_kv_heads, int head_dim) {
    __shared__ float partial[THREADS];
    int b = blockIdx.x, h = blockIdx.y, pos = positions[b], kv_dim = n_kv_heads * head_dim;
    int kvh = h / (n_heads / n_kv_heads);
    const int32_t* table = tables + (int64_t)b * table_stride;
    const float* qh = q + ((int64_t)b * n_heads + h) * head_dim;
    float* s = att + ((int64_t)b * n_heads + h) * max_seq_len;
    float scale = 1.0f / sqrtf((float)head_dim);

    float local_max = -INFINITY;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float* kt = key_cache + cache_offset(table, t, layer, n_blocks, block_size, kv_dim) + kvh * head_dim;
        float dot = 0.0f;
        for (int i = 0; i < head_dim; i++) dot += qh[i] * kt[i];
        s[t] = dot * scale;
        local_max = fmaxf(local_max, s[t]);
    }
    float max = block_max(local_max);
    float local_sum = 0.0f;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        s[t] = expf(s[t] - max);
        local_sum += s[t];
    }
    float inv_sum = 1.0f / block_sum(local_sum); // block_sum's barrier also publishes s[] to the block

    int groups = blockDim.x / head_dim, g = threadIdx.x / head_dim, i = threadIdx.x % head_dim;
    float acc = 0.0f;
    if (g < groups)
        for (int t = g; t <= pos; t += groups)
            acc += s[t] * value_cache[cache_offset(table, t, layer, n_blocks, block_size, kv_dim) + kvh * head_dim + i];
    partial[threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.x < head_dim) {
        float out = 0.0f;
        for (int gg = 0; gg < groups; gg++) out += partial[gg * head_dim + threadIdx.x];
        ao[((int64_t)b * n_heads + h) * head_dim + threadIdx.x] = out * inv_sum;
    }
}

// hb = silu(hb) * hb2
__global__ void swiglu_kernel(float* hb, const float* hb2, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) hb[i] = hb[i] / (1.0f + expf(-hb[i])) * hb2[i];
}

// x += delta
__global__ void residual_kernel(float* x, const float* delta, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += delta[i];
}

// ----------------------------------------------------------------------------
// Launchers

static unsigned blocks_for(int64_t n) { return (unsigned)((n + THREADS - 1) / THREADS); }

// out = x W^T for matrix `layer` of d (n_rows rows of n inputs, d outputs)
static int32_t matmul(float* out, const float* x, const dmat* d, int64_t layer, int n_rows, int n, int out_dim) {
    const void* w = (const char*)d->data + (size_t)layer * out_dim * n * dtype_size(d->dtype);
    const float* scales = d->scales ? d->scales + layer * out_dim : NULL;
    if (n_rows <= SMALL_BATCH) {
        matvec_kernel<<<(out_dim + WARPS - 1) / WARPS, THREADS>>>(out, x, w, d->dtype, scales, n_rows, n, out_dim);
        LAUNCH_CHECK("matvec_kernel");
    } else {
        dim3 grid((out_dim + TN - 1) / TN, (n_rows + TM - 1) / TM);
        gemm_kernel<<<grid, THREADS>>>(out, x, w, d->dtype, scales, n_rows, n, out_dim);
        LAUNCH_CHECK("gemm_kernel");
    }
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Forward: one batch of rows through every layer (rows are validated by wk_run_*)

int32_t wk_backend_step(void* model, const wk_batch* bt, float* logits) {
    wk_model* m = (wk_model*)model;
    const wk_config* c = &m->st.cfg;
    int dim = c->dim, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, hidden = c->hidden_dim, L = c->n_layers;
    int B = bt->n_rows, bps = m->st.blocks_per_slot, bs = m->st.opts.block_size, nb = m->st.opts.n_blocks;
    int64_t mb = rows_field(m);

    // the rows: one host-to-device copy of tokens, positions, logit rows and block tables
    int32_t* h = m->host_rows;
    memcpy(h, bt->tokens, B * sizeof(int32_t));
    memcpy(h + mb, bt->positions, B * sizeof(int32_t));
    if (bt->n_logits > 0) memcpy(h + 2 * mb, bt->logit_rows, bt->n_logits * sizeof(int32_t));
    for (int r = 0; r < B; r++) memcpy(h + 3 * mb + (int64_t)r * bps, bt->tables[r], (bt->positions[r] / bs + 1) * sizeof(int32_t));
    CUDA_TRY(cudaMemcpy(m->rows, h, (3 * mb + mb * bps) * sizeof(int32_t), cudaMemcpyHostToDevice));
    const int32_t *d_tokens = m->rows, *d_pos = m->rows + mb, *d_logit_rows = m->rows + 2 * mb, *d_tables = m->rows + 3 * mb;

    embed_kernel<<<B, THREADS>>>(m->x, m->w[WK_TOK_EMBEDDINGS], d_tokens, dim);
    LAUNCH_CHECK("embed_kernel");
    for (int l = 0; l < L; l++) {
        // attention
        rmsnorm_kernel<<<B, THREADS>>>(m->xb, m->x, NULL, (const float*)m->w[WK_ATTN_NORM].data + (int64_t)l * dim, dim,
                                       c->rms_eps);
        LAUNCH_CHECK("rmsnorm_kernel");
        TRY(matmul(m->q, m->xb, &m->w[WK_WQ], l, B, dim, q_dim));
        TRY(matmul(m->k, m->xb, &m->w[WK_WK], l, B, dim, kv_dim));
        TRY(matmul(m->v, m->xb, &m->w[WK_WV], l, B, dim, kv_dim));
        rope_kernel<<<B, THREADS>>>(m->q, m->rope, d_pos, c->n_heads, c->head_dim);
        LAUNCH_CHECK("rope_kernel(q)");
        rope_kernel<<<B, THREADS>>>(m->k, m->rope, d_pos, c->n_kv_heads, c->head_dim);
        LAUNCH_CHECK("rope_kernel(k)");
        kv_write_kernel<<<B, THREADS>>>(m->key_cache, m->value_cache, m->k, m->v, d_tables, bps, d_pos, l, nb, bs, kv_dim);
        LAUNCH_CHECK("kv_write_kernel");
        attention_kernel<<<dim3(B, c->n_heads), THREADS>>>(m->ao, m->att, m->q, m->key_cache, m->value_cache, d_tables, bps,
                                                           d_pos, l, nb, bs, c->max_seq_len, c->n_heads, c->n_kv_heads,
                                                           c->head_dim);
        LAUNCH_CHECK("attention_kernel");
        TRY(matmul(m->xb2, m->ao, &m->w[WK_WO], l, B, q_dim, dim));
        residual_kernel<<<blocks_for((int64_t)B * dim), THREADS>>>(m->x, m->xb2, (int64_t)B * dim);
        LAUNCH_CHECK("residual_kernel");

        // feed-forward
        rmsnorm_kernel<<<B, THREADS>>>(m->xb, m->x, NULL, (const float*)m->w[WK_FFN_NORM].data + (int64_t)l * dim, dim,
                                       c->rms_eps);
        LAUNCH_CHECK("rmsnorm_kernel");
        TRY(matmul(m->hb, m->xb, &m->w[WK_W_GATE], l, B, dim, hidden));
        TRY(matmul(m->hb2, m->xb, &m->w[WK_W_UP], l, B, dim, hidden));
        swiglu_kernel<<<blocks_for((int64_t)B * hidden), THREADS>>>(m->hb, m->hb2, (int64_t)B * hidden);
        LAUNCH_CHECK("swiglu_kernel");
        TRY(matmul(m->xb2, m->hb, &m->w[WK_W_DOWN], l, B, hidden, dim));
        residual_kernel<<<blocks_for((int64_t)B * dim), THREADS>>>(m->x, m->xb2, (int64_t)B * dim);
        LAUNCH_CHECK("residual_kernel");
    }

    if (bt->n_logits == 0) {
        CUDA_TRY(cudaDeviceSynchronize()); // surface execution errors in this call
        return WK_OK;
    }
    rmsnorm_kernel<<<bt->n_logits, THREADS>>>(m->xb, m->x, d_logit_rows, (const float*)m->w[WK_FINAL_NORM].data, dim,
                                              c->rms_eps);
    LAUNCH_CHECK("rmsnorm_kernel(final)");
    TRY(matmul(m->logits, m->xb, &m->w[WK_LM_HEAD], 0, bt->n_logits, dim, c->vocab_size));
    if (logits == NULL) logits = m->host_logits; // only the greedy tokens wanted: found on the host from our copy
    CUDA_TRY(cudaMemcpy(logits, m->logits, (size_t)bt->n_logits * c->vocab_size * sizeof(float), cudaMemcpyDeviceToHost));
    if (bt->argmax) // on the host: the logits are here anyway
        for (int r = 0; r < bt->n_logits; r++) bt->argmax[r] = wk_argmax_ref(logits + (int64_t)r * c->vocab_size, c->vocab_size);
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Machine ceilings (device memory, FP32 FMA)

__global__ void read_kernel(const float4* p, int64_t n, float* sink) {
    float4 acc = make_float4(0, 0, 0, 0);
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float4 v = p[i];
        acc.x += v.x; acc.y += v.y; acc.z += v.z; acc.w += v.w;
    }
    if (acc.x + acc.y + acc.z + acc.w == 12345.678f) *sink = acc.x; // never true; keeps the loads
}

__global__ void fma_kernel(float* sink, int iters) {
    float a[8];
    for (int i = 0; i < 8; i++) a[i] = threadIdx.x * 1e-3f + i;
    for (int n = 0; n < iters; n++)
        for (int i = 0; i < 8; i++) a[i] = fmaf(a[i], 0.999999f, 1e-7f);
    float s = 0;
    for (int i = 0; i < 8; i++) s += a[i];
    if (s == 12345.678f) *sink = s;
}

// ----------------------------------------------------------------------------
// API

// ----------------------------------------------------------------------------
// Timing for the benchmarks: every step checked, and nothing left behind when one fails

typedef struct {
    cudaEvent_t t0, t1;
} bench_events;

static cudaError_t bench_events_create(bench_events* ev) {
    cudaError_t e = cudaEventCreate(&ev->t0);
    return e == cudaSuccess ? cudaEventCreate(&ev->t1) : e;
}

static void bench_events_destroy(bench_events* ev) {
    if (ev->t0) cudaEventDestroy(ev->t0);
    if (ev->t1) cudaEventDestroy(ev->t1);
}

// One run of `launch` (a kernel launch on the default stream) between the events; *ms its time.
template <class Launch>
static cudaError_t timed_run(const bench_events* ev, Launch launch, float* ms) {
    cudaError_t e = cudaEventRecord(ev->t0);
    if (e == cudaSuccess) {
        launch();
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaEventRecord(ev->t1);
    if (e == cudaSuccess) e = cudaEventSynchronize(ev->t1);
    if (e == cudaSuccess) e = cudaEventElapsedTime(ms, ev->t0, ev->t1);
    return e;
}

extern "C" {

WK_API const char* wk_backend_name(void) { return "cuda"; }

WK_API int32_t wk_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cuda_fail(e, "cudaGetDeviceCount", __LINE__);
        cudaGetLastError(); // clear it so later calls start clean
        return 0;
    }
    if (n == 0) wk_fail(WK_ERR_DEVICE, "the CUDA runtime found no device");
    return n;
}

WK_API const char* wk_backend_info(void) {
    static thread_local char info[256];
    int dev = 0;
    cudaDeviceProp prop;
    if (wk_device_count() <= 0 || cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        snprintf(info, sizeof info, "cuda: no usable device (%s)", wk_last_error());
        return info;
    }
    snprintf(info, sizeof info, "cuda: device %d %s, sm_%d%d, %zu MiB", dev, prop.name, prop.major, prop.minor,
             prop.totalGlobalMem >> 20);
    return info;
}

WK_API int32_t wk_model_create_ex(const wk_config* cfg, const wk_options* opts, wk_model** out) {
    if (out == NULL) return wk_fail(WK_ERR_ARG, "wk_model_create: out is NULL");
    *out = NULL;
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_DEVICE, "wk_model_create");
    wk_model* m = (wk_model*)calloc(1, sizeof *m);
    if (!m) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory");
    int32_t rc = wk_state_build(&m->st, cfg, opts);
    if (rc == WK_OK && m->st.opts.kv_dtype != WK_F32)
        rc = wk_fail(WK_ERR_UNSUPPORTED, "wk_model_create: the cuda backend keeps its KV cache in f32 (kv_dtype 0)");
    if (rc == WK_OK) rc = build_model(m);
    if (rc != WK_OK) {
        free_model(m);
        return rc;
    }
    *out = m;
    return WK_OK;
}

int32_t wk_backend_store(wk_model* m, int32_t tensor, int32_t layer, int64_t offset, const float* w) {
    (void)layer; // offset says where a per-layer tensor goes
    wk_tensor_shape s = {0};
    wk_tensor_shape_of(&m->st.cfg, tensor, &s);
    return upload(&m->w[tensor], w, offset, s.rows, s.cols, offset / s.cols);
}

wk_state* wk_backend_state(wk_model* m) { return &m->st; }

WK_API void wk_model_free(wk_model* m) {
    if (m != NULL) free_model(m);
}

WK_API int32_t wk_bench_read_bandwidth(int64_t bytes, int32_t reps, double* gb_per_s) {
    if (bytes < 1024 || reps <= 0 || !gb_per_s) return wk_fail(WK_ERR_ARG, "wk_bench_read_bandwidth: bad arguments");
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_UNSUPPORTED, "wk_bench_read_bandwidth");
    bytes = bytes / 16 * 16;
    float4* buf = NULL;
    float* sink = NULL;
    bench_events ev = {NULL, NULL};
    double best = 0;
    cudaError_t e = cudaMalloc((void**)&buf, (size_t)bytes);
    if (e == cudaSuccess) e = cudaMalloc((void**)&sink, sizeof(float));
    if (e == cudaSuccess) e = cudaMemset(buf, 0, (size_t)bytes);
    if (e == cudaSuccess) e = bench_events_create(&ev);
    for (int32_t r = 0; r <= reps && e == cudaSuccess; r++) { // the first pass warms up
        float ms = 0;
        e = timed_run(&ev, [&] { read_kernel<<<1024, THREADS>>>(buf, bytes / 16, sink); }, &ms);
        if (e == cudaSuccess && r > 0 && ms > 0 && bytes / (ms * 1e6) > best) best = bytes / (ms * 1e6);
    }
    bench_events_destroy(&ev);
    cudaFree(buf);
    cudaFree(sink);
    CUDA_TRY(e);
    *gb_per_s = best;
    return WK_OK;
}

WK_API int32_t wk_bench_attention(int32_t kv_dtype, int32_t n_rows, int32_t n_pos, int32_t n_query, int32_t n_layers,
                                  int32_t n_kv_heads, int32_t head_dim, int32_t reps, double* ns_per_position) {
    return wk_fail(WK_ERR_UNSUPPORTED, "wk_bench_attention: the cuda backend has no one-thread attention to time");
}

WK_API int32_t wk_bench_fma_peak(int32_t millis, double* gflop_per_s) {
    if (millis <= 0 || !gflop_per_s) return wk_fail(WK_ERR_ARG, "wk_bench_fma_peak: bad arguments");
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_UNSUPPORTED, "wk_bench_fma_peak");
    int dev = 0, sms = 0;
    CUDA_TRY(cudaGetDevice(&dev));
    CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    float* sink = NULL;
    bench_events ev = {NULL, NULL};
    int iters = 4096, blocks = sms * 8;
    double best = 0;
    cudaError_t e = cudaMalloc((void**)&sink, sizeof(float));
    if (e == cudaSuccess) e = bench_events_create(&ev);
    for (int r = 0; r < 5 && e == cudaSuccess; r++) { // the first pass warms up
        float ms = 0;
        e = timed_run(&ev, [&] { fma_kernel<<<blocks, THREADS>>>(sink, iters); }, &ms);
        double gf = ms > 0 ? (double)blocks * THREADS * iters * 8 * 2 / (ms * 1e6) : 0;
        if (e == cudaSuccess && r > 0 && gf > best) best = gf;
        if (ms < millis / 5.0) iters *= 2;
    }
    bench_events_destroy(&ev);
    cudaFree(sink);
    CUDA_TRY(e);
    *gflop_per_s = best;
    return WK_OK;
}

// path 1, the device matmul (allocates: test hook only); the host reference is wk_test_matmul's path 0
WK_API int32_t wk_test_gemm(int32_t path, int32_t dtype, float* out, const float* x, const float* w, int32_t m, int32_t n,
                            int32_t d) {
    if (!out || !x || !w || m <= 0 || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "wk_test_gemm: bad arguments");
    if (dtype != WK_F32 && dtype != WK_BF16 && dtype != WK_INT8)
        return wk_fail(WK_ERR_ARG, "wk_test_gemm: storage dtype %d is not F32, BF16 or INT8", dtype);
    if (path != 1) return wk_fail(WK_ERR_ARG, "wk_test_gemm: unknown path %d (cuda has 1)", path);
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_UNSUPPORTED, "wk_test_gemm");
    dmat dw = {NULL, NULL, dtype};
    float *dx = NULL, *dout = NULL;
    int32_t rc = WK_OK;
    cudaError_t e = cudaMalloc(&dw.data, (size_t)n * d * dtype_size(dtype));
    if (e == cudaSuccess && dtype == WK_INT8) e = cudaMalloc((void**)&dw.scales, (size_t)d * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc((void**)&dx, (size_t)m * n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc((void**)&dout, (size_t)m * d * sizeof(float));
    if (e == cudaSuccess) e = cudaMemcpy(dx, x, (size_t)m * n * sizeof(float), cudaMemcpyHostToDevice);
    if (e == cudaSuccess) rc = upload(&dw, w, 0, d, n, 0);
    if (e == cudaSuccess && rc == WK_OK) rc = matmul(dout, dx, &dw, 0, m, n, d);
    if (e == cudaSuccess && rc == WK_OK) e = cudaMemcpy(out, dout, (size_t)m * d * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(dw.data);
    cudaFree(dw.scales);
    cudaFree(dx);
    cudaFree(dout);
    if (rc != WK_OK) return rc;
    CUDA_TRY(e);
    return WK_OK;
}

WK_API int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d) {
    if (!out || !x || !w || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "wk_test_matmul: bad arguments");
    if (path == 0) {
        wk_matmul_ref(out, x, w, n, d);
        return WK_OK;
    }
    if (path != 1) return wk_fail(WK_ERR_ARG, "wk_test_matmul: unknown path %d (cuda has 0..1)", path);
    return wk_test_gemm(1, WK_F32, out, x, w, 1, n, d);
}

WK_API int32_t wk_test_attention(int32_t path, int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                                 int32_t block_size, int32_t n_pos, int32_t n_rows, const int32_t* table, const float* q,
                                 const float* k, const float* v, float* out) {
    int32_t n_blocks, kv_dim = n_kv_heads * head_dim;
    int32_t rc = wk_check_test_attention(kv_dtype, n_heads, n_kv_heads, head_dim, INT32_MAX, block_size, n_pos, n_rows,
                                         table, q, k, v, out, &n_blocks);
    if (rc != WK_OK) return rc;
    if (head_dim > MAX_HEAD_DIM)
        return wk_fail(WK_ERR_UNSUPPORTED, "wk_test_attention: head_dim %d > %d is not supported by the cuda backend",
                       head_dim, MAX_HEAD_DIM);
    if (kv_dtype != WK_F32) return wk_fail(WK_ERR_UNSUPPORTED, "wk_test_attention: the cuda KV cache is f32 only");
    if (path != 1) return wk_fail(WK_ERR_ARG, "wk_test_attention: unknown path %d (cuda has 1)", path);
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_UNSUPPORTED, "wk_test_attention");
    int32_t n_tab = (n_pos + block_size - 1) / block_size;
    size_t cache = (size_t)n_blocks * block_size * kv_dim;
    float *kc = NULL, *vc = NULL, *dk = NULL, *dv = NULL, *dq = NULL, *dout = NULL, *att = NULL;
    int32_t *dtab = NULL, *dpos = NULL;
    cudaError_t e = cudaMalloc((void**)&kc, cache * 4);
    if (e == cudaSuccess) e = cudaMalloc((void**)&vc, cache * 4);
    if (e == cudaSuccess) e = cudaMalloc((void**)&dk, (size_t)n_pos * kv_dim * 4);
    if (e == cudaSuccess) e = cudaMalloc((void**)&dv, (size_t)n_pos * kv_dim * 4);
    size_t q_bytes = (size_t)n_rows * n_heads * head_dim * 4;
    if (e == cudaSuccess) e = cudaMalloc((void**)&dq, q_bytes);
    if (e == cudaSuccess) e = cudaMalloc((void**)&dout, q_bytes);
    if (e == cudaSuccess) e = cudaMalloc((void**)&att, (size_t)n_rows * n_heads * n_pos * 4);
    if (e == cudaSuccess) e = cudaMalloc((void**)&dtab, (size_t)n_tab * 4);
    if (e == cudaSuccess) e = cudaMalloc((void**)&dpos, (size_t)n_pos * 4);
    if (e == cudaSuccess) e = cudaMemset(kc, 0xff, cache * 4); // NaN where nothing was written
    if (e == cudaSuccess) e = cudaMemset(vc, 0xff, cache * 4);
    if (e == cudaSuccess) e = cudaMemcpy(dk, k, (size_t)n_pos * kv_dim * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(dv, v, (size_t)n_pos * kv_dim * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(dq, q, q_bytes, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(dtab, table, (size_t)n_tab * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) {
        int32_t* pos = (int32_t*)malloc((size_t)n_pos * 4);
        for (int32_t t = 0; t < n_pos && pos; t++) pos[t] = t;
        e = pos ? cudaMemcpy(dpos, pos, (size_t)n_pos * 4, cudaMemcpyHostToDevice) : cudaErrorMemoryAllocation;
        free(pos);
    }
    if (e == cudaSuccess) { // every position as its own row, all sharing the one table (stride 0)
        kv_write_kernel<<<n_pos, THREADS>>>(kc, vc, dk, dv, dtab, 0, dpos, 0, n_blocks, block_size, kv_dim);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) { // the query rows: the last n_rows positions (dpos holds 0..n_pos-1)
        attention_kernel<<<dim3(n_rows, n_heads), THREADS>>>(dout, att, dq, kc, vc, dtab, 0, dpos + (n_pos - n_rows), 0,
                                                             n_blocks, block_size, n_pos, n_heads, n_kv_heads, head_dim);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpy(out, dout, q_bytes, cudaMemcpyDeviceToHost);
    float* bufs[] = {kc, vc, dk, dv, dq, dout, att};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    cudaFree(dtab);
    cudaFree(dpos);
    CUDA_TRY(e);
    return WK_OK;
}

WK_API int32_t wk_test_gemm_argmax(int32_t path, int32_t dtype, int32_t* argmax, const float* x, const float* w,
                                   int32_t m, int32_t n, int32_t d) {
    return wk_fail(WK_ERR_UNSUPPORTED, "wk_test_gemm_argmax: the CUDA backend takes greedy tokens from the logits");
}

WK_API int32_t wk_test_pool(int32_t n_threads, int32_t n_jobs, int32_t max_items, int64_t* bad) {
    return wk_fail(WK_ERR_UNSUPPORTED, "wk_test_pool: the CUDA backend has no CPU thread pool");
}

} // extern "C"
