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

/*
 * RoPE: rotates pair idx of rows·heads·(hs/2) pairs (row i at position pos + i) by the cos/sin tables. Returns the
 * offset in v of the pair's first element; the second is *second (row i of the rotated vectors starts at i·heads·hs,
 * which is where the cache store puts row i after the position's rows).
 */
NS_HD int64_t ns_rope_pair(float* v, int64_t idx, int heads, int hs, int pos, int style, const float* ct, const float* st,
                           int64_t* second = NULL) {
    int half = hs / 2;
    int j = (int)(idx % half), h = (int)(idx / half % heads);
    int64_t i = idx / half / heads, t = (int64_t)(pos + i) * half + j;
    int64_t a = (i * heads + h) * hs + (style == NS_ROPE_INTERLEAVED ? 2 * j : j);
    int64_t c = a + (style == NS_ROPE_INTERLEAVED ? 1 : half);
    float cs = ct[t], sn = st[t], v0 = v[a], v1 = v[c];
    v[a] = v0 * cs - v1 * sn;
    v[c] = v0 * sn + v1 * cs;
    if (second != NULL) *second = c;
    return a;
}

/*
 * Element idx of the fused RoPE-and-store (ns_rope_kv_store): the first rows·nh·hs/2 indices rotate q's pairs, the
 * next rows·nkv·hs/2 rotate k's pairs and store both elements in the cache, the last rows·kv_dim store v.
 */
NS_HD void ns_rope_kv_store1(int64_t idx, float* q, float* k, const float* v, float* keys, float* values, int rows, int nh,
                             int nkv, int hs, int pos, int style, const float* ct, const float* st) {
    int64_t pq = q != NULL ? (int64_t)rows * nh * (hs / 2) : 0, pk = (int64_t)rows * nkv * (hs / 2);
    int64_t at = (int64_t)pos * nkv * hs;
    if (idx < pq) {
        ns_rope_pair(q, idx, nh, hs, pos, style, ct, st);
    } else if (idx < pq + pk) {
        int64_t c;
        int64_t a = ns_rope_pair(k, idx - pq, nkv, hs, pos, style, ct, st, &c);
        keys[at + a] = k[a];
        keys[at + c] = k[c];
    } else if (idx < pq + pk + (int64_t)rows * nkv * hs) {
        int64_t e = idx - pq - pk;
        values[at + e] = v[e];
    }
}

/* Total elements of ns_rope_kv_store1's index space. */
NS_HD int64_t ns_rope_kv_store_size(bool has_q, int rows, int nh, int nkv, int hs) {
    return (has_q ? (int64_t)rows * nh * (hs / 2) : 0) + (int64_t)rows * nkv * (hs / 2) + (int64_t)rows * nkv * hs;
}

