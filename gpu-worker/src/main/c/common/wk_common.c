/*
 * wk_common.c: host-side bookkeeping shared by the CPU and CUDA backends. See wk_common.h.
 */
#define _GNU_SOURCE
#include "wk_common.h"

#include <sys/mman.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// Errors

static _Thread_local char last_error[512];

int32_t wk_fail(int32_t code, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

void wk_clear_error(void) { last_error[0] = '\0'; }

WK_API const char* wk_last_error(void) { return last_error; }

// ----------------------------------------------------------------------------
// Tensor table

static const char* const tensor_names[WK_N_TENSORS] = {
    "TOK_EMBEDDINGS", "ATTN_NORM", "WQ", "WK", "WV", "WO",
    "FFN_NORM", "W_GATE", "W_UP", "W_DOWN", "FINAL_NORM", "LM_HEAD",
};

int32_t wk_tensor_shape_of(const wk_config* c, int32_t t, wk_tensor_shape* s) {
    int64_t q_dim = (int64_t)c->n_heads * c->head_dim, kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    switch (t) {
        case WK_TOK_EMBEDDINGS: *s = (wk_tensor_shape){0, 0, c->vocab_size, c->dim}; break;
        case WK_ATTN_NORM:      *s = (wk_tensor_shape){0, 1, c->dim, 1}; break;
        case WK_WQ:             *s = (wk_tensor_shape){0, 1, q_dim, c->dim}; break;
        case WK_WK:             *s = (wk_tensor_shape){0, 1, kv_dim, c->dim}; break;
        case WK_WV:             *s = (wk_tensor_shape){0, 1, kv_dim, c->dim}; break;
        case WK_WO:             *s = (wk_tensor_shape){0, 1, c->dim, q_dim}; break;
        case WK_FFN_NORM:       *s = (wk_tensor_shape){0, 1, c->dim, 1}; break;
        case WK_W_GATE:         *s = (wk_tensor_shape){0, 1, c->hidden_dim, c->dim}; break;
        case WK_W_UP:           *s = (wk_tensor_shape){0, 1, c->hidden_dim, c->dim}; break;
        case WK_W_DOWN:         *s = (wk_tensor_shape){0, 1, c->dim, c->hidden_dim}; break;
        case WK_FINAL_NORM:     *s = (wk_tensor_shape){0, 0, c->dim, 1}; break;
        case WK_LM_HEAD:        *s = (wk_tensor_shape){0, 0, c->vocab_size, c->dim}; break;
        default: return wk_fail(WK_ERR_ARG, "unknown tensor id %d (valid: 0..%d)", t, WK_N_TENSORS - 1);
    }
    s->name = tensor_names[t];
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Model bookkeeping

static int32_t check_config(const wk_config* c, const wk_options* o) {
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->head_dim <= 0 || c->vocab_size <= 0 || c->max_seq_len <= 0)
        return wk_fail(WK_ERR_ARG, "config: every size must be positive (dim %d, hidden_dim %d, n_layers %d, n_heads %d, "
                       "n_kv_heads %d, head_dim %d, vocab_size %d, max_seq_len %d)", c->dim, c->hidden_dim, c->n_layers,
                       c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size, c->max_seq_len);
    if (c->n_heads % c->n_kv_heads != 0)
        return wk_fail(WK_ERR_ARG, "config: n_heads %d is not a multiple of n_kv_heads %d", c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return wk_fail(WK_ERR_ARG, "config: head_dim %d must be even for RoPE", c->head_dim);
    if (!(c->rms_eps > 0.0f) || !(c->rope_theta > 0.0f))
        return wk_fail(WK_ERR_ARG, "config: rms_eps (%g) and rope_theta (%g) must be positive", c->rms_eps, c->rope_theta);
    if (c->tied_embeddings != 0 && c->tied_embeddings != 1)
        return wk_fail(WK_ERR_ARG, "config: tied_embeddings must be 0 or 1, got %d", c->tied_embeddings);
    if (o->max_batch <= 0) return wk_fail(WK_ERR_ARG, "max_batch (%d) must be positive", o->max_batch);
    if (o->max_slots < 0) return wk_fail(WK_ERR_ARG, "max_slots (%d) must not be negative", o->max_slots);
    if (o->block_size <= 0 || o->block_size % 16 != 0)
        return wk_fail(WK_ERR_ARG, "block_size (%d) must be a positive multiple of 16", o->block_size);
    if (o->n_blocks <= 0) return wk_fail(WK_ERR_ARG, "n_blocks (%d) must be positive", o->n_blocks);
    if (o->weight_dtype != WK_F32 && o->weight_dtype != WK_BF16 && o->weight_dtype != WK_INT8)
        return wk_fail(WK_ERR_ARG, "weight_dtype %d: storage must be F32 (0), BF16 (2) or INT8 (3)", o->weight_dtype);
    if (!wk_kv_dtype_valid(o->kv_dtype))
        return wk_fail(WK_ERR_ARG, "kv_dtype %d: the KV cache must be F32 (0), BF16 (2) or INT8 (3)", o->kv_dtype);
    return WK_OK;
}

int32_t wk_slot_options(int32_t max_slots, int32_t max_batch, wk_options* out) {
    if (max_slots <= 0 || max_batch <= 0)
        return wk_fail(WK_ERR_ARG, "max_slots (%d) and max_batch (%d) must be positive", max_slots, max_batch);
    *out = (wk_options){max_batch, max_slots, 0, 16, WK_F32, WK_F32};
    return WK_OK;
}

int32_t wk_state_build(wk_state* st, const wk_config* cfg, const wk_options* opts) {
    memset(st, 0, sizeof *st);
    if (cfg == NULL || opts == NULL) return wk_fail(WK_ERR_ARG, "wk_model_create: cfg or options is NULL");
    wk_options o = *opts;
    if (o.block_size == 0) o.block_size = 16;
    int64_t per_slot = o.block_size > 0 && cfg->max_seq_len > 0 ? (cfg->max_seq_len + o.block_size - 1) / o.block_size : 0;
    if (o.n_blocks == 0 && o.max_slots > 0) {
        if ((int64_t)o.max_slots * per_slot > INT32_MAX) return wk_fail(WK_ERR_ARG, "max_slots %d: too many KV blocks", o.max_slots);
        o.n_blocks = (int32_t)(o.max_slots * per_slot);
    }
    int32_t rc = check_config(cfg, &o);
    if (rc != WK_OK) return rc;
    if ((int64_t)o.max_slots * per_slot > o.n_blocks)
        return wk_fail(WK_ERR_ARG, "n_blocks %d cannot hold %d slots of %lld blocks", o.n_blocks, o.max_slots,
                       (long long)per_slot);
    st->cfg = *cfg;
    st->opts = o;
    st->q_dim = cfg->n_heads * cfg->head_dim;
    st->kv_dim = cfg->n_kv_heads * cfg->head_dim;
    st->blocks_per_slot = (int32_t)per_slot;
    st->is_set = calloc((size_t)WK_N_TENSORS * cfg->n_layers, 1);
    st->seq_len = calloc((size_t)o.max_slots + 1, sizeof(int32_t));
    st->slot_tables = calloc((size_t)o.max_slots * per_slot + 1, sizeof(int32_t));
    st->row_tables = calloc((size_t)o.max_batch, sizeof(int32_t*));
    st->row_pos = calloc((size_t)o.max_batch, sizeof(int32_t));
    st->logit_rows = calloc((size_t)o.max_batch, sizeof(int32_t));
    if (!st->is_set || !st->seq_len || !st->slot_tables || !st->row_tables || !st->row_pos || !st->logit_rows) {
        wk_state_free(st);
        return wk_fail(WK_ERR_NOMEM, "wk_model_create: out of host memory for bookkeeping");
    }
    for (int64_t i = 0; i < (int64_t)o.max_slots * per_slot; i++) st->slot_tables[i] = (int32_t)i;
    return WK_OK;
}

void wk_state_free(wk_state* st) {
    free(st->is_set);
    free(st->seq_len);
    free(st->slot_tables);
    free((void*)st->row_tables);
    free(st->row_pos);
    free(st->logit_rows);
    st->is_set = NULL;
    st->seq_len = st->slot_tables = st->row_pos = st->logit_rows = NULL;
    st->row_tables = NULL;
}

int32_t wk_check_set_tensor(const wk_state* st, int32_t t, int32_t layer, const void* data,
                            int32_t dtype, int64_t n_elements, int64_t* offset, int64_t* count) {
    wk_tensor_shape s = {0};
    int32_t rc = wk_tensor_shape_of(&st->cfg, t, &s);
    if (rc != WK_OK) return rc;
    if (data == NULL) return wk_fail(WK_ERR_ARG, "set_tensor %s: data is NULL", s.name);
    if (dtype != WK_F32 && dtype != WK_F16 && dtype != WK_BF16)
        return wk_fail(WK_ERR_ARG, "set_tensor %s: unsupported upload dtype %d (F32=0, F16=1, BF16=2)", s.name, dtype);
    if (t == WK_LM_HEAD && st->cfg.tied_embeddings)
        return wk_fail(WK_ERR_ARG, "set_tensor LM_HEAD: the model has tied embeddings; the LM head is TOK_EMBEDDINGS");
    if (s.per_layer && (layer < 0 || layer >= st->cfg.n_layers))
        return wk_fail(WK_ERR_RANGE, "set_tensor %s: layer %d out of range [0, %d)", s.name, layer, st->cfg.n_layers);
    if (!s.per_layer && layer != -1)
        return wk_fail(WK_ERR_ARG, "set_tensor %s: global tensor needs layer -1, got %d", s.name, layer);
    *count = s.rows * s.cols;
    if (n_elements != *count)
        return wk_fail(WK_ERR_ARG, "set_tensor %s layer %d: expected %lld elements (%lld x %lld), got %lld", s.name,
                       layer, (long long)*count, (long long)s.rows, (long long)s.cols, (long long)n_elements);
    *offset = s.per_layer ? (int64_t)layer * *count : 0;
    return WK_OK;
}

void wk_mark_set(wk_state* st, int32_t t, int32_t layer) {
    st->is_set[t * st->cfg.n_layers + (layer < 0 ? 0 : layer)] = 1;
}

int32_t wk_check_ready(const wk_state* st) {
    for (int32_t t = 0; t < WK_N_TENSORS; t++) {
        if (t == WK_LM_HEAD && st->cfg.tied_embeddings) continue;
        wk_tensor_shape s = {0};
        wk_tensor_shape_of(&st->cfg, t, &s);
        for (int32_t l = 0; l < (s.per_layer ? st->cfg.n_layers : 1); l++)
            if (!st->is_set[t * st->cfg.n_layers + l])
                return s.per_layer ? wk_fail(WK_ERR_STATE, "model not ready: tensor %s of layer %d was never set", s.name, l)
                                   : wk_fail(WK_ERR_STATE, "model not ready: tensor %s was never set", s.name);
    }
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Forward driver

static int32_t check_token(const wk_state* st, int32_t i, int32_t tok) {
    if (tok < 0 || tok >= st->cfg.vocab_size)
        return wk_fail(WK_ERR_RANGE, "token %d (row %d) out of range [0, %d)", tok, i, st->cfg.vocab_size);
    return WK_OK;
}

static int32_t check_slot_api(const wk_state* st, const char* fn) {
    if (st->opts.max_slots <= 0) return wk_fail(WK_ERR_STATE, "%s: this model has no slots (paged API only)", fn);
    return WK_OK;
}

int32_t wk_run_sequence(wk_state* st, wk_step_fn step, void* model, int32_t slot, const int32_t* tokens,
                        int32_t n_tokens, int32_t start_pos, float* logits_out) {
    if (tokens == NULL || logits_out == NULL) return wk_fail(WK_ERR_ARG, "wk_forward: tokens or logits_out is NULL");
    int32_t rc = wk_check_ready(st);
    if (rc != WK_OK || (rc = check_slot_api(st, "wk_forward")) != WK_OK) return rc;
    if (slot < 0 || slot >= st->opts.max_slots)
        return wk_fail(WK_ERR_RANGE, "wk_forward: slot %d out of range [0, %d)", slot, st->opts.max_slots);
    if (n_tokens <= 0) return wk_fail(WK_ERR_ARG, "wk_forward: n_tokens must be positive, got %d", n_tokens);
    if (start_pos < 0 || (int64_t)start_pos + n_tokens > st->cfg.max_seq_len)
        return wk_fail(WK_ERR_RANGE, "wk_forward: positions [%d, %lld) out of range [0, max_seq_len %d)", start_pos,
                       (long long)start_pos + n_tokens, st->cfg.max_seq_len);
    if (start_pos > st->seq_len[slot])
        return wk_fail(WK_ERR_RANGE, "wk_forward: start_pos %d would leave a gap: slot %d holds %d positions", start_pos,
                       slot, st->seq_len[slot]);
    for (int32_t i = 0; i < n_tokens; i++)
        if ((rc = check_token(st, i, tokens[i])) != WK_OK) return rc;

    st->seq_len[slot] = start_pos; // rewinding drops everything after start_pos
    const int32_t* table = st->slot_tables + (int64_t)slot * st->blocks_per_slot;
    for (int32_t done = 0; done < n_tokens;) {
        int32_t n = n_tokens - done < st->opts.max_batch ? n_tokens - done : st->opts.max_batch;
        for (int32_t i = 0; i < n; i++) {
            st->row_tables[i] = table;
            st->row_pos[i] = start_pos + done + i;
        }
        int32_t last = n - 1, is_last = done + n == n_tokens;
        wk_batch b = {n, tokens + done, st->row_pos, st->row_tables, is_last ? 1 : 0, &last, NULL};
        rc = step(model, &b, logits_out);
        if (rc != WK_OK) return rc;
        done += n;
        st->seq_len[slot] = start_pos + done;
    }
    return WK_OK;
}

int32_t wk_run_batch(wk_state* st, wk_step_fn step, void* model, int32_t n_rows, const int32_t* slots,
                     const int32_t* tokens, const int32_t* positions, float* logits_out) {
    if (!slots || !tokens || !positions || !logits_out)
        return wk_fail(WK_ERR_ARG, "wk_forward_batch: slots, tokens, positions or logits_out is NULL");
    int32_t rc = wk_check_ready(st);
    if (rc != WK_OK || (rc = check_slot_api(st, "wk_forward_batch")) != WK_OK) return rc;
    if (n_rows <= 0 || n_rows > st->opts.max_batch)
        return wk_fail(WK_ERR_RANGE, "wk_forward_batch: n_rows %d out of range [1, max_batch %d]", n_rows, st->opts.max_batch);
    for (int32_t i = 0; i < n_rows; i++) {
        int32_t s = slots[i], p = positions[i];
        if (s < 0 || s >= st->opts.max_slots)
            return wk_fail(WK_ERR_RANGE, "wk_forward_batch: row %d: slot %d out of range [0, %d)", i, s, st->opts.max_slots);
        if (p < 0 || p >= st->cfg.max_seq_len)
            return wk_fail(WK_ERR_RANGE, "wk_forward_batch: row %d: position %d out of range [0, max_seq_len %d)", i, p,
                           st->cfg.max_seq_len);
        if ((rc = check_token(st, i, tokens[i])) != WK_OK) return rc;
        int32_t prev = -1; // the previous row of the same slot, if any (n_rows is small)
        for (int32_t j = i - 1; j >= 0 && prev < 0; j--)
            if (slots[j] == s) prev = j;
        if (prev >= 0 && p != positions[prev] + 1)
            return wk_fail(WK_ERR_RANGE, "wk_forward_batch: row %d: slot %d position %d does not follow row %d's position %d",
                           i, s, p, prev, positions[prev]);
        if (prev < 0 && p > st->seq_len[s])
            return wk_fail(WK_ERR_RANGE, "wk_forward_batch: row %d: position %d would leave a gap: slot %d holds %d positions",
                           i, p, s, st->seq_len[s]);
    }
    for (int32_t i = 0; i < n_rows; i++) {
        st->row_tables[i] = st->slot_tables + (int64_t)slots[i] * st->blocks_per_slot;
        st->logit_rows[i] = i;
    }
    wk_batch b = {n_rows, tokens, positions, st->row_tables, n_rows, st->logit_rows, NULL};
    rc = step(model, &b, logits_out);
    if (rc != WK_OK) return rc;
    for (int32_t i = 0; i < n_rows; i++) st->seq_len[slots[i]] = positions[i] + 1;
    return WK_OK;
}

int32_t wk_run_paged(wk_state* st, wk_step_fn step, void* model, int32_t n_rows, const int32_t* tokens,
                     const int32_t* positions, const int32_t* row_seq, int32_t n_seqs, const int32_t* block_tables,
                     int32_t table_stride, int32_t n_logits, const int32_t* logit_rows, float* logits_out,
                     int32_t* argmax_out) {
    if (!tokens || !positions || !row_seq || !block_tables || (n_logits > 0 && (!logit_rows || (!logits_out && !argmax_out))))
        return wk_fail(WK_ERR_ARG, "wk_forward_paged: a NULL array");
    int32_t rc = wk_check_ready(st);
    if (rc != WK_OK) return rc;
    if (n_rows <= 0 || n_rows > st->opts.max_batch)
        return wk_fail(WK_ERR_RANGE, "wk_forward_paged: n_rows %d out of range [1, max_batch %d]", n_rows, st->opts.max_batch);
    if (n_seqs <= 0 || table_stride <= 0)
        return wk_fail(WK_ERR_ARG, "wk_forward_paged: n_seqs (%d) and table_stride (%d) must be positive", n_seqs, table_stride);
    if (n_logits < 0 || n_logits > n_rows)
        return wk_fail(WK_ERR_RANGE, "wk_forward_paged: n_logits %d out of range [0, n_rows %d]", n_logits, n_rows);
    int32_t bs = st->opts.block_size;
    for (int32_t i = 0; i < n_rows; i++) {
        int32_t s = row_seq[i], p = positions[i];
        if (s < 0 || s >= n_seqs)
            return wk_fail(WK_ERR_RANGE, "wk_forward_paged: row %d: sequence %d out of range [0, %d)", i, s, n_seqs);
        if (p < 0 || p >= st->cfg.max_seq_len || p / bs >= table_stride)
            return wk_fail(WK_ERR_RANGE, "wk_forward_paged: row %d: position %d out of range [0, %d)", i, p,
                           st->cfg.max_seq_len < table_stride * bs ? st->cfg.max_seq_len : table_stride * bs);
        if ((rc = check_token(st, i, tokens[i])) != WK_OK) return rc;
        if (i > 0 && row_seq[i - 1] == s && p != positions[i - 1] + 1)
            return wk_fail(WK_ERR_RANGE, "wk_forward_paged: row %d: position %d does not follow row %d's position %d", i, p,
                           i - 1, positions[i - 1]);
        const int32_t* table = block_tables + (int64_t)s * table_stride;
        for (int32_t b = 0; b <= p / bs; b++)
            if (table[b] < 0 || table[b] >= st->opts.n_blocks)
                return wk_fail(WK_ERR_RANGE, "wk_forward_paged: row %d: block %d of sequence %d is %d, out of range [0, %d)",
                               i, b, s, table[b], st->opts.n_blocks);
        st->row_tables[i] = table;
    }
    for (int32_t i = 0; i < n_logits; i++)
        if (logit_rows[i] < 0 || logit_rows[i] >= n_rows)
            return wk_fail(WK_ERR_RANGE, "wk_forward_paged: logit row %d out of range [0, %d)", logit_rows[i], n_rows);
    wk_batch b = {n_rows, tokens, positions, st->row_tables, n_logits, logit_rows, argmax_out};
    return step(model, &b, logits_out);
}

// Both backends' struct wk_model starts with its wk_state, so the bookkeeping is readable here.
WK_API int32_t wk_model_kv_info(const wk_model* m, int32_t* n_blocks, int32_t* block_size) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_model_kv_info: model is NULL");
    const wk_state* st = (const wk_state*)m;
    if (n_blocks) *n_blocks = st->opts.n_blocks;
    if (block_size) *block_size = st->opts.block_size;
    return WK_OK;
}

// ----------------------------------------------------------------------------
// Host memory

#define HUGE_PAGE ((size_t)2 << 20)

void* wk_alloc_huge(size_t bytes) {
    size_t align = bytes >= 2 * HUGE_PAGE ? HUGE_PAGE : 64;
    bytes = (bytes + align - 1) / align * align;
    void* p = NULL;
    if (posix_memalign(&p, align, bytes ? bytes : align) != 0) return NULL;
    if (align == HUGE_PAGE) madvise(p, bytes, MADV_HUGEPAGE); // advisory: failure is harmless
    return p;
}

// ----------------------------------------------------------------------------
// Numerics

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign; // signed zero
        } else {         // subnormal: normalise the mantissa
            exp = 113;
            while (!(mant & 0x400u)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13); // inf / nan
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void wk_to_f32(float* dst, const void* src, int32_t dtype, int64_t n) {
    const unsigned char* p = src;
    if (dtype == WK_F32) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2); // safetensors data need not be 2-byte aligned
        if (dtype == WK_F16) {
            dst[i] = f16_to_f32(h);
        } else {
            uint32_t bits = (uint32_t)h << 16; // bf16 is the top half of an f32
            memcpy(&dst[i], &bits, 4);
        }
    }
}

