/*
 * The per-weight decode and per-chunk dot code of the packed formats, written once for the host
 * (g++) and the GPU (nvcc): every function here is __host__ __device__. The CUDA kernels call them
 * per lane; the host library calls them in plain loops; JUnit tests the host library against the Java
 * kernels on real packed files, through the same C ABI (nashswarm.h).
 *
 * Layout (the file's, unchanged; see io.nashswarm.tensor.Packing): a run of b-bit codes is a sequence
 * of 8-byte units of 64/b weights; byte j of a unit holds weight 8k + j in bits [b·k, b·k + b). 8-bit
 * codes are stored as u − 128. Groups are multiples of 32 weights, so no unit straddles two groups.
 * Weights are w = s·(u − z) (NF4: w = s·codebook[u]); scales are fp16.
 */
#ifndef NASHSWARM_DECODE_H
#define NASHSWARM_DECODE_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define NS_HD __host__ __device__ __forceinline__
#else
#define NS_HD static inline
#endif

/*
 * IEEE half to float, exactly (subnormals, Inf and NaN included): the GPU's conversion instruction, and on the
 * host the same value from integer operations.
 */
NS_HD float ns_half_to_float(uint16_t h) {
#ifdef __CUDA_ARCH__
    return __half2float(__ushort_as_half(h));
#endif
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while ((man & 0x400u) == 0);
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    union { uint32_t u; float f; } v;
    v.u = bits;
    return v.f;
}

/* The little-endian fp16 at byte offset off. */
NS_HD float ns_f16_at(const uint8_t* p, int64_t off) {
    return ns_half_to_float((uint16_t)(p[off] | (p[off + 1] << 8)));
}

/* A width-bit field (width <= 8) at bit offset bit, LSB first, possibly across two bytes. */
NS_HD int ns_read_bits(const uint8_t* p, int64_t bit, int width) {
    int64_t at = bit >> 3;
    int sh = (int)(bit & 7);
    int v = p[at];
    if (sh + width > 8) {
        v |= p[at + 1] << 8;
    }
    return (v >> sh) & ((1 << width) - 1);
}

/* Unsigned code of weight i of the run of bits-bit codes at p (per weight, for embeddings and rows). */
NS_HD int ns_decode_code(const uint8_t* p, int bits, int64_t i) {
    int planes = 8 / bits;
    int b = p[(i / (8 * planes)) * 8 + (i & 7)];
    if (bits == 8) {
        return b ^ 0x80;
    }
    return (b >> (bits * (int)((i >> 3) % planes))) & ((1 << bits) - 1);
}

/* Byte j (0..7) of a unit held as two little-endian words. */
NS_HD uint32_t ns_unit_byte(uint32_t lo, uint32_t hi, int j) {
    return ((j < 4 ? lo >> (8 * j) : hi >> (8 * (j - 4)))) & 0xffu;
}

/* A code (< 2^23) as a float, exactly: on the GPU by the exponent trick (an OR and a subtraction, full rate) rather than
   the quarter-rate conversion instruction. */
NS_HD float ns_code_float(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(0x4B000000u | u) - 8388608.f;
#else
    return (float)u;
#endif
}

/* Eight consecutive inputs: two 16-byte read-only loads on the GPU where aligned (the usual case), else one by one. */
NS_HD void ns_load8(const float* p, float* v) {
#ifdef __CUDA_ARCH__
    if (((uintptr_t)p & 15) == 0) {
        float4 a = __ldg(reinterpret_cast<const float4*>(p)), b = __ldg(reinterpret_cast<const float4*>(p) + 1);
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
        v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
        return;
    }
#endif
    for (int j = 0; j < 8; j++) v[j] = p[j];
}

/*
 * The per-chunk dot: for one 8-byte unit of BITS-bit codes (words lo, hi) and the 64/BITS inputs at x,
 * adds sum(u·x) to *ux and sum(x) to *sx, so the caller folds the zero as s·(ux − z·sx). With
 * BITS = 0 the unit holds NF4 indices (4-bit layout) and sum(codebook[u]·x) goes to *ux.
 */
template <int BITS>
NS_HD void ns_unit_dot(uint32_t lo, uint32_t hi, const float* x, const float* codebook, float* ux, float* sx) {
    const int bits = BITS == 0 ? 4 : BITS;
    const int planes = 8 / bits;
    const uint32_t mask = (1u << bits) - 1u;
    float a = 0.f, s = 0.f;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int p = 0; p < planes; p++) {
        float xs[8];
        ns_load8(x + 8 * p, xs);
#ifdef __CUDACC__
#pragma unroll
#endif
        for (int j = 0; j < 8; j++) {
            uint32_t b = ns_unit_byte(lo, hi, j);
            float xv = xs[j];
            if (BITS == 8) {
                a += ns_code_float(b ^ 0x80u) * xv;
            } else if (BITS == 0) {
                a += codebook[(b >> (4 * p)) & 0xfu] * xv;
            } else {
                a += ns_code_float((b >> (bits * p)) & mask) * xv;
            }
            s += xv;
        }
    }
    *ux += a;
    *sx += s;
}

