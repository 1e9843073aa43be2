/*
 * The C ABI on the host: "device" memory is heap memory and each operation is a plain loop over the
 * shared decode code. It is what JUnit runs where there is no GPU: the same entry points, layouts and
 * arithmetic as the CUDA library, without its parallel decomposition.
 */
#include "ns_rows.h"

#include <math.h>
#include <stdlib.h>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>

typedef std::chrono::steady_clock ns_clock;

static double ns_ms_since(ns_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(ns_clock::now() - t0).count();
}

/* A graph here is the list of the recorded operations' bodies, replayed in order: what stream capture does. */
struct ns_context {
    std::unordered_map<void*, int64_t> allocations;
    int64_t used = 0;
    bool recording = false, profiling = false;
    std::vector<std::function<void()>> recorded, graph;
    float last_ms = 0.f;
    double total_ms = 0.0, prof_ms = 0.0;
    int64_t launches = 0;
    int32_t prof_ops = 0;
    ns_clock::time_point prof_start;
};

/* Runs an operation's body now, or records it for the graph. Arguments are checked before, by the caller. */
static int32_t ns_op(ns_context* ctx, std::function<void()> body) {
    if (ctx->recording) {
        ctx->recorded.push_back(std::move(body));
    } else if (ctx->profiling) {
        auto t0 = ns_clock::now();
        body();
        ctx->prof_ms += ns_ms_since(t0);
        ctx->prof_ops++;
    } else {
        body();
    }
    return NS_OK;
}

static int32_t ns_take(ns_context* ctx, int64_t bytes, void** out) {
    void* p = calloc(1, bytes > 0 ? (size_t)bytes : 1);
    if (p == NULL) {
        return ns_fail(NS_E_OUT_OF_MEMORY, "out of host memory allocating %lld bytes", (long long)bytes);
    }
    ctx->allocations[p] = bytes;
    ctx->used += bytes;
    *out = p;
    return NS_OK;
}

static void ns_give(ns_context* ctx, void* p) {
    auto it = ctx->allocations.find(p);
    if (it != ctx->allocations.end()) {
        ctx->used -= it->second;
        ctx->allocations.erase(it);
        free(p);
    }
}

static int32_t ns_copy_in(ns_context* ctx, const void* src, int64_t bytes, uint8_t** out) {
    void* p = NULL;
    int32_t st = ns_take(ctx, bytes, &p);
    if (st == NS_OK) {
        memcpy(p, src, (size_t)bytes);
        *out = (uint8_t*)p;
    }
    return st;
}

#define NS_NEED(ctx) if ((ctx) == NULL) return ns_fail(NS_E_ARGUMENT, "null context")