void wk_rope_table(const wk_config* c, float* cos_sin) {
    int32_t half = c->head_dim / 2;
    for (int32_t pos = 0; pos < c->max_seq_len; pos++)
        for (int32_t i = 0; i < half; i++) {
            double angle = pos * pow((double)c->rope_theta, -2.0 * i / c->head_dim);
            cos_sin[((int64_t)pos * half + i) * 2 + 0] = (float)cos(angle);
            cos_sin[((int64_t)pos * half + i) * 2 + 1] = (float)sin(angle);
        }
}

int32_t wk_kv_dtype_valid(int32_t kv_dtype) { return kv_dtype == WK_F32 || kv_dtype == WK_BF16 || kv_dtype == WK_INT8; }

int32_t wk_check_test_attention(int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
                                int32_t max_head_dim, int32_t block_size, int32_t n_pos, int32_t n_rows,
                                const int32_t* table, const float* q, const float* k, const float* v, const float* out,
                                int32_t* n_blocks) {
    if (!wk_kv_dtype_valid(kv_dtype) || !table || !q || !k || !v || !out || n_heads <= 0 || n_kv_heads <= 0 ||
        n_heads % n_kv_heads != 0 || head_dim <= 0 || head_dim > max_head_dim || block_size <= 0 || block_size % 16 != 0 ||
        n_pos <= 0 || n_rows <= 0 || n_rows > n_pos)
        return wk_fail(WK_ERR_ARG, "wk_test_attention: bad arguments");
    *n_blocks = 0;
    for (int32_t i = 0; i < (n_pos + block_size - 1) / block_size; i++) {
        if (table[i] < 0) return wk_fail(WK_ERR_ARG, "wk_test_attention: negative block id");
        if (table[i] + 1 > *n_blocks) *n_blocks = table[i] + 1;
    }
    return WK_OK;
}

