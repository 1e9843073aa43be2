/*
 * The per-element arithmetic of the forward pass's operations, written once for both libraries: every
 * function is __host__ __device__ (NS_HD). The host library calls them in loops over the index; the CUDA
 * kernels call them once per thread (or per block row, with the reductions done in shared memory).
 * So the host build, which JUnit tests against the Java backend, runs the arithmetic the GPU runs.
 */
#ifndef NS_OPS_H
#define NS_OPS_H

#include "ns_common.h"

#include <math.h>

/* The position an operation runs at: the device slot when given (a replayed graph), else the argument. */
NS_HD int32_t ns_pos(int32_t pos, const int32_t* pos_dev) {
    return pos_dev != NULL ? *pos_dev : pos;
}

/* RoPE: rotates pair idx of rows·heads·(hs/2) pairs (row i at position pos + i) by the cos/sin tables. */
NS_HD void ns_rope_pair(float* v, int64_t idx, int heads, int hs, int pos, int style, const float* ct, const float* st) {
    int half = hs / 2;
    int j = (int)(idx % half), h = (int)(idx / half % heads);
    int64_t i = idx / half / heads, t = (int64_t)(pos + i) * half + j;
    float* base = v + (i * heads + h) * hs;
    float* a = base + (style == NS_ROPE_INTERLEAVED ? 2 * j : j);
    float* c = a + (style == NS_ROPE_INTERLEAVED ? 1 : half);
    float cs = ct[t], sn = st[t], v0 = *a, v1 = *c;
    *a = v0 * cs - v1 * sn;
    *c = v0 * sn + v1 * cs;
}

NS_HD float ns_gelu_tanh1(float v) {
    return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

NS_HD float ns_swiglu1(float g, float u) {
    return g / (1.f + expf(-g)) * u;
}

/* 1/sqrt(mean(x²) + eps) from the sum of squares, and one output of RMSNorm and of LayerNorm. */
NS_HD float ns_rms_inv(float ss, int n, float eps) {
    return 1.f / sqrtf(ss / n + eps);
}

NS_HD float ns_rmsnorm1(float x, float w, float inv) {
    return w * (inv * x);
}

NS_HD float ns_layernorm1(float x, float mean, float inv, float w, float b) {
    return (x - mean) * inv * w + b;
}

/* Attention: the scaled score of query head qh against cached key j, and output element e (scores sc over 0..p). */
NS_HD float ns_attn_score(const float* qh, const float* kb, int64_t j, int kv_dim, int hs, float scale) {
    float d = 0.f;
    for (int e = 0; e < hs; e++) d += qh[e] * kb[j * kv_dim + e];
    return d * scale;
}

NS_HD float ns_attn_value(const float* sc, const float* vb, int e, int p, int kv_dim) {
    float acc = 0.f;
    for (int j = 0; j <= p; j++) acc += sc[j] * vb[(int64_t)j * kv_dim + e];
    return acc;
}

/* Argmax's order: (v, i) beats (best, at) when larger, or equal and earlier (the first maximum wins). */
NS_HD bool ns_argmax_beats(float v, int i, float best, int at) {
    return v > best || (v == best && i < at) || at < 0;
}

/* Top-k picks in the order value descending, then index ascending: whether (v, i) comes after the pick (pv, pi). */
NS_HD bool ns_topk_after(float v, int i, float pv, int pi) {
    return v < pv || (v == pv && i > pi);
}

#define NS_TOPK_MAX 64

/*
 * Samples one of the k best (values v descending, indices idx) with probabilities softmax(v / t), by the inverse
 * CDF at u in [0, 1); k = 1 or t <= 0 is greedy.
 */
NS_HD int ns_sample_sorted(const float* v, const int* idx, int k, float t, float u) {
    if (k == 1 || t <= 0.f) return idx[0];
    float sum = 0.f;
    for (int j = 0; j < k; j++) sum += expf((v[j] - v[0]) / t);
    float target = u * sum, acc = 0.f;
    for (int j = 0; j < k; j++) {
        acc += expf((v[j] - v[0]) / t);
        if (target < acc) return idx[j];
    }
    return idx[k - 1];
}

/*
 * Weight c of row r of t, dequantized, written where it belongs in out (for mixed rows, c indexes the stored
 * order and lands at its logical column). Outliers are added afterwards by ns_decode_outliers.
 */
NS_HD void ns_decode_weight(const ns_tensor* t, int64_t r, int64_t c, float* out) {
    const uint8_t* base = t->codes + r * t->row_bytes;
    if (t->type == NS_F32) {
        out[c] = reinterpret_cast<const float*>(base)[c];
    } else if (t->type == NS_F16) {
        out[c] = ns_f16_at(base, 2 * c);
    } else if (t->type != NS_MIXED) {
        int u = ns_decode_code(base, t->bits, c);
        float s = ns_uniform_scale(t, r, c / t->g);
        out[c] = t->type == NS_NF4 ? s * t->codebook[u] : s * ((float)u - ns_uniform_zero(t, r, c / t->g));
    } else {
        const ns_mixed_row* m = &t->mrows[r];
        int k = (int)(c / t->g);
        float s, z;
        int bits;
        int64_t code;
        ns_mixed_group(t, m, r, k, &s, &z, &bits, &code);
        out[(int64_t)t->order[r * t->G + k] * t->g + c % t->g] = s * ((float)ns_decode_code(t->codes + code, bits, c % t->g) - z);
    }
}

NS_HD void ns_decode_outliers(const ns_tensor* t, int64_t r, float* out) {
    if (t->outliers == NULL) return;
    for (int64_t k = t->outlier_rows[r]; k < t->outlier_rows[r + 1]; k++) {
        out[t->outliers[4 * k] | (t->outliers[4 * k + 1] << 8)] += ns_f16_at(t->outliers, 4 * k + 2);
    }
}

#endif
