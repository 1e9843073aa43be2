/*
 * What both libraries share on the host side: the tensor record, errors, the checks of an uploaded
 * tensor's sections, and the per-row index of mixed matrices (built once at upload from the map).
 */
#ifndef NS_COMMON_H
#define NS_COMMON_H

#include "nashswarm.h"
#include "nashswarm_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <vector>

/* A matrix in the library's memory (device or host); pointers other than the index may be NULL when unused. */
struct ns_tensor {
    int32_t type, rows, cols, g, G, per_tensor, asym, bits;
    int64_t row_bytes;          /* uniform types: bytes of one row of codes (dense: of values) */
    uint8_t* codes;
    uint8_t* scales;
    uint8_t* zeros;
    ns_mixed_row* mrows;        /* mixed: per row */
    uint16_t* order;            /* mixed: logical group index of each stored group, rows·G */
    int32_t* outlier_rows;      /* mixed: rows + 1 */
    uint8_t* outliers;          /* mixed: (uint16 column, fp16 correction) pairs */
    int64_t g8, g4;             /* mixed: 8- and 4-bit groups of the whole tensor */
    float codebook[16];
    int64_t stored_bytes, index_bytes;
};

static thread_local char ns_error[512];

static int32_t ns_fail(int32_t status, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ns_error, sizeof ns_error, fmt, ap);
    va_end(ap);
    return status;
}

static int ns_type_bits(int32_t type) {
    switch (type) {
        case NS_INT8: return 8;
        case NS_INT4: case NS_NF4: return 4;
        case NS_INT2: return 2;
        default: return 0;
    }
}

/* The mixed index, built on the host from the map. */
struct ns_mixed_index {
    std::vector<ns_mixed_row> rows;
    std::vector<uint16_t> order;
    int64_t codes_bytes = 0, g8 = 0, g4 = 0, g2 = 0;
};

#define NS_CHECK_SECTION(name, have, want)                                                              \
    if ((have) != (want))                                                                               \
        return ns_fail(NS_E_ARGUMENT, "%s %dx%d: section '%s' has %lld bytes, expected %lld", what,    \
                       d->rows, d->cols, name, (long long)(have), (long long)(want))

/*
 * Checks the description (shape, group size, every section's size) and fills t's shape fields; for a
 * mixed matrix also builds its index. Pointers in t are left to the caller (they live where it uploads).
 */