/* __byte_perm: byte k of the result is byte (s >> 4k) & 7 of the pair y:x (x the low four). One PRMT on the GPU. */
NS_HD uint32_t ns_byte_perm(uint32_t x, uint32_t y, uint32_t s) {
#ifdef __CUDA_ARCH__
    return __byte_perm(x, y, s);
#else
    uint64_t v = ((uint64_t)y << 32) | x;
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) r |= (uint32_t)((v >> (8 * ((s >> (4 * k)) & 7u))) & 0xffu) << (8 * k);
    return r;
#endif
}

NS_HD float ns_bits_float(uint32_t b) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(b);
#else
    union { uint32_t u; float f; } v;
    v.u = b;
    return v.f;
#endif
}

/*
 * The GEMV's per-unit dot as the GPU computes it (the staged kernel; the host library runs the same code): for one
 * 8-byte unit (words lo, hi) of BITS-bit codes against its 64/BITS inputs xs, Σ(u − z)·x, exactly converted. Each
 * plane of a word is masked once (4- and 2-bit codes); then per weight one byte permute makes the float 2^23 + u (the
 * code under 2^23's exponent), one subtraction of zc = 2^23 + z gives u − z exactly, and one multiply-add takes it:
 * three operations, against five for shifting, masking and converting each code and summing x apart for the zero.
 * NF4 (BITS = 0): Σcodebook[u]·x (zc unused).
 */
template <int BITS>
NS_HD float ns_unit_dot_fast(uint32_t lo, uint32_t hi, const float* xs, const float* codebook, float zc) {
    const int bits = BITS == 0 ? 4 : BITS;
    const uint32_t mask = bits == 8 ? 0xffffffffu : bits == 4 ? 0x0f0f0f0fu : 0x03030303u;
    const uint32_t flip = BITS == 8 ? 0x80808080u : 0u; /* 8-bit codes are stored as u − 128 */
    float a[2] = {0.f, 0.f}; /* two chains of multiply-adds, not one: the GPU overlaps their latencies */
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int p = 0; p < 8 / bits; p++) {
        const uint32_t w[2] = {((lo ^ flip) >> (bits * p)) & mask, ((hi ^ flip) >> (bits * p)) & mask};
#ifdef __CUDACC__
#pragma unroll
#endif
        for (int j = 0; j < 8; j++) {
            float v;
            if (BITS == 0) {
                v = codebook[(w[j >> 2] >> (8 * (j & 3))) & 0xfu];
            } else {
                v = ns_bits_float(ns_byte_perm(w[j >> 2], 0x4B000000u, 0x7440u | (uint32_t)(j & 3))) - zc;
            }
            a[j & 1] += v * xs[8 * p + j];
        }
    }
    return a[0] + a[1];
}

/* zc of ns_unit_dot_fast for zero z. */
NS_HD float ns_zero_code(float z) {
    return 8388608.f + z;
}

/* Where the codes, scales and zeros of one run of groups of one width sit, as the kernels read them. */
typedef struct {
    int64_t code_off;   /* byte offset of the run's first code */
    int64_t scale_idx;  /* index (in fp16 values) of the run's first scale */
    int64_t scale_step; /* 1, or 0 for one scale for the whole tensor */
    int64_t zero_bit;   /* bit offset of the first zero (asymmetric) */
    int64_t zero_step;  /* bits between zeros: the width, or 0 for one zero for the whole tensor */
} ns_run;

/* Per row of a mixed matrix: its code offset and its counts, recomputed from the map at upload. */
typedef struct {
    int64_t code_off;
    int64_t pre8, pre4; /* 8- and 4-bit groups in the rows before */
    int32_t n8, n4;     /* its own 8- and 4-bit groups */
} ns_mixed_row;

/* Width of stored group k of a mixed row (groups are stored 8-bit first, then 4-bit, then 2-bit). */
NS_HD int ns_mixed_width(const ns_mixed_row* m, int k) {
    return k < m->n8 ? 8 : k < m->n8 + m->n4 ? 4 : 2;
}