int32_t wk_argmax_ref(const float* x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void wk_matmul_ref(float* out, const float* x, const float* w, int32_t n, int32_t d) {
    for (int32_t i = 0; i < d; i++) {
        float sum = 0.0f;
        for (int32_t j = 0; j < n; j++) sum += w[(int64_t)i * n + j] * x[j];
        out[i] = sum;
    }
}

// ----------------------------------------------------------------------------
// The entry points every backend shares around its wk_backend_* hooks

WK_API int32_t wk_model_create(const wk_config* cfg, int32_t max_slots, int32_t max_batch, wk_model** out) {
    if (out) *out = NULL;
    wk_options o;
    int32_t rc = wk_slot_options(max_slots, max_batch, &o);
    return rc != WK_OK ? rc : wk_model_create_ex(cfg, &o, out);
}

WK_API int32_t wk_model_set_tensor(wk_model* m, int32_t tensor, int32_t layer, const void* data, int32_t dtype,
                                   int64_t n_elements) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_model_set_tensor: model is NULL");
    wk_state* st = wk_backend_state(m);
    int64_t offset = 0, count = 0;
    int32_t rc = wk_check_set_tensor(st, tensor, layer, data, dtype, n_elements, &offset, &count);
    if (rc != WK_OK) return rc;
    float* w = malloc((size_t)count * sizeof(float));
    if (!w) return wk_fail(WK_ERR_NOMEM, "wk_model_set_tensor: out of memory converting %lld elements", (long long)count);
    wk_to_f32(w, data, dtype, count);
    rc = wk_backend_store(m, tensor, layer, offset, w);
    free(w);
    if (rc == WK_OK) wk_mark_set(st, tensor, layer);
    return rc;
}