static int32_t ns_describe(const ns_tensor_desc* d, ns_tensor* t, ns_mixed_index* mix) {
    static const char* names[] = {"f32", "f16", "int8", "int4", "int2", "nf4", "mixed"};
    if (d == NULL || d->type < NS_F32 || d->type > NS_MIXED) {
        return ns_fail(NS_E_UNSUPPORTED, "unsupported tensor type %d", d == NULL ? -1 : d->type);
    }
    const char* what = names[d->type];
    if (d->rows < 1 || d->cols < 1 || d->data == NULL) {
        return ns_fail(NS_E_ARGUMENT, "%s %dx%d: empty shape or no data", what, d->rows, d->cols);
    }
    memset(t, 0, sizeof *t);
    t->type = d->type;
    t->rows = d->rows;
    t->cols = d->cols;
    t->per_tensor = d->per_tensor;
    t->asym = d->zeros != NULL;
    t->bits = ns_type_bits(d->type);
    int64_t rows = d->rows, cols = d->cols;
    if (d->type == NS_F32 || d->type == NS_F16) {
        t->row_bytes = cols * (d->type == NS_F32 ? 4 : 2);
        NS_CHECK_SECTION("data", d->data_bytes, rows * t->row_bytes);
        t->stored_bytes = d->data_bytes;
        return NS_OK;
    }
    int64_t g = d->group_size;
    if (g < 32 || g % 32 != 0 || cols % g != 0) {
        return ns_fail(NS_E_ARGUMENT, "%s %dx%d: group size %lld must be a multiple of 32 dividing the columns",
                       what, d->rows, d->cols, (long long)g);
    }
    t->g = (int32_t)g;
    t->G = (int32_t)(cols / g);
    int64_t groups = d->per_tensor ? 1 : rows * t->G;
    if (d->scales == NULL) {
        return ns_fail(NS_E_ARGUMENT, "%s %dx%d: section 'scales' is missing", what, d->rows, d->cols);
    }
    NS_CHECK_SECTION("scales", d->scales_bytes, 2 * groups);
    if (d->type == NS_NF4) {
        if (d->codebook == NULL || d->zeros != NULL) {
            return ns_fail(NS_E_ARGUMENT, "nf4: needs the codebook and has no zeros");
        }
        memcpy(t->codebook, d->codebook, sizeof t->codebook);
    }
    if (d->type != NS_MIXED) {
        t->row_bytes = cols * t->bits / 8;
        NS_CHECK_SECTION("codes", d->data_bytes, rows * t->row_bytes);
        if (d->zeros != NULL) {
            NS_CHECK_SECTION("zeros", d->zeros_bytes, (groups * t->bits + 7) / 8);
        }
        t->stored_bytes = d->data_bytes + d->scales_bytes + (d->zeros ? d->zeros_bytes : 0);
        return NS_OK;
    }
    if (d->per_tensor) {
        return ns_fail(NS_E_UNSUPPORTED, "mixed: per-tensor scales are not a mixed layout");
    }
    int64_t G = t->G;
    NS_CHECK_SECTION("map", d->map_bytes, (rows * G * 2 + 7) / 8);
    const uint8_t* map = (const uint8_t*)d->map;
    mix->rows.resize(rows);
    mix->order.resize(rows * G);
    int64_t code = 0, pre8 = 0, pre4 = 0;
    std::vector<uint16_t> by8, by4, by2;
    for (int64_t r = 0; r < rows; r++) {
        by8.clear();
        by4.clear();
        by2.clear();
        for (int64_t gi = 0; gi < G; gi++) {
            int64_t i = r * G + gi;
            int w = (map[i >> 2] >> (2 * (i & 3))) & 3;
            if (w == 3) {
                return ns_fail(NS_E_ARGUMENT, "mixed map: invalid width code 3 at row %lld, group %lld", (long long)r, (long long)gi);
            }
            (w == 2 ? by8 : w == 1 ? by4 : by2).push_back((uint16_t)gi);
        }
        ns_mixed_row& m = mix->rows[r];
        m.code_off = code;
        m.pre8 = pre8;
        m.pre4 = pre4;
        m.n8 = (int32_t)by8.size();
        m.n4 = (int32_t)by4.size();
        uint16_t* o = &mix->order[r * G];
        for (uint16_t v : by8) *o++ = v;
        for (uint16_t v : by4) *o++ = v;
        for (uint16_t v : by2) *o++ = v;
        code += (8 * (int64_t)by8.size() + 4 * (int64_t)by4.size() + 2 * (int64_t)by2.size()) * g / 8;
        pre8 += (int64_t)by8.size();
        pre4 += (int64_t)by4.size();
        mix->g2 += (int64_t)by2.size();
    }
    mix->g8 = pre8;
    mix->g4 = pre4;
    mix->codes_bytes = code;
    t->g8 = pre8;
    t->g4 = pre4;
    NS_CHECK_SECTION("codes", d->data_bytes, code);
    if (d->zeros != NULL) {
        NS_CHECK_SECTION("zeros", d->zeros_bytes, (8 * pre8 + 4 * pre4 + 2 * mix->g2 + 7) / 8);
    }
    if ((d->outliers == NULL) != (d->outlier_rows == NULL)) {
        return ns_fail(NS_E_ARGUMENT, "mixed: outliers and outlier_rows come together");
    }
    if (d->outlier_rows != NULL) {
        NS_CHECK_SECTION("outlier_rows", d->outlier_rows_bytes, 4 * (rows + 1));
        const int32_t* orow = (const int32_t*)d->outlier_rows;
        const uint8_t* ol = (const uint8_t*)d->outliers;
        int64_t n = d->outliers_bytes / 4;
        if (d->outliers_bytes % 4 != 0 || orow[0] != 0 || orow[rows] != n) {
            return ns_fail(NS_E_ARGUMENT, "mixed: outlier_rows does not cover the %lld outliers", (long long)n);
        }
        for (int64_t r = 0; r < rows; r++) {
            if (orow[r + 1] < orow[r]) {
                return ns_fail(NS_E_ARGUMENT, "mixed: outlier_rows[%lld] decreases", (long long)r);
            }
            for (int64_t k = orow[r]; k < orow[r + 1]; k++) {
                if ((ol[4 * k] | (ol[4 * k + 1] << 8)) >= cols) {
                    return ns_fail(NS_E_ARGUMENT, "mixed: outlier %lld has a column outside the row", (long long)k);
                }
            }
        }
    }
    t->stored_bytes = d->data_bytes + d->scales_bytes + d->map_bytes + (d->zeros ? d->zeros_bytes : 0)
                      + (d->outlier_rows ? d->outlier_rows_bytes + d->outliers_bytes : 0);
    t->index_bytes = (int64_t)(mix->rows.size() * sizeof(ns_mixed_row) + mix->order.size() * sizeof(uint16_t));
    return NS_OK;
}