/* Byte offset (from the row's codes) of stored group k of width w, for groups of g weights. */
NS_HD int64_t ns_mixed_code_off(const ns_mixed_row* m, int k, int g) {
    if (k < m->n8) {
        return (int64_t)k * g;
    }
    if (k < m->n8 + m->n4) {
        return (int64_t)m->n8 * g + (int64_t)(k - m->n8) * g / 2;
    }
    return (int64_t)m->n8 * g + (int64_t)m->n4 * g / 2 + (int64_t)(k - m->n8 - m->n4) * g / 4;
}

/*
 * Bit offset of the zero of stored group k of row r: three regions, all 8-bit zeros, then all 4-bit,
 * then all 2-bit (g8, g4: the tensor's 8- and 4-bit group counts; G: groups per row).
 */
NS_HD int64_t ns_mixed_zero_bit(const ns_mixed_row* m, int64_t r, int k, int64_t G, int64_t g8, int64_t g4) {
    if (k < m->n8) {
        return 8 * (m->pre8 + k);
    }
    if (k < m->n8 + m->n4) {
        return 8 * g8 + 4 * (m->pre4 + (k - m->n8));
    }
    int64_t before2 = r * G - m->pre8 - m->pre4;
    return 8 * g8 + 4 * g4 + 2 * (before2 + (k - m->n8 - m->n4));
}

/* Dot of one whole group (g weights of width bits at codes) with x: s·Σ(u − z)·x, or s·Σcb[u]·x; the units' dots as
   the GPU's GEMV takes them (ns_unit_dot_fast). */
template <int BITS>
NS_HD float ns_group_dot(const uint8_t* codes, int g, const float* x, const float* codebook, float s, float z) {
    const int per_unit = 64 / (BITS == 0 ? 4 : BITS);
    float ux = 0.f;
    for (int u = 0; u < g / per_unit; u++) {
        const uint8_t* p = codes + 8 * u;
        uint32_t lo = p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
        uint32_t hi = p[4] | (p[5] << 8) | (p[6] << 16) | ((uint32_t)p[7] << 24);
        ux += ns_unit_dot_fast<BITS>(lo, hi, x + u * per_unit, codebook, ns_zero_code(z));
    }
    return s * ux;
}

/* ---- tensor-core prefill: weights and inputs as fp16 tiles ---- */

/*
 * The fp16 bits of f, rounded to nearest even (overflow to Inf, subnormals kept): the GPU's conversion instruction,
 * and on the host the same value from integer operations, so the host build computes the tiles the GPU multiplies.
 */