extern "C" {

NS_API const char* ns_backend_name(void) { return "host"; }

NS_API const char* ns_last_error(void) { return ns_error; }

NS_API int32_t ns_device_count(int32_t* count) {
    *count = 1;
    return NS_OK;
}

NS_API int32_t ns_create(int32_t device, ns_context** out) {
    if (device != 0) {
        return ns_fail(NS_E_NO_DEVICE, "the host library has one device, 0; asked for %d", device);
    }
    *out = new ns_context();
    return NS_OK;
}

NS_API int32_t ns_destroy(ns_context* ctx) {
    NS_NEED(ctx);
    for (auto& a : ctx->allocations) free(a.first);
    delete ctx;
    return NS_OK;
}

NS_API int32_t ns_device_name(ns_context* ctx, char* buf, int32_t capacity) {
    NS_NEED(ctx);
    snprintf(buf, (size_t)capacity, "host (nashswarm_decode.h built with the host compiler)");
    return NS_OK;
}

NS_API int32_t ns_memory(ns_context* ctx, int64_t* free_bytes, int64_t* total_bytes) {
    NS_NEED(ctx);
    *free_bytes = 0;
    *total_bytes = ctx->used;
    return NS_OK;
}

NS_API int32_t ns_alloc(ns_context* ctx, int64_t floats, float** out) {
    NS_NEED(ctx);
    return ns_take(ctx, 4 * floats, (void**)out);
}

NS_API int32_t ns_free(ns_context* ctx, float* p) {
    NS_NEED(ctx);
    ns_give(ctx, p);
    return NS_OK;
}

NS_API int32_t ns_write(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    memcpy(dst, src, 4 * (size_t)n);
    return NS_OK;
}

NS_API int32_t ns_read(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    memcpy(dst, src, 4 * (size_t)n);
    return NS_OK;
}

NS_API int32_t ns_read_i32(ns_context* ctx, int32_t* dst, const int32_t* src, int64_t n) {
    NS_NEED(ctx);
    memcpy(dst, src, 4 * (size_t)n);
    return NS_OK;
}

NS_API int32_t ns_sync(ns_context* ctx) {
    NS_NEED(ctx);
    return NS_OK;
}

NS_API int32_t ns_upload(ns_context* ctx, const ns_tensor_desc* d, ns_tensor** out) {
    NS_NEED(ctx);
    ns_mixed_index mix;
    ns_tensor* t = new ns_tensor();
    int32_t st = ns_describe(d, t, &mix);
    if (st == NS_OK) st = ns_copy_in(ctx, d->data, d->data_bytes, &t->codes);
    if (st == NS_OK && d->scales) st = ns_copy_in(ctx, d->scales, d->scales_bytes, &t->scales);
    if (st == NS_OK && d->zeros) st = ns_copy_in(ctx, d->zeros, d->zeros_bytes, &t->zeros);
    if (st == NS_OK && t->type == NS_MIXED) {
        st = ns_copy_in(ctx, mix.rows.data(), (int64_t)(mix.rows.size() * sizeof(ns_mixed_row)), (uint8_t**)&t->mrows);
        if (st == NS_OK) st = ns_copy_in(ctx, mix.order.data(), (int64_t)(mix.order.size() * 2), (uint8_t**)&t->order);
        if (st == NS_OK && d->outliers) {
            st = ns_copy_in(ctx, d->outlier_rows, d->outlier_rows_bytes, (uint8_t**)&t->outlier_rows);
            if (st == NS_OK) st = ns_copy_in(ctx, d->outliers, d->outliers_bytes, &t->outliers);
        }
    }
    if (st != NS_OK) {
        ns_release(ctx, t);
        return st;
    }
    *out = t;
    return NS_OK;
}

NS_API int32_t ns_tensor_bytes(const ns_tensor* t, int64_t* stored, int64_t* index) {
    *stored = t->stored_bytes;
    *index = t->index_bytes;
    return NS_OK;
}

NS_API int32_t ns_release(ns_context* ctx, ns_tensor* t) {
    NS_NEED(ctx);
    void* parts[] = {t->codes, t->scales, t->zeros, t->mrows, t->order, t->outlier_rows, t->outliers};
    for (void* p : parts) {
        if (p) ns_give(ctx, p);
    }
    delete t;
    return NS_OK;
}

NS_API int32_t ns_write_i32(ns_context* ctx, int32_t* dst, const int32_t* src, int64_t n) {
    NS_NEED(ctx);
    memcpy(dst, src, 4 * (size_t)n);
    return NS_OK;
}

static int32_t ns_matmul_gemv(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int32_t b = 0; b < n; b++) {
            for (int64_t r = 0; r < w->rows; r++) {
                y[(int64_t)b * w->rows + r] = ns_epilogue_apply(e, ns_row_dot(w, r, x + (int64_t)b * w->cols), r);
            }
        }
    });
}

NS_API int32_t ns_matmul(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n) {
    return ns_matmul_gemv(ctx, w, x, y, n, ns_epilogue{NULL, NS_ACT_NONE});
}

NS_API int32_t ns_embed(ns_context* ctx, const ns_tensor* w, int32_t row, const int32_t* row_dev, float* out) {
    NS_NEED(ctx);
    if (row_dev == NULL && (row < 0 || row >= w->rows)) {
        return ns_fail(NS_E_ARGUMENT, "embedding row %d outside 0..%d", row, w->rows - 1);
    }
    return ns_op(ctx, [=] {
        int32_t r = ns_pos(row, row_dev);
        if (r >= 0 && r < w->rows) ns_row_decode(w, r, out); /* as the kernel: a row outside writes nothing */
    });
}

NS_API int32_t ns_rmsnorm(ns_context* ctx, float* out, const float* x, const float* w, int32_t rows, int32_t n, float eps) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int32_t i = 0; i < rows; i++) {
            const float* xr = x + (int64_t)i * n;
            float ss = 0.f;
            for (int32_t j = 0; j < n; j++) ss += xr[j] * xr[j];
            float inv = ns_rms_inv(ss, n, eps);
            for (int32_t j = 0; j < n; j++) out[(int64_t)i * n + j] = ns_rmsnorm1(xr[j], w[j], inv);
        }
    });
}

