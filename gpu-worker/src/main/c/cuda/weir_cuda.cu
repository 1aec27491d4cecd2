/*
 * weir_cuda.cu: the CUDA backend of weir_kernels.h. Same math and layout as cpu/weir_cpu.c, with
 * hand-written kernels (no cuBLAS): weights converted to f32 on the host and copied into plain
 * cudaMalloc allocations, activations and KV cache on the device, logits copied back per step.
 * Every CUDA call is checked and turned into WK_ERR_DEVICE + a wk_last_error message; nothing exits.
 *
 *   errors       CUDA_TRY / launch checks
 *   model        struct wk_model, build/free, weight upload
 *   kernels      embedding, RMSNorm, matmul (one warp per output row), RoPE, KV write, attention
 *                (one block per (head, row)), SwiGLU, residual
 *   forward      cuda_step: one batch of rows through every layer
 *   API          the exported wk_* functions
 *
 * Build: nvcc -O3 -std=c++17 -Xcompiler -fPIC -shared -gencode arch=compute_80,code=sm_80
 *        -gencode arch=compute_90,code=sm_90 weir_cuda.cu wk_common.o   (see ../Makefile)
 */
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
    return wk_fail(WK_ERR_DEVICE, "CUDA error: %s (%s) at weir_cuda.cu:%d in %s", cudaGetErrorString(e), cudaGetErrorName(e),
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

#define THREADS 256          // threads per block everywhere
#define WARPS (THREADS / 32) // matmul: output rows per block
#define MAX_HEAD_DIM THREADS // attention keeps a block-wide partial sum per head dimension

// ----------------------------------------------------------------------------
// Model

struct wk_model {
    wk_state st;                  // config, limits, tensor and per-slot bookkeeping (shared with CPU)
    float* w[WK_N_TENSORS];       // device weights, f32, (n_layers or 1, rows, cols); LM_HEAD aliases
                                  // TOK_EMBEDDINGS when tied
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
    float* key_cache;             // (max_slots, n_layers, max_seq_len, kv_dim)
    float* value_cache;           // (max_slots, n_layers, max_seq_len, kv_dim)
    float* logits;                // (max_batch, vocab_size)
    int32_t* rows;                // (3, max_batch) this step's slots, tokens, positions
    int32_t* host_rows;           // (3, max_batch) host staging for rows (one copy per step)
};

static void free_model(wk_model* m) {
    for (int t = 0; t < WK_N_TENSORS; t++)
        if (!(t == WK_LM_HEAD && m->st.cfg.tied_embeddings)) cudaFree(m->w[t]);
    float* bufs[] = {m->x, m->xb, m->xb2, m->q, m->k, m->v, m->ao, m->hb, m->hb2, m->att, m->rope, m->key_cache,
                     m->value_cache, m->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    cudaFree(m->rows);
    free(m->host_rows);
    wk_state_free(&m->st);
    free(m);
}

static int32_t alloc_f32(float** p, int64_t n) {
    CUDA_TRY(cudaMalloc((void**)p, (size_t)n * sizeof(float)));
    return WK_OK;
}

static int32_t build_model(wk_model* m) {
    const wk_config* c = &m->st.cfg;
    int64_t B = m->st.max_batch, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim;
    if (c->head_dim > MAX_HEAD_DIM)
        return wk_fail(WK_ERR_UNSUPPORTED, "cuda backend: head_dim %d > %d is not supported", c->head_dim, MAX_HEAD_DIM);
    int32_t rc = WK_OK;
    for (int t = 0; t < WK_N_TENSORS && rc == WK_OK; t++) {
        wk_tensor_shape s = {0};
        wk_tensor_shape_of(c, t, &s);
        if (t == WK_LM_HEAD && c->tied_embeddings) continue;
        rc = alloc_f32(&m->w[t], (s.per_layer ? c->n_layers : 1) * s.rows * s.cols);
    }
    if (rc != WK_OK) return rc;
    if (c->tied_embeddings) m->w[WK_LM_HEAD] = m->w[WK_TOK_EMBEDDINGS];

    int64_t kv_elems = (int64_t)m->st.max_slots * c->n_layers * c->max_seq_len * kv_dim;
    struct { float** p; int64_t n; } bufs[] = {
        {&m->x, B * c->dim}, {&m->xb, B * c->dim}, {&m->xb2, B * c->dim}, {&m->q, B * q_dim}, {&m->k, B * kv_dim},
        {&m->v, B * kv_dim}, {&m->ao, B * q_dim}, {&m->hb, B * c->hidden_dim}, {&m->hb2, B * c->hidden_dim},
        {&m->att, B * c->n_heads * c->max_seq_len}, {&m->rope, (int64_t)c->max_seq_len * c->head_dim},
        {&m->key_cache, kv_elems}, {&m->value_cache, kv_elems}, {&m->logits, B * c->vocab_size},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if ((rc = alloc_f32(bufs[i].p, bufs[i].n)) != WK_OK) return rc;
    CUDA_TRY(cudaMalloc((void**)&m->rows, 3 * B * sizeof(int32_t)));
    if (!(m->host_rows = (int32_t*)malloc(3 * B * sizeof(int32_t))))
        return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of host memory");

    float* table = (float*)malloc((size_t)c->max_seq_len * c->head_dim * sizeof(float));
    if (!table) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of host memory for the RoPE table");
    wk_rope_table(c, table);
    cudaError_t e = cudaMemcpy(m->rope, table, (size_t)c->max_seq_len * c->head_dim * sizeof(float), cudaMemcpyHostToDevice);
    free(table);
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

// grid (B): x[b] = emb[tokens[b]]
__global__ void embed_kernel(float* x, const float* emb, const int32_t* tokens, int dim) {
    const float* src = emb + (int64_t)tokens[blockIdx.x] * dim;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) x[(int64_t)blockIdx.x * dim + j] = src[j];
}

// grid (B): out[b] = x[b] / sqrt(mean(x[b]^2) + eps) * weight
__global__ void rmsnorm_kernel(float* out, const float* x, const float* weight, int dim, float eps) {
    const float* xr = x + (int64_t)blockIdx.x * dim;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
    float inv = rsqrtf(block_sum(ss) / dim + eps);
    for (int j = threadIdx.x; j < dim; j += blockDim.x) out[(int64_t)blockIdx.x * dim + j] = weight[j] * (inv * xr[j]);
}

// grid (ceil(d / WARPS)): one warp per output row i, looping over the batch rows so the weight row
// stays in L1; f32 accumulation, lanes stride the row so loads coalesce.
__global__ void matmul_kernel(float* out, const float* x, const float* w, int n_rows, int n, int d) {
    int i = blockIdx.x * WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (i >= d) return;
    const float* wi = w + (int64_t)i * n;
    for (int b = 0; b < n_rows; b++) {
        const float* xb = x + (int64_t)b * n;
        float sum = 0.0f;
        for (int j = lane; j < n; j += 32) sum += wi[j] * xb[j];
        sum = warp_sum(sum);
        if (lane == 0) out[(int64_t)b * d + i] = sum;
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

// Offset of (slot, layer, pos) in a cache laid out (max_slots, n_layers, max_seq_len, kv_dim).
__device__ int64_t cache_offset(int slot, int layer, int pos, int n_layers, int max_seq_len, int kv_dim) {
    return (((int64_t)slot * n_layers + layer) * max_seq_len + pos) * kv_dim;
}

// grid (B): copy row b's k, v into its slot's cache at its position
__global__ void kv_write_kernel(float* key_cache, float* value_cache, const float* k, const float* v, const int32_t* slots,
                                const int32_t* positions, int layer, int n_layers, int max_seq_len, int kv_dim) {
    int64_t off = cache_offset(slots[blockIdx.x], layer, positions[blockIdx.x], n_layers, max_seq_len, kv_dim);
    for (int j = threadIdx.x; j < kv_dim; j += blockDim.x) {
        key_cache[off + j] = k[(int64_t)blockIdx.x * kv_dim + j];
        value_cache[off + j] = v[(int64_t)blockIdx.x * kv_dim + j];
    }
}

// grid (n_heads, B): one block per (query head, row). Scores over positions 0..pos into att, block
// softmax, then THREADS / head_dim groups of threads each sum a stride of positions per dimension.
__global__ void attention_kernel(float* ao, float* att, const float* q, const float* key_cache, const float* value_cache,
                                 const int32_t* slots, const int32_t* positions, int layer, int n_layers, int max_seq_len,
                                 int n_heads, int n_kv_heads, int head_dim) {
    __shared__ float partial[THREADS];
    int h = blockIdx.x, b = blockIdx.y, pos = positions[b], kv_dim = n_kv_heads * head_dim;
    int kvh = h / (n_heads / n_kv_heads);
    const float* qh = q + ((int64_t)b * n_heads + h) * head_dim;
    const float* keys = key_cache + cache_offset(slots[b], layer, 0, n_layers, max_seq_len, kv_dim) + kvh * head_dim;
    const float* values = value_cache + cache_offset(slots[b], layer, 0, n_layers, max_seq_len, kv_dim) + kvh * head_dim;
    float* s = att + ((int64_t)b * n_heads + h) * max_seq_len;
    float scale = rsqrtf((float)head_dim);

    float local_max = -INFINITY;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float* kt = keys + (int64_t)t * kv_dim;
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
        for (int t = g; t <= pos; t += groups) acc += s[t] * values[(int64_t)t * kv_dim + i];
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

static int32_t matmul(float* out, const float* x, const float* w, int n_rows, int n, int d) {
    matmul_kernel<<<(d + WARPS - 1) / WARPS, THREADS>>>(out, x, w, n_rows, n, d);
    LAUNCH_CHECK("matmul_kernel");
    return WK_OK;
}

#define TRY(expr)                          \
    do {                                   \
        int32_t rc_ = (expr);              \
        if (rc_ != WK_OK) return rc_;      \
    } while (0)

// ----------------------------------------------------------------------------
// Forward: one batch of rows through every layer (rows are validated by wk_run_*)

static int32_t cuda_step(void* model, int32_t B, const int32_t* slots, const int32_t* tokens, const int32_t* positions,
                         float* logits, int32_t logits_mode) {
    wk_model* m = (wk_model*)model;
    const wk_config* c = &m->st.cfg;
    int dim = c->dim, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, hidden = c->hidden_dim, L = c->n_layers;
    int64_t mb = m->st.max_batch;

    // the rows: one host-to-device copy of (slots, tokens, positions)
    memcpy(m->host_rows, slots, B * sizeof(int32_t));
    memcpy(m->host_rows + mb, tokens, B * sizeof(int32_t));
    memcpy(m->host_rows + 2 * mb, positions, B * sizeof(int32_t));
    CUDA_TRY(cudaMemcpy(m->rows, m->host_rows, 3 * mb * sizeof(int32_t), cudaMemcpyHostToDevice));
    const int32_t *d_slots = m->rows, *d_tokens = m->rows + mb, *d_pos = m->rows + 2 * mb;

    embed_kernel<<<B, THREADS>>>(m->x, m->w[WK_TOK_EMBEDDINGS], d_tokens, dim);
    LAUNCH_CHECK("embed_kernel");
    for (int l = 0; l < L; l++) {
        // attention
        rmsnorm_kernel<<<B, THREADS>>>(m->xb, m->x, m->w[WK_ATTN_NORM] + (int64_t)l * dim, dim, c->rms_eps);
        LAUNCH_CHECK("rmsnorm_kernel");
        TRY(matmul(m->q, m->xb, m->w[WK_WQ] + (int64_t)l * q_dim * dim, B, dim, q_dim));
        TRY(matmul(m->k, m->xb, m->w[WK_WK] + (int64_t)l * kv_dim * dim, B, dim, kv_dim));
        TRY(matmul(m->v, m->xb, m->w[WK_WV] + (int64_t)l * kv_dim * dim, B, dim, kv_dim));
        rope_kernel<<<B, THREADS>>>(m->q, m->rope, d_pos, c->n_heads, c->head_dim);
        LAUNCH_CHECK("rope_kernel(q)");
        rope_kernel<<<B, THREADS>>>(m->k, m->rope, d_pos, c->n_kv_heads, c->head_dim);
        LAUNCH_CHECK("rope_kernel(k)");
        kv_write_kernel<<<B, THREADS>>>(m->key_cache, m->value_cache, m->k, m->v, d_slots, d_pos, l, L, c->max_seq_len, kv_dim);
        LAUNCH_CHECK("kv_write_kernel");
        attention_kernel<<<dim3(c->n_heads, B), THREADS>>>(m->ao, m->att, m->q, m->key_cache, m->value_cache, d_slots, d_pos, l,
                                                           L, c->max_seq_len, c->n_heads, c->n_kv_heads, c->head_dim);
        LAUNCH_CHECK("attention_kernel");
        TRY(matmul(m->xb2, m->ao, m->w[WK_WO] + (int64_t)l * dim * q_dim, B, q_dim, dim));
        residual_kernel<<<blocks_for((int64_t)B * dim), THREADS>>>(m->x, m->xb2, (int64_t)B * dim);
        LAUNCH_CHECK("residual_kernel");

        // feed-forward
        rmsnorm_kernel<<<B, THREADS>>>(m->xb, m->x, m->w[WK_FFN_NORM] + (int64_t)l * dim, dim, c->rms_eps);
        LAUNCH_CHECK("rmsnorm_kernel");
        TRY(matmul(m->hb, m->xb, m->w[WK_W_GATE] + (int64_t)l * hidden * dim, B, dim, hidden));
        TRY(matmul(m->hb2, m->xb, m->w[WK_W_UP] + (int64_t)l * hidden * dim, B, dim, hidden));
        swiglu_kernel<<<blocks_for((int64_t)B * hidden), THREADS>>>(m->hb, m->hb2, (int64_t)B * hidden);
        LAUNCH_CHECK("swiglu_kernel");
        TRY(matmul(m->xb2, m->hb, m->w[WK_W_DOWN] + (int64_t)l * dim * hidden, B, hidden, dim));
        residual_kernel<<<blocks_for((int64_t)B * dim), THREADS>>>(m->x, m->xb2, (int64_t)B * dim);
        LAUNCH_CHECK("residual_kernel");
    }

    if (logits_mode == WK_LOGITS_NONE) {
        CUDA_TRY(cudaDeviceSynchronize()); // surface execution errors in this call
        return WK_OK;
    }
    int first = logits_mode == WK_LOGITS_ALL ? 0 : B - 1, n_out = B - first;
    rmsnorm_kernel<<<n_out, THREADS>>>(m->xb, m->x + (int64_t)first * dim, m->w[WK_FINAL_NORM], dim, c->rms_eps);
    LAUNCH_CHECK("rmsnorm_kernel(final)");
    TRY(matmul(m->logits, m->xb, m->w[WK_LM_HEAD], n_out, dim, c->vocab_size));
    CUDA_TRY(cudaMemcpy(logits, m->logits, (size_t)n_out * c->vocab_size * sizeof(float), cudaMemcpyDeviceToHost));
    return WK_OK;
}

// ----------------------------------------------------------------------------
// API

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

WK_API int32_t wk_model_create(const wk_config* cfg, int32_t max_slots, int32_t max_batch, wk_model** out) {
    if (out == NULL) return wk_fail(WK_ERR_ARG, "wk_model_create: out is NULL");
    *out = NULL;
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_DEVICE, "wk_model_create");
    wk_model* m = (wk_model*)calloc(1, sizeof *m);
    if (!m) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory");
    int32_t rc = wk_state_build(&m->st, cfg, max_slots, max_batch);
    if (rc == WK_OK) rc = build_model(m);
    if (rc != WK_OK) {
        free_model(m);
        return rc;
    }
    *out = m;
    return WK_OK;
}

WK_API int32_t wk_model_set_tensor(wk_model* m, int32_t tensor, int32_t layer, const void* data, int32_t dtype,
                                   int64_t n_elements) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_model_set_tensor: model is NULL");
    int64_t offset, count;
    int32_t rc = wk_check_set_tensor(&m->st, tensor, layer, data, dtype, n_elements, &offset, &count);
    if (rc != WK_OK) return rc;
    const void* src = data;
    float* converted = NULL;
    if (dtype != WK_F32) { // widen on the host, then one copy
        if (!(converted = (float*)malloc((size_t)count * sizeof(float))))
            return wk_fail(WK_ERR_NOMEM, "wk_model_set_tensor: out of host memory converting %lld elements", (long long)count);
        wk_to_f32(converted, data, dtype, count);
        src = converted;
    }
    cudaError_t e = cudaMemcpy(m->w[tensor] + offset, src, (size_t)count * sizeof(float), cudaMemcpyHostToDevice);
    free(converted);
    CUDA_TRY(e);
    wk_mark_set(&m->st, tensor, layer);
    return WK_OK;
}

WK_API void wk_model_free(wk_model* m) {
    if (m != NULL) free_model(m);
}

WK_API int32_t wk_forward(wk_model* m, int32_t slot, const int32_t* tokens, int32_t n_tokens, int32_t start_pos,
                          float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward: model is NULL");
    return wk_run_sequence(&m->st, cuda_step, m, slot, tokens, n_tokens, start_pos, logits_out);
}

WK_API int32_t wk_forward_batch(wk_model* m, int32_t n_rows, const int32_t* slots, const int32_t* tokens,
                                const int32_t* positions, float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward_batch: model is NULL");
    return wk_run_batch(&m->st, cuda_step, m, n_rows, slots, tokens, positions, logits_out);
}

// path 0: host reference; path 1: matmul_kernel on the device (allocates: test hook only)
WK_API int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d) {
    if (!out || !x || !w || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "wk_test_matmul: bad arguments");
    if (path == 0) {
        wk_matmul_ref(out, x, w, n, d);
        return WK_OK;
    }
    if (path != 1) return wk_fail(WK_ERR_ARG, "wk_test_matmul: unknown path %d (cuda has 0..1)", path);
    if (wk_device_count() <= 0) return fail_no_device(WK_ERR_UNSUPPORTED, "wk_test_matmul");
    float *dx = NULL, *dw = NULL, *dout = NULL;
    cudaError_t e = cudaMalloc((void**)&dx, (size_t)n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc((void**)&dw, (size_t)n * d * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc((void**)&dout, (size_t)d * sizeof(float));
    if (e == cudaSuccess) e = cudaMemcpy(dx, x, (size_t)n * sizeof(float), cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(dw, w, (size_t)n * d * sizeof(float), cudaMemcpyHostToDevice);
    if (e == cudaSuccess) {
        matmul_kernel<<<(d + WARPS - 1) / WARPS, THREADS>>>(dout, dx, dw, 1, n, d);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpy(out, dout, (size_t)d * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(dx);
    cudaFree(dw);
    cudaFree(dout);
    CUDA_TRY(e);
    return WK_OK;
}

} // extern "C"
