/*
 * weir_cpu.c: the CPU backend of weir_kernels.h. Llama forward pass in f32, in the spirit of
 * llama2.c's run.c, but over a batch of rows (each row: one token of some slot at some position)
 * so a prompt chunk or a continuous-batching decode step reads every weight once.
 *
 *   model        struct wk_model, build/free, weight upload
 *   blocks       embedding, RMSNorm, RoPE, KV-cache write, attention, SwiGLU, residual
 *   forward      cpu_step: one batch of rows through every layer
 *   API          the exported wk_* functions
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/wk_common.h"
#include "../weir_kernels.h"
#include "matmul.h"
#include "pool.h"

// ----------------------------------------------------------------------------
// Model

struct wk_model {
    wk_state st;                  // config, limits, tensor and per-slot bookkeeping (shared with CUDA)
    float* w[WK_N_TENSORS];       // weights, f32, (n_layers or 1, rows, cols) per wk_tensor; w[WK_LM_HEAD]
                                  // aliases w[WK_TOK_EMBEDDINGS] when the embeddings are tied
    // activations, one row per batch row, allocated once (forward never allocates)
    float* x;                     // (max_batch, dim) residual stream
    float* xb;                    // (max_batch, dim) RMSNorm output, input of the projections
    float* xb2;                   // (max_batch, dim) o_proj / down_proj output, added to x
    float* q;                     // (max_batch, q_dim)
    float* k;                     // (max_batch, kv_dim)
    float* v;                     // (max_batch, kv_dim)
    float* ao;                    // (max_batch, q_dim) attention output, input of o_proj
    float* hb;                    // (max_batch, hidden_dim) gate, then silu(gate) * up
    float* hb2;                   // (max_batch, hidden_dim) up
    float* att;                   // (n_threads, max_seq_len) attention scores, one row per pool thread
    float* rope;                  // (max_seq_len, head_dim/2, 2) cos, sin
    float* key_cache;             // (max_slots, n_layers, max_seq_len, kv_dim)
    float* value_cache;           // (max_slots, n_layers, max_seq_len, kv_dim)
    pool pool;                    // WEIR_THREADS threads (the caller included)
    int32_t path;                 // matmul SIMD path (MATMUL_*)
};

#define HUGE_PAGE (2u << 20)

// 64-byte aligned (cache line, AVX-512 vector); 2 MiB aligned and madvise(MADV_HUGEPAGE) when big,
// so the kernel can back weights and KV cache with transparent huge pages (fewer TLB misses).
static float* alloc_f32(int64_t n) {
    size_t bytes = (size_t)n * sizeof(float), align = bytes >= 2 * HUGE_PAGE ? HUGE_PAGE : 64;
    bytes = (bytes + align - 1) / align * align;
    void* p = NULL;
    if (posix_memalign(&p, align, bytes ? bytes : align) != 0) return NULL;
    if (align == HUGE_PAGE) madvise(p, bytes, MADV_HUGEPAGE); // advisory: failure is harmless
    return p;
}

static void free_model(wk_model* m) {
    pool_free(&m->pool);
    for (int32_t t = 0; t < WK_N_TENSORS; t++)
        if (!(t == WK_LM_HEAD && m->st.cfg.tied_embeddings)) free(m->w[t]);
    float* bufs[] = {m->x, m->xb, m->xb2, m->q, m->k, m->v, m->ao, m->hb, m->hb2, m->att, m->rope, m->key_cache, m->value_cache};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    wk_state_free(&m->st);
    free(m);
}

static int32_t build_model(wk_model* m) {
    const wk_config* c = &m->st.cfg;
    int64_t B = m->st.max_batch, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim;
    for (int32_t t = 0; t < WK_N_TENSORS; t++) {
        wk_tensor_shape s = {0};
        wk_tensor_shape_of(c, t, &s);
        if (t == WK_LM_HEAD && c->tied_embeddings) continue;
        if (!(m->w[t] = alloc_f32((s.per_layer ? c->n_layers : 1) * s.rows * s.cols)))
            return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory for weights %s", s.name);
    }
    if (c->tied_embeddings) m->w[WK_LM_HEAD] = m->w[WK_TOK_EMBEDDINGS];

    int64_t kv_elems = (int64_t)m->st.max_slots * c->n_layers * c->max_seq_len * kv_dim;
    m->x = alloc_f32(B * c->dim);
    m->xb = alloc_f32(B * c->dim);
    m->xb2 = alloc_f32(B * c->dim);
    m->q = alloc_f32(B * q_dim);
    m->k = alloc_f32(B * kv_dim);
    m->v = alloc_f32(B * kv_dim);
    m->ao = alloc_f32(B * q_dim);
    m->hb = alloc_f32(B * c->hidden_dim);
    m->hb2 = alloc_f32(B * c->hidden_dim);
    m->att = alloc_f32((int64_t)m->pool.n_threads * c->max_seq_len);
    m->rope = alloc_f32((int64_t)c->max_seq_len * c->head_dim);
    m->key_cache = alloc_f32(kv_elems);
    m->value_cache = alloc_f32(kv_elems);
    if (!m->x || !m->xb || !m->xb2 || !m->q || !m->k || !m->v || !m->ao || !m->hb || !m->hb2 || !m->att || !m->rope ||
        !m->key_cache || !m->value_cache)
        return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory for activations and KV cache (%lld MiB of KV cache)",
                       (long long)(2 * kv_elems * 4 >> 20));
    wk_rope_table(c, m->rope);
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Blocks

static void embed(const wk_model* m, int32_t n_rows, const int32_t* tokens) {
    int32_t dim = m->st.cfg.dim;
    for (int32_t b = 0; b < n_rows; b++)
        memcpy(m->x + (int64_t)b * dim, m->w[WK_TOK_EMBEDDINGS] + (int64_t)tokens[b] * dim, (size_t)dim * sizeof(float));
}

// out = x / sqrt(mean(x^2) + eps) * weight, per row
static void rmsnorm(float* out, const float* x, const float* weight, int32_t n_rows, int32_t dim, float eps) {
    for (int32_t b = 0; b < n_rows; b++) {
        const float* xr = x + (int64_t)b * dim;
        float* o = out + (int64_t)b * dim;
        float ss = 0.0f;
        for (int32_t j = 0; j < dim; j++) ss += xr[j] * xr[j];
        float inv = 1.0f / sqrtf(ss / dim + eps);
        for (int32_t j = 0; j < dim; j++) o[j] = weight[j] * (inv * xr[j]);
    }
}

// HF rotate_half: within each head, (x[i], x[i + half]) rotates by pos * theta^(-2i/head_dim).
static void rope(const wk_model* m, float* vec, int32_t n_rows, int32_t n_heads, const int32_t* positions) {
    int32_t hd = m->st.cfg.head_dim, half = hd / 2;
    for (int32_t b = 0; b < n_rows; b++) {
        const float* cs = m->rope + (int64_t)positions[b] * hd;
        for (int32_t h = 0; h < n_heads; h++) {
            float* x = vec + ((int64_t)b * n_heads + h) * hd;
            for (int32_t i = 0; i < half; i++) {
                float c = cs[2 * i], s = cs[2 * i + 1], x1 = x[i], x2 = x[i + half];
                x[i] = x1 * c - x2 * s;
                x[i + half] = x2 * c + x1 * s;
            }
        }
    }
}

// Start of (slot, layer) in a cache laid out (max_slots, n_layers, max_seq_len, kv_dim).
static float* cache_at(const wk_model* m, float* cache, int32_t slot, int32_t layer) {
    const wk_config* c = &m->st.cfg;
    return cache + ((int64_t)slot * c->n_layers + layer) * c->max_seq_len * m->st.kv_dim;
}

static void kv_write(const wk_model* m, int32_t layer, int32_t n_rows, const int32_t* slots, const int32_t* positions) {
    int64_t kv_dim = m->st.kv_dim;
    for (int32_t b = 0; b < n_rows; b++) {
        memcpy(cache_at(m, m->key_cache, slots[b], layer) + positions[b] * kv_dim, m->k + b * kv_dim, kv_dim * sizeof(float));
        memcpy(cache_at(m, m->value_cache, slots[b], layer) + positions[b] * kv_dim, m->v + b * kv_dim, kv_dim * sizeof(float));
    }
}

typedef struct {
    const wk_model* m;
    int32_t layer;
    const int32_t* slots;
    const int32_t* positions;
} attention_job;

// One (row, query head) per item: causal softmax(q k^T / sqrt(head_dim)) v over positions 0..pos
// of the row's slot; GQA maps query head h to kv head h / (n_heads / n_kv_heads).
static void attention_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    const attention_job* j = ctx;
    const wk_model* m = j->m;
    const wk_config* c = &m->st.cfg;
    int32_t hd = c->head_dim, kv_dim = m->st.kv_dim, group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    float* att = m->att + (int64_t)tid * c->max_seq_len;
    for (int64_t item = start; item < end; item++) {
        int32_t b = (int32_t)(item / c->n_heads), h = (int32_t)(item % c->n_heads), pos = j->positions[b];
        const float* q = m->q + ((int64_t)b * c->n_heads + h) * hd;
        const float* keys = cache_at(m, m->key_cache, j->slots[b], j->layer) + (h / group) * hd;
        const float* values = cache_at(m, m->value_cache, j->slots[b], j->layer) + (h / group) * hd;
        float max = -INFINITY;
        for (int32_t t = 0; t <= pos; t++) {
            const float* kt = keys + (int64_t)t * kv_dim;
            float s = 0.0f;
            for (int32_t i = 0; i < hd; i++) s += q[i] * kt[i];
            att[t] = s * scale;
            if (att[t] > max) max = att[t];
        }
        float sum = 0.0f;
        for (int32_t t = 0; t <= pos; t++) {
            att[t] = expf(att[t] - max);
            sum += att[t];
        }
        float* out = m->ao + ((int64_t)b * c->n_heads + h) * hd;
        memset(out, 0, (size_t)hd * sizeof(float));
        for (int32_t t = 0; t <= pos; t++) {
            const float* vt = values + (int64_t)t * kv_dim;
            float a = att[t] / sum;
            for (int32_t i = 0; i < hd; i++) out[i] += a * vt[i];
        }
    }
}

// hb = silu(hb) * hb2, silu(g) = g * sigmoid(g)
static void swiglu(float* hb, const float* hb2, int64_t n) {
    for (int64_t i = 0; i < n; i++) hb[i] = hb[i] / (1.0f + expf(-hb[i])) * hb2[i];
}

static void residual(float* x, const float* delta, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += delta[i];
}

// ----------------------------------------------------------------------------
// Forward: one batch of rows through every layer (rows are validated by wk_run_*)

static int32_t cpu_step(void* model, int32_t B, const int32_t* slots, const int32_t* tokens, const int32_t* positions,
                        float* logits, int32_t logits_mode) {
    wk_model* m = model;
    const wk_config* c = &m->st.cfg;
    int32_t dim = c->dim, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, hidden = c->hidden_dim, path = m->path;
    pool* p = &m->pool;

    embed(m, B, tokens);
    for (int32_t l = 0; l < c->n_layers; l++) {
        // attention
        rmsnorm(m->xb, m->x, m->w[WK_ATTN_NORM] + (int64_t)l * dim, B, dim, c->rms_eps);
        matmul(p, path, m->q, m->xb, m->w[WK_WQ] + (int64_t)l * q_dim * dim, B, dim, q_dim);
        matmul(p, path, m->k, m->xb, m->w[WK_WK] + (int64_t)l * kv_dim * dim, B, dim, kv_dim);
        matmul(p, path, m->v, m->xb, m->w[WK_WV] + (int64_t)l * kv_dim * dim, B, dim, kv_dim);
        rope(m, m->q, B, c->n_heads, positions);
        rope(m, m->k, B, c->n_kv_heads, positions);
        kv_write(m, l, B, slots, positions); // before attention: rows of one slot see each other
        attention_job aj = {m, l, slots, positions};
        pool_run(p, (int64_t)B * c->n_heads, attention_range, &aj);
        matmul(p, path, m->xb2, m->ao, m->w[WK_WO] + (int64_t)l * dim * q_dim, B, q_dim, dim);
        residual(m->x, m->xb2, (int64_t)B * dim);

        // feed-forward
        rmsnorm(m->xb, m->x, m->w[WK_FFN_NORM] + (int64_t)l * dim, B, dim, c->rms_eps);
        matmul(p, path, m->hb, m->xb, m->w[WK_W_GATE] + (int64_t)l * hidden * dim, B, dim, hidden);
        matmul(p, path, m->hb2, m->xb, m->w[WK_W_UP] + (int64_t)l * hidden * dim, B, dim, hidden);
        swiglu(m->hb, m->hb2, (int64_t)B * hidden);
        matmul(p, path, m->xb2, m->hb, m->w[WK_W_DOWN] + (int64_t)l * dim * hidden, B, hidden, dim);
        residual(m->x, m->xb2, (int64_t)B * dim);
    }

    if (logits_mode == WK_LOGITS_NONE) return WK_OK;
    int32_t first = logits_mode == WK_LOGITS_ALL ? 0 : B - 1;
    rmsnorm(m->xb, m->x + (int64_t)first * dim, m->w[WK_FINAL_NORM], B - first, dim, c->rms_eps);
    matmul(p, path, logits, m->xb, m->w[WK_LM_HEAD], B - first, dim, c->vocab_size);
    return WK_OK;
}

// ----------------------------------------------------------------------------
// API

WK_API const char* wk_backend_name(void) { return "cpu"; }

WK_API int32_t wk_device_count(void) { return 1; }

WK_API const char* wk_backend_info(void) {
    static _Thread_local char info[128];
    snprintf(info, sizeof info, "cpu: %s matmul, %d threads", matmul_path_name(matmul_best_path()), pool_default_threads());
    return info;
}

WK_API int32_t wk_model_create(const wk_config* cfg, int32_t max_slots, int32_t max_batch, wk_model** out) {
    if (out == NULL) return wk_fail(WK_ERR_ARG, "wk_model_create: out is NULL");
    *out = NULL;
    wk_model* m = calloc(1, sizeof *m);
    if (!m) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory");
    int32_t rc = wk_state_build(&m->st, cfg, max_slots, max_batch);
    if (rc == WK_OK) rc = pool_build(&m->pool, pool_default_threads());
    if (rc == WK_OK) {
        m->path = matmul_best_path();
        rc = build_model(m);
    }
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
    wk_to_f32(m->w[tensor] + offset, data, dtype, count);
    wk_mark_set(&m->st, tensor, layer);
    return WK_OK;
}

WK_API void wk_model_free(wk_model* m) {
    if (m == NULL) return;
    free_model(m);
}

WK_API int32_t wk_forward(wk_model* m, int32_t slot, const int32_t* tokens, int32_t n_tokens, int32_t start_pos,
                          float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward: model is NULL");
    return wk_run_sequence(&m->st, cpu_step, m, slot, tokens, n_tokens, start_pos, logits_out);
}

WK_API int32_t wk_forward_batch(wk_model* m, int32_t n_rows, const int32_t* slots, const int32_t* tokens,
                                const int32_t* positions, float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward_batch: model is NULL");
    return wk_run_batch(&m->st, cpu_step, m, n_rows, slots, tokens, positions, logits_out);
}

WK_API int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d) {
    if (!out || !x || !w || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "wk_test_matmul: bad arguments");
    if (path < 0 || path >= MATMUL_N_PATHS)
        return wk_fail(WK_ERR_ARG, "wk_test_matmul: unknown path %d (cpu has 0..%d)", path, MATMUL_N_PATHS - 1);
    if (!matmul_path_supported(path))
        return wk_fail(WK_ERR_UNSUPPORTED, "wk_test_matmul: this CPU cannot run the %s path", matmul_path_name(path));
    if (path == MATMUL_SCALAR)
        wk_matmul_ref(out, x, w, n, d);
    else
        matmul(NULL, path, out, x, w, 1, n, d);
    return WK_OK;
}
