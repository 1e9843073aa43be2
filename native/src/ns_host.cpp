/*
 * The C ABI on the host: "device" memory is heap memory and each operation is a plain loop over the
 * shared decode code. It is what JUnit runs where there is no GPU: the same entry points, layouts and
 * arithmetic as the CUDA library, without its parallel decomposition.
 */
#include "ns_rows.h"

#include <math.h>
#include <stdlib.h>
#include <chrono>
#include <unordered_map>

struct ns_context {
    std::unordered_map<void*, int64_t> allocations;
    int64_t used = 0;
};

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

NS_API int32_t ns_matmul(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n) {
    NS_NEED(ctx);
    for (int32_t b = 0; b < n; b++) {
        for (int64_t r = 0; r < w->rows; r++) {
            y[(int64_t)b * w->rows + r] = ns_row_dot(w, r, x + (int64_t)b * w->cols);
        }
    }
    return NS_OK;
}

NS_API int32_t ns_embed(ns_context* ctx, const ns_tensor* w, int32_t row, const int32_t* row_dev, float* out) {
    NS_NEED(ctx);
    int32_t r = row_dev ? *row_dev : row;
    if (r < 0 || r >= w->rows) {
        return ns_fail(NS_E_ARGUMENT, "embedding row %d outside 0..%d", r, w->rows - 1);
    }
    ns_row_decode(w, r, out);
    return NS_OK;
}

NS_API int32_t ns_rmsnorm(ns_context* ctx, float* out, const float* x, const float* w, int32_t rows, int32_t n, float eps) {
    NS_NEED(ctx);
    for (int32_t i = 0; i < rows; i++) {
        const float* xr = x + (int64_t)i * n;
        float ss = 0.f;
        for (int32_t j = 0; j < n; j++) ss += xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / n + eps));
        for (int32_t j = 0; j < n; j++) out[(int64_t)i * n + j] = w[j] * (inv * xr[j]);
    }
    return NS_OK;
}

NS_API int32_t ns_layernorm(ns_context* ctx, float* out, const float* x, const float* w, const float* b, int32_t rows,
                            int32_t n, float eps) {
    NS_NEED(ctx);
    for (int32_t i = 0; i < rows; i++) {
        const float* xr = x + (int64_t)i * n;
        double mean = 0, var = 0;
        for (int32_t j = 0; j < n; j++) mean += xr[j];
        mean /= n;
        for (int32_t j = 0; j < n; j++) var += (xr[j] - mean) * (xr[j] - mean);
        var /= n;
        float inv = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
        for (int32_t j = 0; j < n; j++) out[(int64_t)i * n + j] = (xr[j] - m) * inv * w[j] + b[j];
    }
    return NS_OK;
}

NS_API int32_t ns_rope(ns_context* ctx, float* v, int32_t rows, int32_t heads, int32_t hs, int32_t pos, int32_t style,
                       const float* cos_t, const float* sin_t) {
    NS_NEED(ctx);
    int32_t half = hs / 2, step = style == NS_ROPE_INTERLEAVED ? 2 : 1, partner = style == NS_ROPE_INTERLEAVED ? 1 : half;
    for (int32_t i = 0; i < rows; i++) {
        int64_t t = (int64_t)(pos + i) * half;
        for (int32_t h = 0; h < heads; h++) {
            float* base = v + ((int64_t)i * heads + h) * hs;
            for (int32_t j = 0; j < half; j++) {
                float* a = base + step * j;
                float* c = a + partner;
                float cs = cos_t[t + j], sn = sin_t[t + j], v0 = *a, v1 = *c;
                *a = v0 * cs - v1 * sn;
                *c = v0 * sn + v1 * cs;
            }
        }
    }
    return NS_OK;
}

NS_API int32_t ns_add(ns_context* ctx, float* y, const float* x, int64_t n) {
    NS_NEED(ctx);
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
    return NS_OK;
}

NS_API int32_t ns_add_bias(ns_context* ctx, float* x, const float* bias, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    for (int64_t i = 0; i < (int64_t)rows * n; i++) x[i] += bias[i % n];
    return NS_OK;
}

NS_API int32_t ns_copy(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    memmove(dst, src, 4 * (size_t)n);
    return NS_OK;
}

NS_API int32_t ns_gelu_tanh(ns_context* ctx, float* x, int64_t n) {
    NS_NEED(ctx);
    const float k = (float)sqrt(2.0 / M_PI);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.f + (float)tanh(k * (v + 0.044715f * v * v * v)));
    }
    return NS_OK;
}

