/*
 * weir_cpu.c: the CPU backend of weir_kernels.h. A Llama forward pass over a batch of rows (each row:
 * one token of some sequence at some position), so a prompt chunk or a continuous-batching decode step
 * reads every weight once for all its rows.
 *
 *   model        struct wk_model, build/free, weight upload (packing, fusing, quantizing)
 *   blocks       embedding, RMSNorm, RoPE, KV-cache write, attention over the pool
 *   forward      wk_backend_step: one batch of rows through every layer
 *   API          the exported wk_* functions, benchmarks and test hooks
 *
 * Per layer the step runs four batched products on pre-packed weights (gemm.h): Q, K and V fused into
 * one; o_proj with the residual add fused into its epilogue; gate and up fused, with SwiGLU in the
 * epilogue; down_proj with the residual add. Logits are computed only for the rows that ask for them.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/wk_common.h"
#include "../weir_kernels.h"
#include "amx.h"
#include "attention.h"
#include "gemm.h"
#include "pool.h"
#include "simd.h"

// ----------------------------------------------------------------------------
// Model

struct wk_model {
    wk_state st;            // config, options, tensor bookkeeping, slot tables (shared with CUDA)
    int32_t path;           // SIMD path (SIMD_*)
    pool pool;              // WEIR_THREADS threads (the caller included)
    // weights
    float* embeddings;      // (vocab, dim) f32 lookups; NULL when tied (looked up in lm_head)
    float* attn_norm;       // (n_layers, dim)
    float* ffn_norm;        // (n_layers, dim)
    float* final_norm;      // (dim)
    packed* qkv;            // (n_layers) columns: q (q_dim), k (kv_dim), v (kv_dim)
    packed* wo;             // (n_layers) dim columns over q_dim inputs
    packed* gate_up;        // (n_layers) SwiGLU pairs: panel 2p = gate columns 32p.., panel 2p+1 = up
    packed* down;           // (n_layers) dim columns over hidden_dim inputs
    packed lm_head;         // vocab columns over dim inputs (the embeddings when tied)
    kv_pool kv;             // the paged KV cache
    float* rope;            // (max_seq_len, 2, head_dim/2): per position the cosines, then the sines
    // activations, one row per batch row, allocated once (forward never allocates)
    float* x;               // (max_batch, dim) residual stream
    float* xb;              // (max_batch, dim) RMSNorm output, input of the projections
    float* qkv_out;         // (max_batch, q_dim + 2 kv_dim)
    float* ao;              // (max_batch, q_dim) attention output
    float* hb;              // (max_batch, hidden_dim) silu(gate) * up
    void* gemm_scratch;     // the products' activations converted to the weights' arithmetic (bf16 pairs, int8)
    float* panel_max;       // (max_batch, vocab / 32) greedy-only steps: the LM head's per-panel maxima
    int32_t* panel_arg;     // ... and their columns (gemm_argmax)
    int32_t* runs;          // (max_batch + 1) a step's runs of rows for attention: run i is rows runs[i] .. runs[i + 1]
};

static float* alloc_f32(int64_t n) { return wk_alloc_huge((size_t)(n > 0 ? n : 1) * sizeof(float)); }

static void free_packed_array(packed* a, int32_t n) {
    if (!a) return;
    for (int32_t i = 0; i < n; i++) packed_free(&a[i]);
    free(a);
}

static void free_model(wk_model* m) {
    pool_free(&m->pool);
    int32_t L = m->st.cfg.n_layers;
    free_packed_array(m->qkv, L);
    free_packed_array(m->wo, L);
    free_packed_array(m->gate_up, L);
    free_packed_array(m->down, L);
    packed_free(&m->lm_head);
    kv_pool_free(&m->kv);
    float* bufs[] = {m->embeddings, m->attn_norm, m->ffn_norm, m->final_norm, m->rope, m->x, m->xb, m->qkv_out, m->ao,
                     m->hb, m->gemm_scratch, m->panel_max};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(m->panel_arg);
    free(m->runs);
    wk_state_free(&m->st);
    free(m);
}

static int32_t hidden_pairs(const wk_config* c) { return (c->hidden_dim + PANEL - 1) / PANEL; }

// wk_rope_table's (cos, sin) pairs regrouped per position as the cosines then the sines, so the rotation is
// plain loops over contiguous arrays that the compiler vectorises.
static void split_rope_table(float* t, int32_t positions, int32_t head_dim) {
    int32_t half = head_dim / 2;
    float pairs[head_dim];
    for (int64_t pos = 0; pos < positions; pos++) {
        float* cs = t + pos * head_dim;
        memcpy(pairs, cs, (size_t)head_dim * sizeof(float));
        for (int32_t i = 0; i < half; i++) {
            cs[i] = pairs[2 * i];
            cs[half + i] = pairs[2 * i + 1];
        }
    }
}

static int32_t build_model(wk_model* m) {
    const wk_config* c = &m->st.cfg;
    const wk_options* o = &m->st.opts;
    int32_t L = c->n_layers, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, dt = o->weight_dtype;
    int64_t B = o->max_batch;
    m->qkv = calloc((size_t)L, sizeof(packed));
    m->wo = calloc((size_t)L, sizeof(packed));
    m->gate_up = calloc((size_t)L, sizeof(packed));
    m->down = calloc((size_t)L, sizeof(packed));
    if (!m->qkv || !m->wo || !m->gate_up || !m->down) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory");
    int32_t rc = WK_OK;
    for (int32_t l = 0; l < L && rc == WK_OK; l++) {
        if ((rc = packed_alloc(&m->qkv[l], c->dim, q_dim + 2 * kv_dim, dt)) != WK_OK) break;
        if ((rc = packed_alloc(&m->wo[l], q_dim, c->dim, dt)) != WK_OK) break;
        if ((rc = packed_alloc(&m->gate_up[l], c->dim, 2 * PANEL * hidden_pairs(c), dt)) != WK_OK) break;
        rc = packed_alloc(&m->down[l], c->hidden_dim, c->dim, dt);
    }
    if (rc == WK_OK) rc = packed_alloc(&m->lm_head, c->dim, c->vocab_size, dt);
    if (rc == WK_OK) rc = kv_pool_alloc(&m->kv, L, o->n_blocks, o->block_size, c->n_kv_heads, c->head_dim, o->kv_dtype);
    if (rc != WK_OK) return rc;

    if (!c->tied_embeddings) m->embeddings = alloc_f32((int64_t)c->vocab_size * c->dim);
    m->attn_norm = alloc_f32((int64_t)L * c->dim);
    m->ffn_norm = alloc_f32((int64_t)L * c->dim);
    m->final_norm = alloc_f32(c->dim);
    m->rope = alloc_f32((int64_t)c->max_seq_len * c->head_dim);
    m->x = alloc_f32(B * c->dim);
    m->xb = alloc_f32(B * c->dim);
    m->qkv_out = alloc_f32(B * (q_dim + 2 * kv_dim));
    m->ao = alloc_f32(B * q_dim);
    m->hb = alloc_f32(B * c->hidden_dim);
    int32_t widest = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    m->gemm_scratch = wk_alloc_huge((size_t)gemm_scratch_bytes(widest > q_dim ? widest : q_dim, (int32_t)B));
    m->panel_max = alloc_f32(B * m->lm_head.n_panels);
    m->panel_arg = malloc((size_t)(B * m->lm_head.n_panels) * sizeof(int32_t));
    m->runs = malloc((size_t)(B + 1) * sizeof(int32_t));
    if ((!c->tied_embeddings && !m->embeddings) || !m->attn_norm || !m->ffn_norm || !m->final_norm || !m->rope || !m->x ||
        !m->xb || !m->qkv_out || !m->ao || !m->hb || !m->gemm_scratch || !m->panel_max || !m->panel_arg || !m->runs)
        return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory for weights and activations");
    wk_rope_table(c, m->rope);
    split_rope_table(m->rope, c->max_seq_len, c->head_dim);
    return WK_OK;
}

// Stores one uploaded tensor (already f32) where the forward pass reads it.
static void store_tensor(wk_model* m, int32_t t, int32_t layer, const float* w) {
    const wk_config* c = &m->st.cfg;
    int32_t q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, dim = c->dim;
    switch (t) {
        case WK_TOK_EMBEDDINGS:
            if (c->tied_embeddings) packed_set_rows(&m->lm_head, w, c->vocab_size, 0, 0);
            else memcpy(m->embeddings, w, (size_t)c->vocab_size * dim * sizeof(float));
            break;
        case WK_LM_HEAD: packed_set_rows(&m->lm_head, w, c->vocab_size, 0, 0); break;
        case WK_ATTN_NORM: memcpy(m->attn_norm + (int64_t)layer * dim, w, (size_t)dim * sizeof(float)); break;
        case WK_FFN_NORM: memcpy(m->ffn_norm + (int64_t)layer * dim, w, (size_t)dim * sizeof(float)); break;
        case WK_FINAL_NORM: memcpy(m->final_norm, w, (size_t)dim * sizeof(float)); break;
        case WK_WQ: packed_set_rows(&m->qkv[layer], w, q_dim, 0, 0); break;
        case WK_WK: packed_set_rows(&m->qkv[layer], w, kv_dim, q_dim, 0); break;
        case WK_WV: packed_set_rows(&m->qkv[layer], w, kv_dim, q_dim + kv_dim, 0); break;
        case WK_WO: packed_set_rows(&m->wo[layer], w, dim, 0, 0); break;
        case WK_W_GATE: packed_set_rows(&m->gate_up[layer], w, c->hidden_dim, 0, 2 * PANEL); break;
        case WK_W_UP: packed_set_rows(&m->gate_up[layer], w, c->hidden_dim, PANEL, 2 * PANEL); break;
        case WK_W_DOWN: packed_set_rows(&m->down[layer], w, dim, 0, 0); break;
        default: break;
    }
}

// ----------------------------------------------------------------------------
// Blocks

static void embed(const wk_model* m, const wk_batch* b) {
    int32_t dim = m->st.cfg.dim;
    for (int32_t r = 0; r < b->n_rows; r++) {
        float* x = m->x + (int64_t)r * dim;
        if (m->embeddings) memcpy(x, m->embeddings + (int64_t)b->tokens[r] * dim, (size_t)dim * sizeof(float));
        else packed_column(&m->lm_head, b->tokens[r], x);
    }
}

// out = x / sqrt(mean(x^2) + eps) * weight, one row
static void rmsnorm_row(float* out, const float* x, const float* weight, int32_t dim, float eps) {
    float ss = 0.0f;
    for (int32_t j = 0; j < dim; j++) ss += x[j] * x[j];
    float inv = 1.0f / sqrtf(ss / dim + eps);
    for (int32_t j = 0; j < dim; j++) out[j] = weight[j] * (inv * x[j]);
}

static void rmsnorm(float* out, const float* x, const float* weight, int32_t n_rows, int32_t dim, float eps) {
    for (int32_t r = 0; r < n_rows; r++) rmsnorm_row(out + (int64_t)r * dim, x + (int64_t)r * dim, weight, dim, eps);
}

// HF rotate_half: within each head, (x[i], x[i + half]) rotates by pos * theta^(-2i/head_dim).
static void rope_heads(const wk_model* m, float* vec, int32_t n_heads, int32_t pos) {
    int32_t hd = m->st.cfg.head_dim, half = hd / 2;
    const float* cos = m->rope + (int64_t)pos * hd;
    const float* sin = cos + half;
    for (int32_t h = 0; h < n_heads; h++) {
        float* x = vec + (int64_t)h * hd;
        for (int32_t i = 0; i < half; i++) {
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cos[i] - x2 * sin[i];
            x[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }
}

// Whether no two rows of the step belong to one sequence (rows of a sequence share its block table).
static int one_row_per_sequence(const wk_batch* b) {
    for (int32_t r = 1; r < b->n_rows; r++)
        for (int32_t s = 0; s < r; s++)
            if (b->tables[s] == b->tables[r]) return 0;
    return 1;
}

// Splits the step's rows into runs for attention: up to ATTEND_ROWS_TILE rows of one sequence at consecutive
// positions (a prompt chunk's rows, which attend_rows serves together), else single rows. Returns the count.
static int32_t split_runs(const wk_batch* b, int32_t* runs) {
    int32_t n = 0;
    for (int32_t r = 0; r < b->n_rows; r++)
        if (r == 0 || r - runs[n - 1] == ATTEND_ROWS_TILE || b->tables[r] != b->tables[r - 1] ||
            b->positions[r] != b->positions[r - 1] + 1)
            runs[n++] = r;
    runs[n] = b->n_rows;
    return n;
}

// Attention of one layer, one (run of rows, kv head) per item, in two steps: RoPE on the query heads of the kv
// head's group and on its key, the key and value into the row's block; then the group's heads over the rows'
// positions. Every row's write must precede the attention of the later rows of its sequence (a prompt chunk), so
// then the writes run as a job of their own first. With one row per sequence (decode), an item does both for its
// row at once: the positions a row reads are its sequence's, and the only one of them written in this step is its own.
typedef struct {
    const wk_model* m;
    const wk_batch* b;
    int32_t layer;
    int32_t store;  // rope and write in this job
    int32_t attend; // attend in this job
} attention_job;

static void attention_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    (void)tid;
    const attention_job* j = ctx;
    const wk_model* m = j->m;
    const wk_config* c = &m->st.cfg;
    const int32_t* runs = m->runs;
    int32_t hd = c->head_dim, group = c->n_heads / c->n_kv_heads, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim;
    int32_t ld = q_dim + 2 * kv_dim, bs = m->st.opts.block_size;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t item = start; item < end; item++) {
        int32_t run = (int32_t)(item / c->n_kv_heads), g = (int32_t)(item % c->n_kv_heads);
        int32_t r0 = runs[run], rows = runs[run + 1] - r0;
        float* q = m->qkv_out + (int64_t)r0 * ld + (int64_t)g * group * hd;
        if (j->store)
            for (int32_t r = r0; r < r0 + rows; r++) {
                int32_t pos = j->b->positions[r];
                float* qr = m->qkv_out + (int64_t)r * ld + (int64_t)g * group * hd;
                float* k = m->qkv_out + (int64_t)r * ld + q_dim + (int64_t)g * hd;
                rope_heads(m, qr, group, pos);
                rope_heads(m, k, 1, pos);
                kv_write(m->path, &m->kv, j->layer, j->b->tables[r][pos / bs], pos % bs, g, k, k + kv_dim);
            }
        if (j->attend && item + 1 < end) { // the next item's blocks lie elsewhere
            int32_t rn = runs[(item + 1) / c->n_kv_heads], gn = (int32_t)((item + 1) % c->n_kv_heads);
            kv_prefetch(&m->kv, j->layer, j->b->tables[rn], j->b->positions[rn], gn);
        }
        if (j->attend)
            attend_rows(m->path, &m->kv, j->layer, j->b->tables[r0], j->b->positions[r0], rows, g, group, q, ld, scale,
                        m->ao + (int64_t)r0 * q_dim + (int64_t)g * group * hd, q_dim);
    }
}

typedef struct {
    const float* logits; // (n_logits, vocab), or NULL: the greedy tokens come from the panels of gemm_argmax
    int32_t vocab;
    int32_t* out;
    int32_t path;
    const float* panel_max;
    const int32_t* panel_arg;
    int32_t n_panels;
} argmax_job;

// wk_argmax_ref's choice, vectorised: the largest value (NaNs skipped), then the first index holding it.
__attribute__((target("avx512f"))) static int32_t argmax_512(const float* x, int32_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(_mm512_loadu_ps(x + i), m); // a NaN input yields m
    float max = _mm512_reduce_max_ps(m);
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    if (x[0] != x[0]) return 0;
    for (i = 0; i + 16 <= n; i += 16) {
        __mmask16 eq = _mm512_cmpeq_ps_mask(_mm512_loadu_ps(x + i), _mm512_set1_ps(max));
        if (eq) return i + __builtin_ctz(eq);
    }
    for (; i < n; i++)
        if (x[i] == max) return i;
    return 0;
}

static void argmax_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    (void)tid;
    const argmax_job* j = ctx;
    for (int64_t r = start; r < end; r++) {
        if (j->logits == NULL) {
            j->out[r] = gemm_argmax_of_panels(j->panel_max + r * j->n_panels, j->panel_arg + r * j->n_panels, j->n_panels);
            continue;
        }
        const float* row = j->logits + r * j->vocab;
        j->out[r] = simd_has_avx512(j->path) ? argmax_512(row, j->vocab) : wk_argmax_ref(row, j->vocab);
    }
}

// ----------------------------------------------------------------------------
// Forward: one batch of rows through every layer (rows are validated by wk_run_*)

int32_t wk_backend_step(void* model, const wk_batch* b, float* logits) {
    wk_model* m = model;
    const wk_config* c = &m->st.cfg;
    int32_t B = b->n_rows, dim = c->dim, q_dim = m->st.q_dim, kv_dim = m->st.kv_dim, hidden = c->hidden_dim;
    int32_t path = m->path, qkv_n = q_dim + 2 * kv_dim;
    pool* p = &m->pool;

    int32_t fused = one_row_per_sequence(b), n_runs = split_runs(b, m->runs);
    embed(m, b);
    for (int32_t l = 0; l < c->n_layers; l++) {
        rmsnorm(m->xb, m->x, m->attn_norm + (int64_t)l * dim, B, dim, c->rms_eps);
        gemm(p, path, &m->qkv[l], m->xb, dim, B, m->qkv_out, qkv_n, qkv_n, EPI_STORE, m->gemm_scratch);
        if (!fused) {
            attention_job writes = {m, b, l, 1, 0};
            pool_run(p, (int64_t)n_runs * c->n_kv_heads, attention_range, &writes);
        }
        attention_job aj = {m, b, l, fused, 1};
        pool_run(p, (int64_t)n_runs * c->n_kv_heads, attention_range, &aj);
        gemm(p, path, &m->wo[l], m->ao, q_dim, B, m->x, dim, dim, EPI_ADD, m->gemm_scratch);

        rmsnorm(m->xb, m->x, m->ffn_norm + (int64_t)l * dim, B, dim, c->rms_eps);
        gemm(p, path, &m->gate_up[l], m->xb, dim, B, m->hb, hidden, hidden, EPI_SWIGLU, m->gemm_scratch);
        gemm(p, path, &m->down[l], m->hb, hidden, B, m->x, dim, dim, EPI_ADD, m->gemm_scratch);
    }
    if (b->n_logits == 0) return WK_OK;
    for (int32_t i = 0; i < b->n_logits; i++)
        rmsnorm_row(m->xb + (int64_t)i * dim, m->x + (int64_t)b->logit_rows[i] * dim, m->final_norm, dim, c->rms_eps);
    // Without logits (the caller wants only the greedy tokens), the LM head keeps just each panel's maximum.
    if (logits)
        gemm(p, path, &m->lm_head, m->xb, dim, b->n_logits, logits, c->vocab_size, c->vocab_size, EPI_STORE, m->gemm_scratch);
    else
        gemm_argmax(p, path, &m->lm_head, m->xb, dim, b->n_logits, c->vocab_size, m->panel_max, m->panel_arg, m->gemm_scratch);
    if (b->argmax) {
        argmax_job aj = {logits, c->vocab_size, b->argmax, path, m->panel_max, m->panel_arg, m->lm_head.n_panels};
        pool_run(p, b->n_logits, argmax_range, &aj);
    }
    return WK_OK;
}

// ----------------------------------------------------------------------------
// API

WK_API const char* wk_backend_name(void) { return "cpu"; }

WK_API int32_t wk_device_count(void) { return 1; }

WK_API const char* wk_backend_info(void) {
    static _Thread_local char info[192];
    const char* amx = amx_refused();
    snprintf(info, sizeof info, "cpu: %s kernels (bf16 weights: %s, int8: %s), %d threads%s%s",
             simd_path_name(simd_best_path(WK_F32)), simd_path_name(simd_best_path(WK_BF16)),
             simd_path_name(simd_best_path(WK_INT8)), pool_default_threads(), *amx ? "; no amx: " : "", amx);
    return info;
}

WK_API int32_t wk_model_create_ex(const wk_config* cfg, const wk_options* opts, wk_model** out) {
    if (out == NULL) return wk_fail(WK_ERR_ARG, "wk_model_create: out is NULL");
    *out = NULL;
    // aligned as its type says: the pool keeps its shared atomics on cache lines of their own
    wk_model* m = aligned_alloc(_Alignof(wk_model), (sizeof *m + _Alignof(wk_model) - 1) / _Alignof(wk_model) * _Alignof(wk_model));
    if (!m) return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of memory");
    memset(m, 0, sizeof *m);
    int32_t rc = wk_state_build(&m->st, cfg, opts);
    if (rc == WK_OK) rc = pool_build(&m->pool, pool_default_threads());
    if (rc == WK_OK) {
        m->path = simd_best_path(m->st.opts.weight_dtype);
        rc = build_model(m);
    }
    if (rc != WK_OK) {
        free_model(m);
        return rc;
    }
    *out = m;
    return WK_OK;
}

int32_t wk_backend_store(wk_model* m, int32_t tensor, int32_t layer, int64_t offset, const float* w) {
    (void)offset; // layer says where a per-layer tensor goes
    store_tensor(m, tensor, layer, w);
    return WK_OK;
}

wk_state* wk_backend_state(wk_model* m) { return &m->st; }

WK_API void wk_model_free(wk_model* m) {
    if (m == NULL) return;
    free_model(m);
}

// ----------------------------------------------------------------------------
// Machine ceilings

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define READ_CHUNK (256 << 10) // bytes per work item

typedef struct {
    const float* buf;
    int64_t n_floats;
    float sums[256];
} read_job;

__attribute__((target("avx512f"))) static float read_sum_512(const float* p, int64_t n) {
    __m512 a[8];
    for (int i = 0; i < 8; i++) a[i] = _mm512_setzero_ps();
    for (int64_t j = 0; j + 128 <= n; j += 128)
        for (int i = 0; i < 8; i++) a[i] = _mm512_add_ps(a[i], _mm512_load_ps(p + j + 16 * i));
    for (int i = 1; i < 8; i++) a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx2"))) static float read_sum_256(const float* p, int64_t n) {
    __m256 a[8];
    for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
    for (int64_t j = 0; j + 64 <= n; j += 64)
        for (int i = 0; i < 8; i++) a[i] = _mm256_add_ps(a[i], _mm256_load_ps(p + j + 8 * i));
    for (int i = 1; i < 8; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    float t[8];
    _mm256_storeu_ps(t, a[0]);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

static void read_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    read_job* j = ctx;
    int64_t per = READ_CHUNK / sizeof(float);
    int32_t path = simd_best_path(WK_F32);
    float s = 0.0f;
    for (int64_t item = start; item < end; item++) {
        const float* p = j->buf + item * per;
        int64_t n = j->n_floats - item * per < per ? j->n_floats - item * per : per;
        if (simd_has_avx512(path)) s += read_sum_512(p, n);
        else if (path == SIMD_AVX2) s += read_sum_256(p, n);
        else
            for (int64_t i = 0; i < n; i++) s += p[i];
    }
    j->sums[tid % 256] += s;
}

WK_API int32_t wk_bench_read_bandwidth(int64_t bytes, int32_t reps, double* gb_per_s) {
    if (bytes < READ_CHUNK || reps <= 0 || !gb_per_s) return wk_fail(WK_ERR_ARG, "wk_bench_read_bandwidth: bad arguments");
    bytes = bytes / READ_CHUNK * READ_CHUNK;
    float* buf = wk_alloc_huge((size_t)bytes);
    if (!buf) return wk_fail(WK_ERR_NOMEM, "wk_bench_read_bandwidth: cannot allocate %lld bytes", (long long)bytes);
    for (int64_t i = 0; i < bytes / 4; i++) buf[i] = (float)(i & 7);
    pool pl;
    int32_t rc = pool_build(&pl, pool_default_threads());
    if (rc != WK_OK) {
        pool_free(&pl);
        free(buf);
        return rc;
    }
    read_job job = {buf, bytes / 4, {0}};
    int64_t items = bytes / READ_CHUNK;
    pool_run(&pl, items, read_range, &job); // warm-up
    double best = 0;
    for (int32_t r = 0; r < reps; r++) {
        double t0 = seconds();
        pool_run(&pl, items, read_range, &job);
        double gbs = bytes / (seconds() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    pool_free(&pl);
    free(buf);
    *gb_per_s = best + 0.0f * job.sums[0]; // keep the sums alive
    return WK_OK;
}

typedef struct {
    int64_t iters;
    int32_t lanes;
    float out[256];
} fma_job;

#define FMA_CHAINS 12

__attribute__((target("avx512f"))) static float fma_512(int64_t iters) {
    __m512 a[FMA_CHAINS], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < FMA_CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    for (int64_t n = 0; n < iters; n++)
        for (int i = 0; i < FMA_CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    for (int i = 1; i < FMA_CHAINS; i++) a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx2,fma"))) static float fma_256(int64_t iters) {
    __m256 a[FMA_CHAINS], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < FMA_CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    for (int64_t n = 0; n < iters; n++)
        for (int i = 0; i < FMA_CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    for (int i = 1; i < FMA_CHAINS; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    return hsum256(a[0]);
}

static void fma_range(void* ctx, int64_t start, int64_t end, int32_t tid) {
    fma_job* j = ctx;
    int32_t path = simd_best_path(WK_F32);
    for (int64_t item = start; item < end; item++) {
        if (simd_has_avx512(path)) j->out[tid % 256] += fma_512(j->iters);
        else if (path == SIMD_AVX2) j->out[tid % 256] += fma_256(j->iters);
        else {
            float a = (float)tid;
            for (int64_t n = 0; n < j->iters * FMA_CHAINS; n++) a = a * 0.999999f + 1e-7f;
            j->out[tid % 256] += a;
        }
    }
}

WK_API int32_t wk_bench_attention(int32_t kv_dtype, int32_t n_rows, int32_t n_pos, int32_t n_query, int32_t n_layers,
                                  int32_t n_kv_heads, int32_t head_dim, int32_t reps, double* ns_per_position) {
    if (!wk_kv_dtype_valid(kv_dtype) || n_rows <= 0 || n_pos <= 0 || n_query <= 0 || n_query > n_pos || n_layers <= 0 ||
        n_kv_heads <= 0 || head_dim <= 0 || reps <= 0 || !ns_per_position)
        return wk_fail(WK_ERR_ARG, "wk_bench_attention: bad arguments");
    const int32_t bs = 16, per_row = (n_pos + bs - 1) / bs, n_blocks = n_rows * per_row;
    kv_pool kv;
    int32_t rc = kv_pool_alloc(&kv, n_layers, n_blocks, bs, n_kv_heads, head_dim, kv_dtype);
    int32_t* tables = malloc(sizeof(int32_t) * n_blocks);
    float* k = malloc(sizeof(float) * head_dim);
    float *q = malloc(sizeof(float) * n_query * head_dim), *out = malloc(sizeof(float) * n_query * head_dim);
    if (rc == WK_OK && (!tables || !k || !q || !out)) rc = wk_fail(WK_ERR_NOMEM, "wk_bench_attention: out of memory");
    if (rc == WK_OK) {
        // a sequence's blocks are every n_rows-th block: as scattered as a busy pool leaves them
        for (int32_t b = 0; b < n_blocks; b++) tables[b] = (b % per_row) * n_rows + b / per_row;
        for (int32_t i = 0; i < n_query * head_dim; i++) q[i] = 0.1f * (float)((i * 7) % 11) - 0.5f;
        int32_t path = simd_best_path(WK_F32);
        for (int32_t l = 0; l < n_layers; l++)
            for (int32_t b = 0; b < n_blocks; b++)
                for (int32_t j = 0; j < bs; j++)
                    for (int32_t g = 0; g < n_kv_heads; g++) {
                        for (int32_t i = 0; i < head_dim; i++) k[i] = 0.01f * (float)(((b + j + g + i) * 13) % 17) - 0.08f;
                        kv_write(path, &kv, l, b, j, g, k, k);
                    }
        double best = INFINITY;
        for (int32_t r = 0; r < reps; r++) {
            double t0 = seconds();
            // as a step's attention job runs them: layer by layer, (row, kv head) items in order, each asking for
            // the next one's first blocks before it attends
            for (int32_t l = 0; l < n_layers; l++)
                for (int32_t item = 0; item < n_rows * n_kv_heads; item++) {
                    int32_t row = item / n_kv_heads, g = item % n_kv_heads, next = item + 1;
                    if (next < n_rows * n_kv_heads)
                        kv_prefetch(&kv, l, tables + next / n_kv_heads * per_row, n_pos - 1, next % n_kv_heads);
                    attend_rows(path, &kv, l, tables + row * per_row, n_pos - n_query, n_query, g, 1, q, head_dim,
                                0.125f, out, head_dim);
                }
            double dt = seconds() - t0;
            if (dt < best) best = dt;
        }
        // the query rows attend to n_pos - n_query + 1 .. n_pos positions
        double attended = (double)n_query * (n_pos - n_query) + (double)n_query * (n_query + 1) / 2;
        *ns_per_position = best * 1e9 / ((double)n_rows * attended * n_layers * n_kv_heads);
    }
    free(tables);
    free(k);
    free(q);
    free(out);
    kv_pool_free(&kv);
    return rc;
}

WK_API int32_t wk_bench_fma_peak(int32_t millis, double* gflop_per_s) {
    if (millis <= 0 || !gflop_per_s) return wk_fail(WK_ERR_ARG, "wk_bench_fma_peak: bad arguments");
    pool pl;
    int32_t rc = pool_build(&pl, pool_default_threads());
    if (rc != WK_OK) {
        pool_free(&pl);
        return rc;
    }
    int32_t path = simd_best_path(WK_F32);
    fma_job job = {1 << 16, simd_has_avx512(path) ? 16 : path == SIMD_AVX2 ? 8 : 1, {0}};
    int64_t items = (int64_t)pl.n_threads * 8;
    double best = 0, start = seconds();
    while (seconds() - start < millis / 1000.0) {
        double t0 = seconds();
        pool_run(&pl, items, fma_range, &job);
        double dt = seconds() - t0;
        double gf = (double)items * job.iters * FMA_CHAINS * job.lanes * 2 / dt / 1e9;
        if (gf > best) best = gf;
        if (dt < 0.01) job.iters *= 2; // grow until one round is long enough to time
    }
    pool_free(&pl);
    *gflop_per_s = best + 0.0f * job.out[0];
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Test hooks

static int32_t check_path(const char* fn, int32_t path) {
    if (path < 0 || path >= SIMD_N_PATHS)
        return wk_fail(WK_ERR_ARG, "%s: unknown path %d (cpu has 0..%d)", fn, path, SIMD_N_PATHS - 1);
    if (!simd_path_supported(path))
        return wk_fail(WK_ERR_UNSUPPORTED, "%s: this CPU cannot run the %s path", fn, simd_path_name(path));
    return WK_OK;
}

// Packs w (d x n) as dtype and runs the product over m rows: into out (m x d), or with argmax non-NULL only each
// row's greedy token through gemm_argmax (out unused).
static int32_t test_gemm(const char* fn, int32_t path, int32_t dtype, float* out, int32_t* argmax, const float* x,
                         const float* w, int32_t m, int32_t n, int32_t d) {
    if ((!out && !argmax) || !x || !w || m <= 0 || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "%s: bad arguments", fn);
    if (dtype != WK_F32 && dtype != WK_BF16 && dtype != WK_INT8)
        return wk_fail(WK_ERR_ARG, "%s: storage dtype %d is not F32, BF16 or INT8", fn, dtype);
    int32_t rc = check_path(fn, path);
    if (rc != WK_OK) return rc;
    packed pw;
    if ((rc = packed_alloc(&pw, n, d, dtype)) != WK_OK) {
        packed_free(&pw);
        return rc;
    }
    packed_set_rows(&pw, w, d, 0, 0);
    void* scratch = malloc((size_t)gemm_scratch_bytes(n, m));
    float* panel_max = argmax ? malloc((size_t)m * pw.n_panels * sizeof(float)) : NULL;
    int32_t* panel_arg = argmax ? malloc((size_t)m * pw.n_panels * sizeof(int32_t)) : NULL;
    if (!scratch || (argmax && (!panel_max || !panel_arg))) {
        rc = wk_fail(WK_ERR_NOMEM, "%s: out of memory", fn);
    } else if (argmax) {
        gemm_argmax(NULL, path, &pw, x, n, m, d, panel_max, panel_arg, scratch);
        for (int32_t r = 0; r < m; r++)
            argmax[r] = gemm_argmax_of_panels(panel_max + (int64_t)r * pw.n_panels, panel_arg + (int64_t)r * pw.n_panels,
                                              pw.n_panels);
    } else {
        gemm(NULL, path, &pw, x, n, m, out, d, d, EPI_STORE, scratch);
    }
    free(panel_arg);
    free(panel_max);
    free(scratch);
    packed_free(&pw);
    return rc;
}

WK_API int32_t wk_test_gemm(int32_t path, int32_t dtype, float* out, const float* x, const float* w, int32_t m, int32_t n,
                            int32_t d) {
    if (!out) return wk_fail(WK_ERR_ARG, "wk_test_gemm: bad arguments");
    return test_gemm("wk_test_gemm", path, dtype, out, NULL, x, w, m, n, d);
}

WK_API int32_t wk_test_gemm_argmax(int32_t path, int32_t dtype, int32_t* argmax, const float* x, const float* w, int32_t m,
                                   int32_t n, int32_t d) {
    if (!argmax) return wk_fail(WK_ERR_ARG, "wk_test_gemm_argmax: bad arguments");
    return test_gemm("wk_test_gemm_argmax", path, dtype, NULL, argmax, x, w, m, n, d);
}

WK_API int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d) {
    if (!out || !x || !w || n <= 0 || d <= 0) return wk_fail(WK_ERR_ARG, "wk_test_matmul: bad arguments");
    int32_t rc = check_path("wk_test_matmul", path);
    if (rc != WK_OK) return rc;
    if (path == SIMD_SCALAR) {
        wk_matmul_ref(out, x, w, n, d);
        return WK_OK;
    }
    return wk_test_gemm(path, WK_F32, out, x, w, 1, n, d);
}

WK_API int32_t wk_test_attention(int32_t path, int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                                 int32_t block_size, int32_t n_pos, int32_t n_rows, const int32_t* table, const float* q,
                                 const float* k, const float* v, float* out) {
    int32_t n_blocks, rc = wk_check_test_attention(kv_dtype, n_heads, n_kv_heads, head_dim, INT32_MAX, block_size, n_pos,
                                                   n_rows, table, q, k, v, out, &n_blocks);
    if (rc == WK_OK) rc = check_path("wk_test_attention", path);
    if (rc != WK_OK) return rc;
    kv_pool kv;
    if ((rc = kv_pool_alloc(&kv, 1, n_blocks, block_size, n_kv_heads, head_dim, kv_dtype)) != WK_OK) return rc;
    memset(kv.data, 0xff, kv_pool_bytes(&kv)); // NaN everywhere no position was written: masking must hide it
    int32_t kv_dim = n_kv_heads * head_dim, group = n_heads / n_kv_heads;
    for (int32_t t = 0; t < n_pos; t++)
        for (int32_t g = 0; g < n_kv_heads; g++)
            kv_write(path, &kv, 0, table[t / block_size], t % block_size, g,
                     k + (int64_t)t * kv_dim + (int64_t)g * head_dim, v + (int64_t)t * kv_dim + (int64_t)g * head_dim);
    int64_t q_dim = (int64_t)n_heads * head_dim;
    for (int32_t g = 0; g < n_kv_heads; g++)
        attend_rows(path, &kv, 0, table, n_pos - n_rows, n_rows, g, group, q + (int64_t)g * group * head_dim, q_dim,
                    1.0f / sqrtf((float)head_dim), out + (int64_t)g * group * head_dim, q_dim);
    kv_pool_free(&kv);
    return WK_OK;
}

typedef struct {
    _Atomic int32_t* runs; // per item: times run
    _Atomic int32_t* last_job; // per item: the job that ran it last
    int32_t job;
} pool_test_job;

static void pool_test_item(void* ctx, int64_t start, int64_t end, int32_t tid) {
    pool_test_job* j = ctx;
    for (int64_t i = start; i < end; i++) {
        atomic_fetch_add(&j->runs[i], 1);
        atomic_store(&j->last_job[i], j->job);
    }
}

WK_API int32_t wk_test_pool(int32_t n_threads, int32_t n_jobs, int32_t max_items, int64_t* bad) {
    if (n_threads < 1 || n_jobs < 1 || max_items < 1 || !bad) return wk_fail(WK_ERR_ARG, "wk_test_pool: bad arguments");
    _Atomic int32_t* runs = calloc((size_t)max_items, sizeof *runs);
    _Atomic int32_t* last_job = calloc((size_t)max_items, sizeof *last_job);
    pool p;
    memset(&p, 0, sizeof p); // pool_free of a pool never built is a no-op
    int32_t rc = runs && last_job ? pool_build(&p, n_threads) : wk_fail(WK_ERR_NOMEM, "wk_test_pool: out of memory");
    int64_t wrong = 0;
    for (int32_t job = 1; rc == WK_OK && job <= n_jobs; job++) {
        int32_t items = 1 + (int32_t)(((uint32_t)job * 2654435761u) % (uint32_t)max_items);
        for (int32_t i = 0; i < items; i++) {
            atomic_store(&runs[i], 0);
            atomic_store(&last_job[i], 0);
        }
        pool_test_job j = {runs, last_job, job}; // a late worker of the job before would show in these counts
        pool_run(&p, items, pool_test_item, &j);
        for (int32_t i = 0; i < items; i++) {
            if (atomic_load(&runs[i]) != 1 || atomic_load(&last_job[i]) != job) wrong++;
        }
    }
    pool_free(&p);
    free(runs);
    free(last_job);
    *bad = wrong;
    return rc;
}
