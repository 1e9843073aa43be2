/*
 * Whole-row dot products and row decodes over the shared decode code: the host library's kernels, and
 * the reference the GPU kernels' lane decomposition must reproduce. Pointers in t are host memory here.
 */
#ifndef NS_ROWS_H
#define NS_ROWS_H

#include "ns_ops.h"

static float ns_group_dot_bits(int bits, const uint8_t* codes, int g, const float* x, const float* cb, float s, float z) {
    switch (bits) {
        case 8: return ns_group_dot<8>(codes, g, x, cb, s, z);
        case 4: return ns_group_dot<4>(codes, g, x, cb, s, z);
        case 2: return ns_group_dot<2>(codes, g, x, cb, s, z);
        default: return ns_group_dot<0>(codes, g, x, cb, s, z); /* NF4 */
    }
}

/* W[r]·x */
static float ns_row_dot(const ns_tensor* t, int64_t r, const float* x) {
    float sum = 0.f;
    if (t->type == NS_F32) {
        const float* w = (const float*)(t->codes + r * t->row_bytes);
        for (int64_t c = 0; c < t->cols; c++) sum += w[c] * x[c];
        return sum;
    }
    if (t->type == NS_F16) {
        const uint8_t* w = t->codes + r * t->row_bytes;
        for (int64_t c = 0; c < t->cols; c++) sum += ns_f16_at(w, 2 * c) * x[c];
        return sum;
    }
    if (t->type != NS_MIXED) {
        int bits = t->type == NS_NF4 ? 0 : t->bits, wbits = t->bits;
        const uint8_t* row = t->codes + r * t->row_bytes;
        for (int64_t gi = 0; gi < t->G; gi++) {
            float z = t->type == NS_NF4 ? 0.f : ns_uniform_zero(t, r, gi);
            sum += ns_group_dot_bits(bits, row + gi * t->g * wbits / 8, t->g, x + gi * t->g, t->codebook,
                                     ns_uniform_scale(t, r, gi), z);
        }
        return sum;
    }
    /* the GPU kernels' decomposition, run in order: 16-byte chunks where groups are multiples of 64, else units */
    const ns_mixed_row* m = &t->mrows[r];
    const uint8_t* row = t->codes + m->code_off;
    if (t->g % 64 == 0) {
        for (int c = 0; c < (int)(ns_mixed_units(t, m) / 2); c++) {
            uint32_t q[4];
            for (int i = 0; i < 4; i++) q[i] = ns_u32_at(row + 16 * c + 4 * i);
            sum += ns_mixed_chunk_term(t, m, r, ns_mixed_chunk(t, m, r, c), q, x);
        }
        return sum + ns_mixed_outlier_term(t, r, x, 0, 1);
    }
    for (int64_t u = 0; u < ns_mixed_units(t, m); u++) {
        sum += ns_mixed_unit_term(t, m, r, u, ns_u32_at(row + 8 * u), ns_u32_at(row + 8 * u + 4), x);
    }
    sum += ns_mixed_outlier_term(t, r, x, 0, 1);
    return sum;
}

/* out[0..cols) = row r, dequantized */
static void ns_row_decode(const ns_tensor* t, int64_t r, float* out) {
    for (int64_t c = 0; c < t->cols; c++) ns_decode_weight(t, r, c, out);
    ns_decode_outliers(t, r, out);
}


/* Words of unit u of a row of codes. */
static inline void ns_unit_words(const uint8_t* row, int64_t u, uint32_t* lo, uint32_t* hi) {
    *lo = ns_u32_at(row + 8 * u);
    *hi = ns_u32_at(row + 8 * u + 4);
}

/*
 * W[r]·x on fp16 tiles, as the prefill kernel computes it: the row decoded unit by unit (ns_unit_tile), x in fp16
 * (xh), each product exact in float32, summed in float32 (here in order; the tensor cores in their own order).
 */
template <int BITS>
static float ns_row_dot_f16_t(const ns_tensor* t, int64_t r, const uint16_t* xh) {
    const int per = 64 / (BITS == 0 ? 4 : BITS);
    const uint8_t* row = t->codes + r * t->row_bytes;
    uint16_t w[32];
    float sum = 0.f;
    for (int64_t u = 0; u < t->row_bytes / 8; u++) {
        uint32_t lo, hi;
        ns_unit_words(row, u, &lo, &hi);
        ns_unit_tile<BITS>(t, r, u, lo, hi, w);
        for (int i = 0; i < per; i++) sum += ns_half_to_float(w[i]) * ns_half_to_float(xh[u * per + i]);
    }
    return sum;
}

static float ns_row_dot_f16(const ns_tensor* t, int64_t r, const uint16_t* xh) {
    switch (t->type) {
        case NS_INT8: return ns_row_dot_f16_t<8>(t, r, xh);
        case NS_INT4: return ns_row_dot_f16_t<4>(t, r, xh);
        case NS_INT2: return ns_row_dot_f16_t<2>(t, r, xh);
        default: return ns_row_dot_f16_t<0>(t, r, xh); /* NF4 */
    }
}

/* W[r]·x on q8 inputs (codes xq, steps xd of this vector), unit by unit as the dp4a kernel's lanes do. */
template <int BITS>
static float ns_row_dot_q8_t(const ns_tensor* t, int64_t r, const int8_t* xq, const float* xd) {
    const uint8_t* row = t->codes + r * t->row_bytes;
    float sum = 0.f;
    for (int64_t u = 0; u < t->row_bytes / 8; u++) {
        uint32_t lo, hi;
        ns_unit_words(row, u, &lo, &hi);
        sum += ns_q8_unit_term<BITS>(t, r, u, lo, hi, xq, xd);
    }
    return sum;
}

/* Mixed row r on q8 inputs, chunk by chunk as the dp4a kernel's lanes take them (groups of a multiple of 64). */
static float ns_row_dot_q8_mixed(const ns_tensor* t, int64_t r, const int8_t* xq, const float* xd) {
    const ns_mixed_row* m = &t->mrows[r];
    const uint8_t* row = t->codes + m->code_off;
    float sum = 0.f;
    for (int c = 0; c < (int)(ns_mixed_units(t, m) / 2); c++) {
        uint32_t q[4];
        for (int i = 0; i < 4; i++) q[i] = ns_u32_at(row + 16 * c + 4 * i);
        sum += ns_q8_mixed_chunk_term(t, m, r, ns_mixed_chunk(t, m, r, c), q, xq, xd);
    }
    return sum + ns_q8_mixed_outlier_term(t, r, xq, xd, 0, 1);
}

static float ns_row_dot_q8(const ns_tensor* t, int64_t r, const int8_t* xq, const float* xd) {
    switch (t->type) {
        case NS_MIXED: return ns_row_dot_q8_mixed(t, r, xq, xd);
        case NS_INT8: return ns_row_dot_q8_t<8>(t, r, xq, xd);
        case NS_INT4: return ns_row_dot_q8_t<4>(t, r, xq, xd);
        default: return ns_row_dot_q8_t<2>(t, r, xq, xd);
    }
}

#endif