/* Scale and zero of group gi (logical, uniform types) of row r, and where its codes start. */
NS_HD float ns_uniform_scale(const ns_tensor* t, int64_t r, int64_t gi) {
    return ns_f16_at(t->scales, 2 * (t->per_tensor ? 0 : r * t->G + gi));
}

/* The zero of group entry `at` (the scales' index: r·G + gi, or 0 per tensor). */
NS_HD float ns_uniform_zero_at(const ns_tensor* t, int64_t at) {
    if (!t->asym) {
        return (float)(1 << (t->bits - 1));
    }
    return (float)ns_read_bits(t->zeros, at * t->bits, t->bits);
}

NS_HD float ns_uniform_zero(const ns_tensor* t, int64_t r, int64_t gi) {
    return ns_uniform_zero_at(t, t->per_tensor ? 0 : r * t->G + gi);
}

/* The zero of stored group k (width w) of mixed row r. */
NS_HD float ns_mixed_zero(const ns_tensor* t, const ns_mixed_row* m, int64_t r, int k, int w) {
    return t->asym ? (float)ns_read_bits(t->zeros, ns_mixed_zero_bit(m, r, k, t->G, t->g8, t->g4), w) : (float)(1 << (w - 1));
}

/* Scale, zero, width and code offset (from the tensor's codes) of stored group k of mixed row r. */
NS_HD void ns_mixed_group(const ns_tensor* t, const ns_mixed_row* m, int64_t r, int k, float* s, float* z, int* bits,
                          int64_t* code) {
    int w = ns_mixed_width(m, k);
    *bits = w;
    *s = ns_f16_at(t->scales, 2 * (r * t->G + k));
    *z = ns_mixed_zero(t, m, r, k, w);
    *code = m->code_off + ns_mixed_code_off(m, k, t->g);
}

/* 8-byte units of codes in mixed row m: 8-bit groups g bytes, 4-bit g/2, 2-bit g/4. */
NS_HD int64_t ns_mixed_units(const ns_tensor* t, const ns_mixed_row* m) {
    int64_t n2 = t->G - m->n8 - m->n4;
    return ((int64_t)m->n8 * t->g + (int64_t)m->n4 * t->g / 2 + n2 * t->g / 4) / 8;
}

/* Trailing zero bits of v (v > 0). */
NS_HD int ns_ctz(uint32_t v) {
#ifdef __CUDA_ARCH__
    return __ffs((int)v) - 1;
#else
    return __builtin_ctz(v);
#endif
}

/* Where a 16-byte chunk of a mixed row's codes lies: its width, its stored group, its first logical column. */
typedef struct {
    int w, k, col;
} ns_mixed_place;