NS_HD uint16_t ns_float_to_half(float f) {
#ifdef __CUDA_ARCH__
    return __half_as_ushort(__float2half_rn(f));
#endif
    union { float f; uint32_t u; } v;
    v.f = f;
    uint32_t x = v.u, sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
    if (mag >= 0x7f800000u) { /* Inf, NaN (kept quiet) */
        return (uint16_t)(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u | ((mag >> 13) & 0x3ffu) : 0u));
    }
    if (mag >= 0x477ff000u) { /* rounds to 65520 or more: Inf */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (mag >= 0x38800000u) { /* normal half: drop 13 bits, round half to even */
        uint32_t h = (mag - 0x38000000u) >> 13, rest = mag & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    if (mag < 0x33000000u) { /* below half the smallest subnormal (2^-25): zero */
        return (uint16_t)sign;
    }
    /* subnormal half: the value in units of 2^-24, rounded half to even */
    uint32_t e = mag >> 23, m = (mag & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* value = m·2^(e-150) = (m >> (126 - e))·2^-24 */
    uint32_t h = m >> shift, rest = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

/*
 * The tile decode: one 8-byte unit of BITS-bit codes (BITS = 0: NF4 indices) as the 64/BITS fp16 weights
 * s·(u − z) (NF4: s·codebook[u]), in the row's order, at out[0..64/BITS). The product is taken in float and
 * rounded once to fp16. The prefill kernel writes them into shared-memory tiles; the host build into a row.
 */
template <int BITS>
NS_HD void ns_unit_to_half(uint32_t lo, uint32_t hi, float s, float z, const float* codebook, uint16_t* out) {
    const int bits = BITS == 0 ? 4 : BITS;
    const int planes = 8 / bits;
    const uint32_t mask = (1u << bits) - 1u;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int p = 0; p < planes; p++) {
#ifdef __CUDACC__
#pragma unroll
#endif
        for (int j = 0; j < 8; j++) {
            uint32_t b = ns_unit_byte(lo, hi, j);
            float w;
            if (BITS == 8) {
                w = s * (ns_code_float(b ^ 0x80u) - z);
            } else if (BITS == 0) {
                w = s * codebook[(b >> (4 * p)) & 0xfu];
            } else {
                w = s * (ns_code_float((b >> (bits * p)) & mask) - z);
            }
            out[8 * p + j] = ns_float_to_half(w);
        }
    }
}

/* ---- int8 activations (Q8) for the dp4a GEMV ---- */

/*
 * Activations quantized per block of NS_Q8_BLOCK consecutive values: d = max|x| / 127, q = round(x / d) (to
 * nearest even; all zero when max|x| is 0), so each value is off by at most d/2 and a product Σw·x by at most
 * Σ_blocks (d/2)·Σ|w|. A buffer of V values (V a multiple of 32) holds the V int8 codes, then the V/32 steps d
 * (float): NS_Q8_FLOATS(V) floats of ns_alloc.
 */
#define NS_Q8_BLOCK 32
#define NS_Q8_FLOATS(values) ((values) / 4 + (values) / NS_Q8_BLOCK)

NS_HD float ns_q8_step(float amax) {
    return amax / 127.f;
}

/* One value's code at step d (the reciprocal taken once per block, as both libraries do). */
NS_HD int8_t ns_q8_code(float x, float inv_d) {
    float q = rintf(x * inv_d);
    return (int8_t)(q > 127.f ? 127.f : q < -127.f ? -127.f : q);
}

NS_HD float ns_q8_inverse(float d) {
    return d != 0.f ? 1.f / d : 0.f;
}

/* Σ of the four signed bytes of a times those of b, plus c: dp4a on the GPU. */
NS_HD int32_t ns_dp4a(uint32_t a, uint32_t b, int32_t c) {
#ifdef __CUDA_ARCH__
    return __dp4a((int)a, (int)b, c);
#else
    for (int i = 0; i < 4; i++) c += (int32_t)(int8_t)(a >> (8 * i)) * (int32_t)(int8_t)(b >> (8 * i));
    return c;
#endif
}

/* Σ of the four unsigned bytes of a times the four signed bytes of b, plus c (dp4a.u32.s32 on the GPU). */
NS_HD int32_t ns_dp4a_us(uint32_t a, uint32_t b, int32_t c) {
#ifdef __CUDA_ARCH__
    int32_t d;
    asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
#else
    for (int i = 0; i < 4; i++) c += (int32_t)(uint8_t)(a >> (8 * i)) * (int32_t)(int8_t)(b >> (8 * i));
    return c;
#endif
}

/* Σq of a unit's 64/BITS int8 inputs (words xw): what the zero costs, Σ(u − z)·q = Σu·q − z·Σq. A warp's rows share
   it, so the dp4a kernels take it once per chunk rather than once per row. */
template <int BITS>
NS_HD int32_t ns_q8_unit_sum(const uint32_t* xw) {
    int32_t sum = 0;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int i = 0; i < 16 / BITS; i++) sum = ns_dp4a(0x01010101u, xw[i], sum);
    return sum;
}

/*
 * The dp4a per-unit dot: one 8-byte unit of BITS-bit codes (8, 4 or 2) against its 64/BITS int8 inputs, given as
 * words xw[0..16/BITS), and their sum xsum (ns_q8_unit_sum): returns Σ(u − z)·q exactly, as an integer. 8-bit codes
 * are stored as u − 128, i.e. already signed bytes. 4- and 2-bit fields (plane p: the weights 8p..8p+3 in the low
 * word and 8p+4..8p+7 in the high one) are masked in place, not shifted down: plane p's fields then read as 2^(BITS·p)
 * times the code (unsigned bytes, dp4a.u32.s32), and Horner's rule, the sum so far shifted by BITS before each plane,
 * brings every plane to the same factor 2^(BITS·(planes − 1)), which one exact shift removes. Two operations per four
 * weights (mask, dp4a) and one shift per plane.
 */
template <int BITS>
NS_HD int32_t ns_q8_unit_dot(uint32_t lo, uint32_t hi, const uint32_t* xw, int32_t z, int32_t xsum) {
    if (BITS == 8) {
        return ns_dp4a(lo, xw[0], ns_dp4a(hi, xw[1], 0)) + (128 - z) * xsum;
    }
    const uint32_t mask = BITS == 4 ? 0x0f0f0f0fu : 0x03030303u;
    int32_t acc = 0;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int p = 0; p < 8 / BITS; p++) {
        const uint32_t m = mask << (BITS * p);
        acc = ns_dp4a_us(lo & m, xw[2 * p], ns_dp4a_us(hi & m, xw[2 * p + 1], acc * (1 << BITS)));
    }
    return (acc >> (8 - BITS)) - z * xsum;
}

#endif
