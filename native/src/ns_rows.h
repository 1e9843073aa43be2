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
    /* the GPU kernel's unit decomposition, run in order */
    const ns_mixed_row* m = &t->mrows[r];
    const uint8_t* row = t->codes + m->code_off;
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

#endif