/*
 * Chunk c (bytes 16c .. 16c + 15 from the row's first code byte) of mixed row r, for groups of a multiple of 64
 * weights (every group is then whole chunks: 8-bit groups g bytes, 4-bit g/2, 2-bit g/4): the region it falls in
 * gives the width, the offset within the region the stored group (by a shift where g is a power of two), and the
 * stored order's index the logical column. The staged mixed GEMV's lanes and the host's row dot both call it.
 */
NS_HD ns_mixed_place ns_mixed_chunk(const ns_tensor* t, const ns_mixed_row* m, int64_t r, int c) {
    int gs = (t->g & (t->g - 1)) == 0 ? ns_ctz((uint32_t)t->g) : -1;
    int e8 = m->n8 * t->g, e4 = e8 + m->n4 * t->g / 2;
    int b = 16 * c, bb, k, lw;
    ns_mixed_place p;
    if (b < e8) {
        p.w = 8; lw = 3; bb = b; k = 0;
    } else if (b < e4) {
        p.w = 4; lw = 2; bb = b - e8; k = m->n8;
    } else {
        p.w = 2; lw = 1; bb = b - e4; k = m->n8 + m->n4;
    }
    int per = t->g * p.w / 8; /* code bytes per group */
    int kk = gs >= 0 ? bb >> (gs + lw - 3) : bb / per;
    p.k = k + kk;
    p.col = (int)t->order[r * t->G + p.k] * t->g + (bb - kk * per) * 8 / p.w;
    return p;
}

/* The term of a chunk (words q[0..3]) placed at p, against the inputs in logical order: s·Σ(u − z)·x over both units. */
NS_HD float ns_mixed_chunk_term(const ns_tensor* t, const ns_mixed_row* m, int64_t r, ns_mixed_place p, const uint32_t* q,
                                const float* x) {
    float zc = ns_zero_code(ns_mixed_zero(t, m, r, p.k, p.w)), d = 0.f;
    int uc = 64 / p.w;
    for (int half = 0; half < 2; half++) {
        const float* xs = x + p.col + half * uc;
        d += p.w == 8 ? ns_unit_dot_fast<8>(q[2 * half], q[2 * half + 1], xs, NULL, zc)
           : p.w == 4 ? ns_unit_dot_fast<4>(q[2 * half], q[2 * half + 1], xs, NULL, zc)
                      : ns_unit_dot_fast<2>(q[2 * half], q[2 * half + 1], xs, NULL, zc);
    }
    return ns_f16_at(t->scales, 2 * (r * t->G + p.k)) * d;
}

/*
 * The term of unit u (counted from the row's first code byte, words lo and hi) of mixed row r: s·(Σu·x − z·Σx)
 * over its 64/bits weights. A row's codes run 8-bit groups, then 4-bit, then 2-bit, so consecutive units
 * (a warp's lanes) share one width except at two boundaries: the k-slices of one width EXL2 gets by
 * reordering columns, here per row. Units map to (group, place) by the region they fall in.
 */
NS_HD float ns_mixed_unit_term(const ns_tensor* t, const ns_mixed_row* m, int64_t r, int64_t u, uint32_t lo, uint32_t hi,
                               const float* x) {
    int64_t u8 = (int64_t)m->n8 * t->g / 8, u4 = (int64_t)m->n4 * t->g / 16;
    int k, per;
    int64_t within;
    if (u < u8) {
        per = t->g / 8;
        k = (int)(u / per);
        within = u % per;
    } else if (u < u8 + u4) {
        per = t->g / 16;
        k = m->n8 + (int)((u - u8) / per);
        within = (u - u8) % per;
    } else {
        per = t->g / 32;
        k = m->n8 + m->n4 + (int)((u - u8 - u4) / per);
        within = (u - u8 - u4) % per;
    }
    float s, z, ux = 0.f, sx = 0.f;
    int bits;
    int64_t code;
    ns_mixed_group(t, m, r, k, &s, &z, &bits, &code);
    const float* xu = x + (int64_t)t->order[r * t->G + k] * t->g + within * (64 / bits);
    if (bits == 8) {
        ns_unit_dot<8>(lo, hi, xu, NULL, &ux, &sx);
    } else if (bits == 4) {
        ns_unit_dot<4>(lo, hi, xu, NULL, &ux, &sx);
    } else {
        ns_unit_dot<2>(lo, hi, xu, NULL, &ux, &sx);
    }
    return s * (ux - z * sx);
}