NS_API int32_t ns_layernorm(ns_context* ctx, float* out, const float* x, const float* w, const float* b, int32_t rows,
                            int32_t n, float eps) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int32_t i = 0; i < rows; i++) {
            const float* xr = x + (int64_t)i * n;
            float s = 0.f, v = 0.f;
            for (int32_t j = 0; j < n; j++) s += xr[j];
            float mean = s / n;
            for (int32_t j = 0; j < n; j++) v += (xr[j] - mean) * (xr[j] - mean);
            float inv = ns_rms_inv(v, n, eps);
            for (int32_t j = 0; j < n; j++) out[(int64_t)i * n + j] = ns_layernorm1(xr[j], mean, inv, w[j], b[j]);
        }
    });
}

NS_API int32_t ns_rope(ns_context* ctx, float* v, int32_t rows, int32_t heads, int32_t hs, int32_t pos, const int32_t* pos_dev,
                       int32_t style, const float* cos_t, const float* sin_t) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        int32_t p = ns_pos(pos, pos_dev);
        for (int64_t idx = 0; idx < (int64_t)rows * heads * (hs / 2); idx++) ns_rope_pair(v, idx, heads, hs, p, style, cos_t, sin_t);
    });
}

NS_API int32_t ns_add(ns_context* ctx, float* y, const float* x, int64_t n) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int64_t i = 0; i < n; i++) y[i] += x[i];
    });
}

NS_API int32_t ns_add_bias(ns_context* ctx, float* x, const float* bias, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int64_t i = 0; i < (int64_t)rows * n; i++) x[i] += bias[i % n];
    });
}

NS_API int32_t ns_copy(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] { memmove(dst, src, 4 * (size_t)n); });
}

NS_API int32_t ns_copy_many(ns_context* ctx, int32_t count, float* const* dsts, const float* const* srcs, int64_t n) {
    NS_NEED(ctx);
    if (count < 1 || count > NS_COPY_MAX || dsts == NULL || srcs == NULL) return ns_fail(NS_E_ARGUMENT, "copy_many: %d copies", count);
    std::vector<float*> d(dsts, dsts + count);
    std::vector<const float*> s(srcs, srcs + count);
    return ns_op(ctx, [=] {
        for (int32_t i = 0; i < count; i++) memcpy(d[i], s[i], 4 * (size_t)n);
    });
}

NS_API int32_t ns_gelu_tanh(ns_context* ctx, float* x, int64_t n) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int64_t i = 0; i < n; i++) x[i] = ns_gelu_tanh1(x[i]);
    });
}

NS_API int32_t ns_swiglu(ns_context* ctx, float* g, const float* u, int64_t n, float* q8) {
    NS_NEED(ctx);
    int32_t st = q8 != NULL ? ns_check_q8_width((int32_t)n) : NS_OK;
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        for (int64_t i = 0; i < n; i++) g[i] = ns_swiglu1(g[i], u[i]);
        if (q8 != NULL) ns_q8_span(g, 0, n, q8, n);
    });
}

static void ns_softmax_row(float* x, int32_t n) {
    float max = -INFINITY, sum = 0.f;
    for (int32_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    for (int32_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int32_t i = 0; i < n; i++) x[i] *= 1.f / sum;
}

NS_API int32_t ns_softmax(ns_context* ctx, float* x, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        for (int32_t i = 0; i < rows; i++) ns_softmax_row(x + (int64_t)i * n, n);
    });
}

NS_API int32_t ns_kv_store(ns_context* ctx, float* keys, float* values, const float* k, const float* v, int32_t rows,
                           int32_t pos, const int32_t* pos_dev, int32_t kv_dim) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        int64_t at = (int64_t)ns_pos(pos, pos_dev) * kv_dim;
        memcpy(keys + at, k, 4 * (size_t)rows * kv_dim);
        memcpy(values + at, v, 4 * (size_t)rows * kv_dim);
    });
}