NS_HD float ns_gelu_tanh1(float v) {
    return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

NS_HD float ns_swiglu1(float g, float u) {
    return g / (1.f + expf(-g)) * u;
}

/* What a product kernel applies to a row's sum before storing it: the bias, then the activation. */
typedef struct {
    const float* bias;
    int32_t act;
} ns_epilogue;

NS_HD float ns_epilogue_apply(ns_epilogue e, float acc, int64_t r) {
    if (e.bias != NULL) acc += e.bias[r];
    return e.act == NS_ACT_GELU ? ns_gelu_tanh1(acc) : acc;
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

/* Quantizes one block of NS_Q8_BLOCK values (the host's loop; the GPU takes the maximum with a warp shuffle). */
NS_HD void ns_q8_block(const float* x, int8_t* q, float* d) {
    float amax = 0.f;
    for (int i = 0; i < NS_Q8_BLOCK; i++) amax = fmaxf(amax, fabsf(x[i]));
    float step = ns_q8_step(amax), inv = ns_q8_inverse(step);
    for (int i = 0; i < NS_Q8_BLOCK; i++) q[i] = ns_q8_code(x[i], inv);
    *d = step;
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


/*
 * Several products of one input in one launch (ns_matmul_many): matrix i owns the blocks first[i] ..
 * first[i + 1] of the grid, a block per rows_per_block rows. Tensors are held by value (the kernel's parameter).
 */
typedef struct {
    ns_tensor t[NS_MANY_MAX];
    float* y[NS_MANY_MAX];
    int32_t first[NS_MANY_MAX + 1];
    int32_t count;
} ns_many;

/* Which matrix block `block` of a many-launch belongs to. */
NS_HD int ns_many_pick(const ns_many* m, int32_t block) {
    int i = 0;
    while (i + 1 < m->count && block >= m->first[i + 1]) i++;
    return i;
}

/* ---- products on q8 activations (dp4a) and on fp16 tiles, per unit: shared by the kernels and the host loops ---- */

/* The steps of a q8 buffer of `values` values (they follow the codes). */
NS_HD float* ns_q8_steps(float* q8, int64_t values) {
    return reinterpret_cast<float*>(reinterpret_cast<int8_t*>(q8) + values);
}

NS_HD const float* ns_q8_steps(const float* q8, int64_t values) {
    return reinterpret_cast<const float*>(reinterpret_cast<const int8_t*>(q8) + values);
}

/* Values first..first+count of x (multiples of NS_Q8_BLOCK) into q8, a buffer of `values` values: the host's loop. */
NS_HD void ns_q8_span(const float* x, int64_t first, int64_t count, float* q8, int64_t values) {
    for (int64_t at = first; at < first + count; at += NS_Q8_BLOCK) {
        ns_q8_block(x + at, reinterpret_cast<int8_t*>(q8) + at, ns_q8_steps(q8, values) + at / NS_Q8_BLOCK);
    }
}

/* The 64/BITS int8 inputs of a unit as words (8-, 16- or 32-byte aligned: a unit starts at a multiple of its size). */
template <int BITS>
NS_HD void ns_q8_words(const int8_t* xq, uint32_t* w) {
#ifdef __CUDA_ARCH__
    if (BITS == 8) {
        uint2 a = __ldg(reinterpret_cast<const uint2*>(xq));
        w[0] = a.x; w[1] = a.y;
    } else {
        for (int i = 0; i < 4 / BITS; i++) { /* 16 bytes each */
            uint4 a = __ldg(reinterpret_cast<const uint4*>(xq) + i);
            w[4 * i] = a.x; w[4 * i + 1] = a.y; w[4 * i + 2] = a.z; w[4 * i + 3] = a.w;
        }
    }
#else
    memcpy(w, xq, 64 / BITS);
#endif
}

/* Unit `unit` of row r (words lo, hi) against q8 inputs: s·d·Σ(u − z)·q, the integer sum exact. */
template <int BITS>
NS_HD float ns_q8_unit_term(const ns_tensor* t, int64_t r, int64_t unit, uint32_t lo, uint32_t hi, const int8_t* xq,
                            const float* xd) {
    const int per = 64 / BITS;
    int64_t first = unit * per, gi = first / t->g;
    uint32_t w[64 / BITS / 4];
    ns_q8_words<BITS>(xq + first, w);
    int32_t dot = ns_q8_unit_dot<BITS>(lo, hi, w, (int32_t)ns_uniform_zero(t, r, gi), ns_q8_unit_sum<BITS>(w));
    return ns_uniform_scale(t, r, gi) * xd[first / NS_Q8_BLOCK] * (float)dot;
}

/* Chunk term of width W (both units of q[0..3]) at columns col.. against q8 inputs: Σ over the units of d·Σ(u − z)·q. */
template <int W>
NS_HD float ns_q8_mixed_units(const uint32_t* q, int col, int32_t z, const int8_t* xq, const float* xd) {
    const int uc = 64 / W;
    float acc = 0.f;
    for (int half = 0; half < 2; half++) {
        uint32_t w[16 / W];
        ns_q8_words<W>(xq + col + half * uc, w);
        int32_t dot = ns_q8_unit_dot<W>(q[2 * half], q[2 * half + 1], w, z, ns_q8_unit_sum<W>(w));
        acc += xd[(col + half * uc) / NS_Q8_BLOCK] * (float)dot; /* a unit lies in one block of 32 inputs */
    }
    return acc;
}

/* The chunk of mixed row r placed at p (ns_mixed_chunk; groups of a multiple of 64) against q8 inputs: the dp4a
   kernel's lanes and the host's q8 row dot both call it. */
NS_HD float ns_q8_mixed_chunk_term(const ns_tensor* t, const ns_mixed_row* m, int64_t r, ns_mixed_place p, const uint32_t* q,
                                   const int8_t* xq, const float* xd) {
    int32_t z = (int32_t)ns_mixed_zero(t, m, r, p.k, p.w);
    float d = p.w == 8 ? ns_q8_mixed_units<8>(q, p.col, z, xq, xd)
            : p.w == 4 ? ns_q8_mixed_units<4>(q, p.col, z, xq, xd) : ns_q8_mixed_units<2>(q, p.col, z, xq, xd);
    return ns_f16_at(t->scales, 2 * (r * t->G + p.k)) * d;
}

/* The outliers' term of mixed row r against q8 inputs (each input its code times its block's step). */
NS_HD float ns_q8_mixed_outlier_term(const ns_tensor* t, int64_t r, const int8_t* xq, const float* xd, int first, int step) {
    return ns_mixed_outlier_sum(t, r, [&](int col) { return (float)xq[col] * xd[col / NS_Q8_BLOCK]; }, first, step);
}

/* Unit `unit` of row r decoded to fp16 at out[0..64/BITS) (BITS = 0: NF4): the prefill tile's decode. */
template <int BITS>
NS_HD void ns_unit_tile(const ns_tensor* t, int64_t r, int64_t unit, uint32_t lo, uint32_t hi, uint16_t* out) {
    const int per = 64 / (BITS == 0 ? 4 : BITS);
    int64_t gi = unit * per / t->g;
    float z = BITS == 0 ? 0.f : ns_uniform_zero(t, r, gi);
    ns_unit_to_half<BITS>(lo, hi, ns_uniform_scale(t, r, gi), z, t->codebook, out);
}


/* Checks ns_matmul_many's arguments and fills the launch description (blocks of rows_per_block rows). */
static int32_t ns_many_describe(int32_t kind, int32_t count, const ns_tensor* const* ws, float* const* ys, int rows_per_block,
                                ns_many* m) {
    if (count < 1 || count > NS_MANY_MAX || (kind != NS_MATMUL_GEMV && kind != NS_MATMUL_Q8)) {
        return ns_fail(NS_E_ARGUMENT, "matmul_many: %d products of kind %d (1..%d, GEMV or q8)", count, kind, NS_MANY_MAX);
    }
    memset(m, 0, sizeof *m);
    m->count = count;
    for (int i = 0; i < count; i++) {
        const ns_tensor* w = ws[i];
        if ((w->type != NS_INT8 && w->type != NS_INT4 && w->type != NS_INT2) || w->type != ws[0]->type || w->cols != ws[0]->cols) {
            return ns_fail(NS_E_UNSUPPORTED, "matmul_many: product %d is type %d with %d columns; all must be int8, int4 or int2 of one type and width",
                           i, w->type, w->cols);
        }
        m->t[i] = *w;
        m->y[i] = ys[i];
        m->first[i + 1] = m->first[i] + (w->rows + rows_per_block - 1) / rows_per_block;
    }
    return NS_OK;
}

#endif