/* The outliers' term of mixed row r (lanes first..first+step..), x(col) the input at a column */
template <typename X>
NS_HD float ns_mixed_outlier_sum(const ns_tensor* t, int64_t r, X x, int first, int step) {
    float acc = 0.f;
    if (t->outliers == NULL) return acc;
    for (int64_t k = t->outlier_rows[r] + first; k < t->outlier_rows[r + 1]; k += step) {
        int col = t->outliers[4 * k] | (t->outliers[4 * k + 1] << 8);
        acc += ns_f16_at(t->outliers, 4 * k + 2) * x(col);
    }
    return acc;
}

NS_HD float ns_mixed_outlier_term(const ns_tensor* t, int64_t r, const float* x, int first, int step) {
    return ns_mixed_outlier_sum(t, r, [&](int col) { return x[col]; }, first, step);
}

/* Little-endian 32-bit word at p. */
NS_HD uint32_t ns_u32_at(const uint8_t* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}


/* Which products a tensor has: fp16 tiles (prefill) for int8/int4/int2/NF4, q8 inputs (dp4a) for int8/int4/int2 and
   mixed widths in groups of a multiple of 64. */
static int32_t ns_check_f16(const ns_tensor* w) {
    if (w->type != NS_INT8 && w->type != NS_INT4 && w->type != NS_INT2 && w->type != NS_NF4) {
        return ns_fail(NS_E_UNSUPPORTED, "matmul_f16: type %d has no fp16-tile product (int8, int4, int2, nf4 have)", w->type);
    }
    return NS_OK;
}

static int32_t ns_check_q8(const ns_tensor* w) {
    if (w->type == NS_MIXED && w->g % 64 != 0) {
        return ns_fail(NS_E_UNSUPPORTED, "matmul_q8: mixed widths in groups of %d have no q8 product (groups of a multiple of 64 have)", w->g);
    }
    if (w->type != NS_INT8 && w->type != NS_INT4 && w->type != NS_INT2 && w->type != NS_MIXED) {
        return ns_fail(NS_E_UNSUPPORTED, "matmul_q8: type %d has no q8 product (int8, int4, int2, mixed have)", w->type);
    }
    return NS_OK;
}

static int32_t ns_check_attention(int32_t rows, int32_t pos, const int32_t* pos_dev, int32_t nh, int32_t nkv, int32_t hs,
                                  int32_t capacity, const float* q8) {
    if (nkv < 1 || nh % nkv != 0 || (pos_dev == NULL && pos + rows > capacity)) {
        return ns_fail(NS_E_ARGUMENT, "attention: %d heads over %d kv heads, positions to %d of %d", nh, nkv, pos + rows, capacity);
    }
    if (q8 != NULL && (hs % NS_Q8_BLOCK != 0 || NS_ATTENTION_Q8_HEADS % hs != 0)) {
        return ns_fail(NS_E_ARGUMENT, "attention: q8 output needs a head size that is a multiple of %d dividing %d, not %d",
                       NS_Q8_BLOCK, NS_ATTENTION_Q8_HEADS, hs);
    }
    return NS_OK;
}

static int32_t ns_check_q8_width(int32_t n) {
    if (n < NS_Q8_BLOCK || n % NS_Q8_BLOCK != 0) {
        return ns_fail(NS_E_ARGUMENT, "q8: rows of %d values; q8 needs a multiple of %d", n, NS_Q8_BLOCK);
    }
    return NS_OK;
}

#endif