NS_API int32_t ns_attention(ns_context* ctx, const float* q, const float* keys, const float* values, float* out,
                            float* scores, int32_t rows, int32_t pos, const int32_t* pos_dev, int32_t nh, int32_t nkv,
                            int32_t hs, int32_t capacity, float* q8) {
    NS_NEED(ctx);
    int32_t st = ns_check_attention(rows, pos, pos_dev, nh, nkv, hs, capacity, q8);
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        int32_t pos0 = ns_pos(pos, pos_dev), kv_dim = nkv * hs, dim = nh * hs, group = nh / nkv;
        float scale = 1.f / sqrtf((float)hs);
        for (int32_t i = 0; i < rows && pos0 + i < capacity; i++) {
            for (int32_t h = 0; h < nh; h++) {
                int32_t p = pos0 + i;
                const float* qh = q + (int64_t)i * dim + h * hs;
                const float* kb = keys + (h / group) * hs;
                const float* vb = values + (h / group) * hs;
                float* sc = scores + ((int64_t)i * nh + h) * capacity;
                for (int32_t j = 0; j <= p; j++) sc[j] = ns_attn_score(qh, kb, j, kv_dim, hs, scale);
                ns_softmax_row(sc, p + 1);
                float* o = out + (int64_t)i * dim + h * hs;
                for (int32_t e = 0; e < hs; e++) o[e] = ns_attn_value(sc, vb, e, p, kv_dim);
                if (q8 != NULL) ns_q8_span(out, (int64_t)i * dim + h * hs, hs, q8, (int64_t)rows * dim);
            }
        }
    });
}

NS_API int32_t ns_sample_topk(ns_context* ctx, const float* x, int32_t n, int32_t k, float temperature, float u, int32_t* out) {
    NS_NEED(ctx);
    if (k < 1 || k > NS_TOPK_MAX || k > n) {
        return ns_fail(NS_E_ARGUMENT, "top-k: k = %d outside 1..%d (and at most n = %d)", k, NS_TOPK_MAX, n);
    }
    return ns_op(ctx, [=] {
        float tv[NS_TOPK_MAX];
        int ti[NS_TOPK_MAX];
        for (int r = 0; r < k; r++) {
            float best = -INFINITY;
            int at = -1;
            for (int j = 0; j < n; j++) {
                if ((r == 0 || ns_topk_after(x[j], j, tv[r - 1], ti[r - 1])) && ns_argmax_beats(x[j], j, best, at)) {
                    best = x[j];
                    at = j;
                }
            }
            tv[r] = best;
            ti[r] = at;
        }
        *out = ns_sample_sorted(tv, ti, k, temperature, u);
    });
}

NS_API int32_t ns_argmax(ns_context* ctx, const float* x, int32_t n, int32_t* out) {
    return ns_sample_topk(ctx, x, n, 1, 0.f, 0.f, out);
}

NS_API int32_t ns_advance(ns_context* ctx, int32_t* slot, int32_t by) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] { *slot += by; });
}

static int32_t ns_matmul_tiles(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    int32_t st = ns_check_f16(w);
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        std::vector<uint16_t> xh(w->cols);
        for (int32_t b = 0; b < n; b++) {
            for (int64_t c = 0; c < w->cols; c++) xh[c] = ns_float_to_half(x[(int64_t)b * w->cols + c]);
            for (int64_t r = 0; r < w->rows; r++) y[(int64_t)b * w->rows + r] = ns_epilogue_apply(e, ns_row_dot_f16(w, r, xh.data()), r);
        }
    });
}

NS_API int32_t ns_matmul_f16(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n) {
    return ns_matmul_tiles(ctx, w, x, y, n, ns_epilogue{NULL, NS_ACT_NONE});
}

NS_API int32_t ns_quantize_q8(ns_context* ctx, const float* x, int32_t rows, int32_t n, float* q8) {
    NS_NEED(ctx);
    int32_t st = ns_check_q8_width(n);
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        int64_t values = (int64_t)rows * n;
        ns_q8_span(x, 0, values, q8, values);
    });
}

static int32_t ns_matmul_dp4a(ns_context* ctx, const ns_tensor* w, const float* q8, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    int32_t st = ns_check_q8(w);
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        int64_t values = (int64_t)n * w->cols;
        const int8_t* xq = reinterpret_cast<const int8_t*>(q8);
        const float* xd = ns_q8_steps(q8, values);
        for (int32_t b = 0; b < n; b++) {
            for (int64_t r = 0; r < w->rows; r++) {
                y[(int64_t)b * w->rows + r] =
                    ns_epilogue_apply(e, ns_row_dot_q8(w, r, xq + (int64_t)b * w->cols, xd + (int64_t)b * w->cols / NS_Q8_BLOCK), r);
            }
        }
    });
}

NS_API int32_t ns_matmul_q8(ns_context* ctx, const ns_tensor* w, const float* q8, float* y, int32_t n) {
    return ns_matmul_dp4a(ctx, w, q8, y, n, ns_epilogue{NULL, NS_ACT_NONE});
}