NS_API int32_t ns_swiglu(ns_context* ctx, float* g, const float* u, int64_t n) {
    NS_NEED(ctx);
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.f + (float)exp(-g[i])) * u[i];
    return NS_OK;
}

static void ns_softmax_row(float* x, int32_t n) {
    float max = -INFINITY, sum = 0.f;
    for (int32_t i = 0; i < n; i++) max = fmaxf(max, x[i]);
    for (int32_t i = 0; i < n; i++) {
        x[i] = (float)exp(x[i] - max);
        sum += x[i];
    }
    for (int32_t i = 0; i < n; i++) x[i] *= 1.f / sum;
}

NS_API int32_t ns_softmax(ns_context* ctx, float* x, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    for (int32_t i = 0; i < rows; i++) ns_softmax_row(x + (int64_t)i * n, n);
    return NS_OK;
}

NS_API int32_t ns_kv_store(ns_context* ctx, float* keys, float* values, const float* k, const float* v, int32_t rows,
                           int32_t pos, int32_t kv_dim) {
    NS_NEED(ctx);
    memcpy(keys + (int64_t)pos * kv_dim, k, 4 * (size_t)rows * kv_dim);
    memcpy(values + (int64_t)pos * kv_dim, v, 4 * (size_t)rows * kv_dim);
    return NS_OK;
}

NS_API int32_t ns_attention(ns_context* ctx, const float* q, const float* keys, const float* values, float* out,
                            float* scores, int32_t rows, int32_t pos, int32_t nh, int32_t nkv, int32_t hs, int32_t capacity) {
    NS_NEED(ctx);
    int32_t kv_dim = nkv * hs, dim = nh * hs, group = nh / nkv;
    float scale = (float)(1.0 / sqrt((double)hs));
    for (int32_t i = 0; i < rows; i++) {
        for (int32_t h = 0; h < nh; h++) {
            int32_t p = pos + i;
            const float* qh = q + (int64_t)i * dim + h * hs;
            const float* kbase = keys + (h / group) * hs;
            const float* vbase = values + (h / group) * hs;
            float* sc = scores + ((int64_t)i * nh + h) * capacity;
            for (int32_t j = 0; j <= p; j++) {
                float d = 0.f;
                for (int32_t e = 0; e < hs; e++) d += qh[e] * kbase[(int64_t)j * kv_dim + e];
                sc[j] = d * scale;
            }
            ns_softmax_row(sc, p + 1);
            float* o = out + (int64_t)i * dim + h * hs;
            for (int32_t e = 0; e < hs; e++) o[e] = 0.f;
            for (int32_t j = 0; j <= p; j++) {
                for (int32_t e = 0; e < hs; e++) o[e] += sc[j] * vbase[(int64_t)j * kv_dim + e];
            }
        }
    }
    return NS_OK;
}

NS_API int32_t ns_argmax(ns_context* ctx, const float* x, int32_t n, int32_t* out) {
    NS_NEED(ctx);
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++) {
        if (x[i] > x[best]) best = i;
    }
    *out = best;
    return NS_OK;
}

NS_API int32_t ns_time_matmul(ns_context* ctx, const ns_tensor* const* ts, int32_t count, const float* x, float* y,
                              int32_t n, int32_t iters, float* ms) {
    NS_NEED(ctx);
    if (count < 1 || iters < 1) {
        return ns_fail(NS_E_ARGUMENT, "time_matmul: %d tensors, %d iterations", count, iters);
    }
    auto t0 = std::chrono::steady_clock::now();
    for (int32_t i = 0; i < iters; i++) ns_matmul(ctx, ts[i % count], x, y, n);
    *ms = (float)std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return NS_OK;
}

/* The host runs each operation as it is called; graphs are a CUDA feature. */
NS_API int32_t ns_graph_begin(ns_context* ctx) {
    NS_NEED(ctx);
    return ns_fail(NS_E_UNSUPPORTED, "the host library does not record graphs");
}

NS_API int32_t ns_graph_end(ns_context* ctx) {
    NS_NEED(ctx);
    return ns_fail(NS_E_UNSUPPORTED, "the host library does not record graphs");
}

NS_API int32_t ns_graph_launch(ns_context* ctx) {
    NS_NEED(ctx);
    return ns_fail(NS_E_UNSUPPORTED, "the host library does not record graphs");
}

}