WK_API int32_t wk_forward(wk_model* m, int32_t slot, const int32_t* tokens, int32_t n_tokens, int32_t start_pos,
                          float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward: model is NULL");
    return wk_run_sequence(wk_backend_state(m), wk_backend_step, m, slot, tokens, n_tokens, start_pos, logits_out);
}

WK_API int32_t wk_forward_batch(wk_model* m, int32_t n_rows, const int32_t* slots, const int32_t* tokens,
                                const int32_t* positions, float* logits_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward_batch: model is NULL");
    return wk_run_batch(wk_backend_state(m), wk_backend_step, m, n_rows, slots, tokens, positions, logits_out);
}

WK_API int32_t wk_forward_paged(wk_model* m, int32_t n_rows, const int32_t* tokens, const int32_t* positions,
                                const int32_t* row_seq, int32_t n_seqs, const int32_t* block_tables, int32_t table_stride,
                                int32_t n_logits, const int32_t* logit_rows, float* logits_out, int32_t* argmax_out) {
    if (m == NULL) return wk_fail(WK_ERR_ARG, "wk_forward_paged: model is NULL");
    return wk_run_paged(wk_backend_state(m), wk_backend_step, m, n_rows, tokens, positions, row_seq, n_seqs,
                        block_tables, table_stride, n_logits, logit_rows, logits_out, argmax_out);
}