NS_API int32_t ns_matmul_epilogue(ns_context* ctx, int32_t kind, const ns_tensor* w, const float* x, float* y, int32_t n,
                                  const float* bias, int32_t act) {
    ns_epilogue e{bias, act};
    switch (kind) {
        case NS_MATMUL_GEMV: return ns_matmul_gemv(ctx, w, x, y, n, e);
        case NS_MATMUL_F16: return ns_matmul_tiles(ctx, w, x, y, n, e);
        case NS_MATMUL_Q8: return ns_matmul_dp4a(ctx, w, x, y, n, e);
        default: return ns_fail(NS_E_ARGUMENT, "matmul_epilogue: kind %d", kind);
    }
}

/* Walks the launch's blocks (WARPS rows each, as the CUDA grid) through ns_many_pick, so the mapping is what runs here. */
NS_API int32_t ns_matmul_many(ns_context* ctx, int32_t kind, int32_t count, const ns_tensor* const* ws, const float* x,
                              float* const* ys, int32_t n) {
    NS_NEED(ctx);
    const int rows_per_block = 8;
    auto m = std::make_shared<ns_many>();
    int32_t st = ns_many_describe(kind, count, ws, ys, rows_per_block, m.get());
    if (st != NS_OK) return st;
    return ns_op(ctx, [=] {
        int64_t cols = m->t[0].cols;
        const int8_t* xq = reinterpret_cast<const int8_t*>(x);
        const float* xd = ns_q8_steps(x, n * cols);
        for (int32_t block = 0; block < m->first[m->count]; block++) {
            int i = ns_many_pick(m.get(), block);
            const ns_tensor* t = &m->t[i];
            for (int64_t r = (int64_t)(block - m->first[i]) * rows_per_block; r < t->rows && r < (int64_t)(block - m->first[i] + 1) * rows_per_block; r++) {
                for (int32_t b = 0; b < n; b++) {
                    m->y[i][(int64_t)b * t->rows + r] = kind == NS_MATMUL_Q8
                        ? ns_row_dot_q8(t, r, xq + b * cols, xd + b * cols / NS_Q8_BLOCK) : ns_row_dot(t, r, x + b * cols);
                }
            }
        }
    });
}

NS_API int32_t ns_add_norm(ns_context* ctx, float* x, const float* delta, float* out, const float* w, const float* b,
                           int32_t rows, int32_t n, float eps, float* q8) {
    NS_NEED(ctx);
    if (q8 != NULL) {
        int32_t st = ns_check_q8_width(n);
        if (st != NS_OK) return st;
    }
    return ns_op(ctx, [=] {
        for (int32_t i = 0; i < rows; i++) {
            float* xr = x + (int64_t)i * n;
            float* o = out + (int64_t)i * n;
            if (delta != NULL) {
                for (int32_t j = 0; j < n; j++) xr[j] += delta[(int64_t)i * n + j];
            }
            if (b == NULL) {
                float ss = 0.f;
                for (int32_t j = 0; j < n; j++) ss += xr[j] * xr[j];
                float inv = ns_rms_inv(ss, n, eps);
                for (int32_t j = 0; j < n; j++) o[j] = ns_rmsnorm1(xr[j], w[j], inv);
            } else {
                float s = 0.f, v = 0.f;
                for (int32_t j = 0; j < n; j++) s += xr[j];
                float mean = s / n;
                for (int32_t j = 0; j < n; j++) v += (xr[j] - mean) * (xr[j] - mean);
                float inv = ns_rms_inv(v, n, eps);
                for (int32_t j = 0; j < n; j++) o[j] = ns_layernorm1(xr[j], mean, inv, w[j], b[j]);
            }
        }
        if (q8 != NULL) ns_q8_span(out, 0, (int64_t)rows * n, q8, (int64_t)rows * n);
    });
}

NS_API int32_t ns_rope_kv_store(ns_context* ctx, float* q, float* k, const float* v, float* keys, float* values, int32_t rows,
                                int32_t nh, int32_t nkv, int32_t hs, int32_t pos, const int32_t* pos_dev, int32_t style,
                                const float* cos_t, const float* sin_t) {
    NS_NEED(ctx);
    return ns_op(ctx, [=] {
        int32_t p = ns_pos(pos, pos_dev);
        int64_t size = ns_rope_kv_store_size(q != NULL, rows, nh, nkv, hs);
        for (int64_t idx = 0; idx < size; idx++) ns_rope_kv_store1(idx, q, k, v, keys, values, rows, nh, nkv, hs, p, style, cos_t, sin_t);
    });
}

/* One product of the kind ns_time_product names. */
static int32_t ns_product(ns_context* ctx, int32_t kind, const ns_tensor* w, const float* x, float* q8, float* y, int32_t n) {
    switch (kind) {
        case NS_MATMUL_GEMV: return ns_matmul(ctx, w, x, y, n);
        case NS_MATMUL_F16: return ns_matmul_f16(ctx, w, x, y, n);
        case NS_MATMUL_Q8: return ns_matmul_q8(ctx, w, x, y, n);
        case NS_MATMUL_QUANTIZE_Q8: {
            int32_t st = ns_quantize_q8(ctx, x, n, w->cols, q8);
            return st != NS_OK ? st : ns_matmul_q8(ctx, w, q8, y, n);
        }
        default: return ns_fail(NS_E_ARGUMENT, "time_product: kind %d", kind);
    }
}

NS_API int32_t ns_time_product(ns_context* ctx, int32_t kind, const ns_tensor* const* ts, int32_t count, const float* x, float* q8,
                               float* y, int32_t n, int32_t iters, float* ms) {
    NS_NEED(ctx);
    if (count < 1 || iters < 1) {
        return ns_fail(NS_E_ARGUMENT, "time_product: %d tensors, %d iterations", count, iters);
    }
    auto t0 = ns_clock::now();
    for (int32_t i = 0; i < iters; i++) {
        int32_t st = ns_product(ctx, kind, ts[i % count], x, q8, y, n);
        if (st != NS_OK) return st;
    }
    *ms = (float)ns_ms_since(t0);
    return NS_OK;
}

NS_API int32_t ns_time_matmul(ns_context* ctx, const ns_tensor* const* ts, int32_t count, const float* x, float* y,
                              int32_t n, int32_t iters, float* ms) {
    return ns_time_product(ctx, NS_MATMUL_GEMV, ts, count, x, NULL, y, n, iters, ms);
}

NS_API int32_t ns_graph_begin(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->recording) return ns_fail(NS_E_ARGUMENT, "graph_begin: already recording");
    ctx->recording = true;
    ctx->recorded.clear();
    return NS_OK;
}

NS_API int32_t ns_graph_end(ns_context* ctx, int32_t* nodes) {
    NS_NEED(ctx);
    if (!ctx->recording) return ns_fail(NS_E_ARGUMENT, "graph_end: not recording");
    ctx->recording = false;
    ctx->graph.swap(ctx->recorded);
    ctx->recorded.clear();
    if (nodes) *nodes = (int32_t)ctx->graph.size();
    return NS_OK;
}

NS_API int32_t ns_graph_launch(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->recording || ctx->graph.empty()) {
        return ns_fail(NS_E_ARGUMENT, "no graph recorded (ns_graph_begin/ns_graph_end first)");
    }
    auto t0 = ns_clock::now();
    for (auto& op : ctx->graph) op();
    ctx->last_ms = (float)ns_ms_since(t0);
    ctx->total_ms += ctx->last_ms;
    ctx->launches++;
    return NS_OK;
}

NS_API int32_t ns_graph_time(ns_context* ctx, float* last_ms, double* total_ms, int64_t* launches) {
    NS_NEED(ctx);
    *last_ms = ctx->last_ms;
    *total_ms = ctx->total_ms;
    *launches = ctx->launches;
    return NS_OK;
}

NS_API int32_t ns_profile_begin(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->recording) return ns_fail(NS_E_ARGUMENT, "profile_begin: recording a graph");
    ctx->profiling = true;
    ctx->prof_ms = 0.0;
    ctx->prof_ops = 0;
    ctx->prof_start = ns_clock::now();
    return NS_OK;
}

NS_API int32_t ns_profile_end(ns_context* ctx, float* kernels_ms, float* span_ms, int32_t* ops) {
    NS_NEED(ctx);
    if (!ctx->profiling) return ns_fail(NS_E_ARGUMENT, "profile_end: not profiling");
    ctx->profiling = false;
    *kernels_ms = (float)ctx->prof_ms;
    *span_ms = (float)ns_ms_since(ctx->prof_start);
    *ops = ctx->prof_ops;
    return NS_OK;
}

}
