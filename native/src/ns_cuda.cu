/*
 * The C ABI on an NVIDIA GPU. Weights stay in the file's packed layout (no dequantized copy); mixed
 * matrices add a per-row index (ns_mixed_row, 32 bytes per row) and the stored order of their groups
 * (2 bytes per group). Every operation is enqueued on the context's stream; ns_read synchronises. Every
 * CUDA call and every launch is checked.
 *
 * Kernels (correct first; see native/README.md for what has run on a GPU):
 *   uniform packed GEMV (ns_gemv_staged): the input vector staged in shared memory, two rows per warp, each lane
 *   16-byte chunks loaded ahead, ns_unit_dot_fast of nashswarm_decode.h, a shuffle reduction; rows that are not
 *   whole 16-byte chunks keep the warp-per-row kernel (ns_gemv_uniform) with 8-byte loads;
 *   mixed GEMV (ns_gemv_mixed_staged, groups of a multiple of 64): x staged, a warp per row, each lane a 16-byte
 *   chunk of one group per step (widths sorted 8→4→2 within a row); other group sizes keep ns_gemv_mixed;
 *   dense GEMV: a warp per row; norms and softmax: a block per row; attention: a block per (row, head).
 */
#include "ns_ops.h"

#include <cuda_runtime.h>
#include <math.h>
#include <mma.h>
#include <mutex>
#include <utility>

struct ns_context {
    int device = 0;
    cudaStream_t stream = nullptr;
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    bool recording = false;
    /* graph launches: events around the last one, and the total of those timed so far */
    cudaEvent_t launch_start = nullptr, launch_stop = nullptr;
    bool launch_pending = false;
    float last_ms = 0.f;
    double total_ms = 0.0;
    int64_t launches = 0;
    /* profiling: an event before and after each operation */
    bool profiling = false;
    std::vector<cudaEvent_t> marks;
    size_t used_marks = 0;
};

#define NS_CUDA(call)                                                                                  \
    do {                                                                                               \
        cudaError_t e_ = (call);                                                                       \
        if (e_ != cudaSuccess) {                                                                       \
            (void)cudaGetLastError(); /* reported here: a later launch's check must not see it again */ \
            return ns_fail(e_ == cudaErrorMemoryAllocation ? NS_E_OUT_OF_MEMORY                       \
                           : (e_ == cudaErrorNoDevice || e_ == cudaErrorInsufficientDriver)            \
                               ? NS_E_NO_DEVICE : NS_E_CUDA,                                           \
                           "%s failed: %s (%s)", #call, cudaGetErrorString(e_), cudaGetErrorName(e_)); \
        }                                                                                              \
    } while (0)

/* After a launch: a bad configuration shows here, a fault at the next synchronising call. */
#define NS_LAUNCHED() NS_CUDA(cudaGetLastError())
#define NS_NEED(ctx) if ((ctx) == NULL) return ns_fail(NS_E_ARGUMENT, "null context")

/* While profiling, records the next of the context's events on its stream (before and after each operation). */
static cudaError_t ns_mark(ns_context* ctx) {
    if (!ctx->profiling) return cudaSuccess;
    if (ctx->used_marks == ctx->marks.size()) {
        cudaEvent_t e;
        cudaError_t st = cudaEventCreate(&e);
        if (st != cudaSuccess) return st;
        ctx->marks.push_back(e);
    }
    return cudaEventRecord(ctx->marks[ctx->used_marks++], ctx->stream);
}

/* Launches a kernel on the context's stream, checked, and bracketed by events while profiling. */
#define NS_GO_SM(ctx, kernel, grid, block, smem, ...)                                                  \
    do {                                                                                               \
        NS_CUDA(ns_mark(ctx));                                                                         \
        kernel<<<(grid), (block), (smem), (ctx)->stream>>>(__VA_ARGS__);                              \
        NS_LAUNCHED();                                                                                 \
        NS_CUDA(ns_mark(ctx));                                                                         \
    } while (0)
#define NS_GO(ctx, kernel, grid, block, ...) NS_GO_SM(ctx, kernel, grid, block, 0, __VA_ARGS__)

static const int WARPS = 8, THREADS = 256;

__device__ __forceinline__ float ns_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it. */
__device__ float ns_block_sum(float v) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = ns_warp_sum(v);
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) s += part[i];
    return s;
}

__device__ float ns_block_max(float v) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float m = -INFINITY;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) m = fmaxf(m, part[i]);
    return m;
}

/* ---- GEMV ---- */

/*
 * A lane's share of a row's n16 16-byte chunks (two 8-byte units each): up to four loads in flight before any
 * decode, enough bytes in flight to cover the memory latency; term(unit, lo, hi) is one unit's contribution.
 */
template <typename Term>
__device__ __forceinline__ float ns_lanes_over_chunks(const uint4* p, int64_t n16, int lane, Term term) {
    float acc = 0.f;
    for (int64_t i = lane; i < n16; i += 128) {
        uint4 q[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            if (i + 32 * k < n16) q[k] = __ldg(p + i + 32 * k);
        }
#pragma unroll
        for (int k = 0; k < 4; k++) {
            if (i + 32 * k < n16) {
                acc += term(2 * (i + 32 * k), q[k].x, q[k].y);
                acc += term(2 * (i + 32 * k) + 1, q[k].z, q[k].w);
            }
        }
    }
    return acc;
}

template <int BITS>
__device__ __forceinline__ float ns_unit_term(const ns_tensor& t, int64_t r, int64_t unit, uint32_t lo, uint32_t hi,
                                              const float* x, const float* cb) {
    const int per_unit = 64 / (BITS == 0 ? 4 : BITS);
    int64_t first = unit * per_unit, gi = first / t.g;
    float ux = 0.f, sx = 0.f;
    ns_unit_dot<BITS>(lo, hi, x + first, cb, &ux, &sx);
    float s = ns_uniform_scale(&t, r, gi);
    return BITS == 0 ? s * ux : s * (ux - ns_uniform_zero(&t, r, gi) * sx);
}

/* The rows of block `block` (WARPS rows, a warp each) of y = W·x for vector blockIdx.y. */
template <int BITS>
__device__ __forceinline__ void ns_gemv_uniform_block(const ns_tensor& t, int64_t block, const float* __restrict__ x,
                                                      float* __restrict__ y, ns_epilogue e, const float* cb) {
    int64_t r = block * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= t.rows) return;
    const float* xb = x + (int64_t)blockIdx.y * t.cols;
    const uint8_t* row = t.codes + r * t.row_bytes;
    float acc = 0.f;
    if ((t.row_bytes & 15) == 0) {
        acc = ns_lanes_over_chunks(reinterpret_cast<const uint4*>(row), t.row_bytes / 16, lane,
                                   [&](int64_t u, uint32_t lo, uint32_t hi) { return ns_unit_term<BITS>(t, r, u, lo, hi, xb, cb); });
    } else {
        const uint2* p = reinterpret_cast<const uint2*>(row);
        for (int64_t i = lane; i < t.row_bytes / 8; i += 32) {
            uint2 q = __ldg(p + i);
            acc += ns_unit_term<BITS>(t, r, i, q.x, q.y, xb, cb);
        }
    }
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

template <int BITS>
__global__ void ns_gemv_uniform(ns_tensor t, const float* __restrict__ x, float* __restrict__ y, ns_epilogue e) {
    __shared__ float cb[16];
    if (BITS == 0 && threadIdx.x < 16) cb[threadIdx.x] = t.codebook[threadIdx.x];
    if (BITS == 0) __syncthreads();
    ns_gemv_uniform_block<BITS>(t, blockIdx.x, x, y, e, cb);
}

/*
 * The staged GEMV (rows of whole 16-byte chunks): the block first copies its input vector into shared memory, then
 * each warp takes GEMV_ROWS rows and each lane GEMV_AHEAD 16-byte chunks of every one of them per step, all loads
 * issued before the first is used. The inputs a lane reads for a chunk serve all its rows. Read from global memory,
 * lanes' inputs lie 128 bytes (int4) apart, so every float4 load touched 32 cache lines and the loads, not the
 * weights' bytes, set the time; in shared memory they are XOR-swizzled within 128-byte rows by the chunk, so the 8
 * lanes of each quarter-warp read 8 different bank groups. ns_unit_dot_fast does the arithmetic (three operations
 * per weight). bench/cuda/gemv_variants.cu compared the decompositions on an H200.
 */
static const int GEMV_ROWS = 2, GEMV_AHEAD = 2;

/* Float4 index f of the staged input, swizzled; F: float4s per 16-byte chunk of codes (0: not swizzled). */
template <int F>
__device__ __forceinline__ int ns_swizzle(int f) {
    return F == 0 ? f : f ^ ((f / F) & 7);
}

template <int BITS>
__device__ __forceinline__ constexpr int ns_unit_cols() {
    return 64 / (BITS == 0 ? 4 : BITS);
}

/* Input vector x (cols floats) into shared memory, swizzled as ns_swizzle<F>; then the block waits. */
template <int F>
__device__ __forceinline__ void ns_stage_input(const float* __restrict__ x, int cols, float4* xs4) {
    if (((uintptr_t)x & 15) == 0) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int f = threadIdx.x; f < cols / 4; f += blockDim.x) xs4[ns_swizzle<F>(f)] = __ldg(x4 + f);
    } else {
        float* xs = reinterpret_cast<float*>(xs4);
        for (int c = threadIdx.x; c < cols; c += blockDim.x) xs[4 * ns_swizzle<F>(c / 4) + (c & 3)] = __ldg(x + c);
    }
    __syncthreads();
}

extern __shared__ float4 ns_staged_x[];

/* The fp16 scale of group entry `at`, one 2-byte load (ns_f16_at assembles it from bytes, for the host's sake). */
__device__ __forceinline__ float ns_staged_scale(const ns_tensor& t, int64_t at) {
    return __half2float(__ushort_as_half(__ldg(reinterpret_cast<const unsigned short*>(t.scales) + at)));
}

/* What a staged kernel's lane needs of its rows: their codes, the index of their first group, the group arithmetic. */
template <int R>
struct ns_staged_rows {
    const uint4* rows[R];
    int64_t first[R];
    int64_t r0;
    int n16, gshift;
    bool active, whole;
};

/* The rows of this warp of block `block` (the block: WARPS groups of R rows). */
template <int BITS, int R>
__device__ __forceinline__ ns_staged_rows<R> ns_staged_setup(const ns_tensor& t, int64_t block) {
    const int UC = ns_unit_cols<BITS>();
    ns_staged_rows<R> s;
    s.r0 = (block * WARPS + (threadIdx.x >> 5)) * R;
    s.active = s.r0 < t.rows;
    s.n16 = s.active ? (int)(t.row_bytes >> 4) : 0;
    s.gshift = (t.g & (t.g - 1)) == 0 ? __ffs(t.g) - 1 : -1;
    s.whole = t.per_tensor || t.g % (2 * UC) == 0; /* each chunk lies in one group */
#pragma unroll
    for (int i = 0; i < R; i++) {
        int64_t r = min(s.r0 + i, (int64_t)t.rows - 1); /* past the end: the last row again, not written */
        s.rows[i] = reinterpret_cast<const uint4*>(t.codes + r * t.row_bytes);
        s.first[i] = t.per_tensor ? 0 : r * t.G;
    }
    return s;
}

/* Chunk c (16 bytes: two units) of each of the R rows, codes q[i], against the staged input: acc[i] += its dot. */
template <int BITS, int R>
__device__ __forceinline__ void ns_staged_chunk(const ns_tensor& t, const ns_staged_rows<R>& s, const uint4* q, int c,
                                                const float* cb, float* acc) {
    const int UC = ns_unit_cols<BITS>(), F = UC / 2;
    float d[R];
#pragma unroll
    for (int i = 0; i < R; i++) d[i] = 0.f;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        int col = (2 * c + half) * UC;
        float xs[UC];
#pragma unroll
        for (int k = 0; k < UC / 4; k++) {
            float4 v = ns_staged_x[ns_swizzle<F>(col / 4 + k)];
            xs[4 * k] = v.x; xs[4 * k + 1] = v.y; xs[4 * k + 2] = v.z; xs[4 * k + 3] = v.w;
        }
        int64_t gi = t.per_tensor ? 0 : s.gshift >= 0 ? col >> s.gshift : col / t.g;
#pragma unroll
        for (int i = 0; i < R; i++) {
            uint32_t lo = half ? q[i].z : q[i].x, hi = half ? q[i].w : q[i].y;
            int64_t at = s.first[i] + gi;
            float zc = BITS == 0 ? 0.f : ns_zero_code(ns_uniform_zero_at(&t, at));
            float dot = ns_unit_dot_fast<BITS>(lo, hi, xs, cb, zc);
            if (s.whole) {
                d[i] += dot;
                if (half) acc[i] = fmaf(ns_staged_scale(t, at), d[i], acc[i]);
            } else {
                acc[i] = fmaf(ns_staged_scale(t, at), dot, acc[i]);
            }
        }
    }
}

template <int BITS, int R>
__device__ __forceinline__ void ns_staged_store(const ns_tensor& t, const ns_staged_rows<R>& s, float* acc, float* y,
                                                ns_epilogue e) {
#pragma unroll
    for (int i = 0; i < R; i++) {
        float sum = ns_warp_sum(acc[i]);
        if ((threadIdx.x & 31) == 0 && s.r0 + i < t.rows) {
            y[(int64_t)blockIdx.y * t.rows + s.r0 + i] = ns_epilogue_apply(e, sum, s.r0 + i);
        }
    }
}

/*
 * Rows of block `block` (WARPS · R of them) of y = W·x for vector blockIdx.y. Every thread of the block calls it
 * (it stages x, a barrier): the first chunks' loads are issued before the staging, and each step's loads before the
 * previous step's arithmetic (two register buffers). Where a group spans whole chunks, a chunk takes one scale.
 * (Splitting a row group's chunks over several warps, summed in shared memory, lost at every shape on an H200:
 * bench/results/cuda-gemv-2026-12-04b.)
 */
template <int BITS, int R = GEMV_ROWS, int U = GEMV_AHEAD>
__device__ __forceinline__ void ns_gemv_staged_block(const ns_tensor& t, int64_t block, const float* __restrict__ x,
                                                     float* __restrict__ y, ns_epilogue e, const float* cb) {
    int lane = threadIdx.x & 31;
    ns_staged_rows<R> s = ns_staged_setup<BITS, R>(t, block);
    int start = lane, step = 32 * U;
    uint4 q[U][R], next[U][R];
#pragma unroll
    for (int u = 0; u < U; u++) {
#pragma unroll
        for (int i = 0; i < R; i++) {
            if (start + 32 * u < s.n16) q[u][i] = __ldg(s.rows[i] + start + 32 * u);
        }
    }
    ns_stage_input<ns_unit_cols<BITS>() / 2>(x + (int64_t)blockIdx.y * t.cols, t.cols, ns_staged_x);
    if (!s.active) return;
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc[i] = 0.f;
    for (int c0 = start; c0 < s.n16; c0 += step) {
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int i = 0; i < R; i++) {
                if (c0 + step + 32 * u < s.n16) next[u][i] = __ldg(s.rows[i] + c0 + step + 32 * u);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (c0 + 32 * u < s.n16) ns_staged_chunk<BITS, R>(t, s, q[u], c0 + 32 * u, cb, acc);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int i = 0; i < R; i++) q[u][i] = next[u][i];
        }
    }
    ns_staged_store<BITS, R>(t, s, acc, y, e);
}

/* Shared memory of the staged GEMVs: the input vector. */
static size_t ns_gemv_smem(int cols) {
    return (size_t)cols * 4;
}


template <int BITS, int R = GEMV_ROWS, int U = GEMV_AHEAD>
__global__ void __launch_bounds__(THREADS, 2) ns_gemv_staged(ns_tensor t, const float* __restrict__ x, float* __restrict__ y,
                                                             ns_epilogue e) {
    __shared__ float cb[16];
    if (BITS == 0 && threadIdx.x < 16) cb[threadIdx.x] = t.codebook[threadIdx.x];
    ns_gemv_staged_block<BITS, R, U>(t, blockIdx.x, x, y, e, cb);
}

/* A warp per row, lanes over its units with 16-byte loads where groups are 64 weights or more (rows then hold
   an even number of units at 16-byte offsets), else 8-byte loads; ns_mixed_unit_term decodes each unit. */
__global__ void ns_gemv_mixed(ns_tensor t, const float* __restrict__ x, float* __restrict__ y, ns_epilogue e) {
    int64_t r = (int64_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= t.rows) return;
    const float* xb = x + (int64_t)blockIdx.y * t.cols;
    ns_mixed_row m = t.mrows[r];
    int64_t units = ns_mixed_units(&t, &m);
    const uint8_t* row = t.codes + m.code_off;
    float acc = 0.f;
    if ((t.g & 63) == 0) {
        acc = ns_lanes_over_chunks(reinterpret_cast<const uint4*>(row), units / 2, lane,
                                   [&](int64_t u, uint32_t lo, uint32_t hi) { return ns_mixed_unit_term(&t, &m, r, u, lo, hi, xb); });
    } else {
        const uint2* p = reinterpret_cast<const uint2*>(row);
        for (int64_t i = lane; i < units; i += 32) {
            uint2 q = __ldg(p + i);
            acc += ns_mixed_unit_term(&t, &m, r, i, q.x, q.y, xb);
        }
    }
    acc += ns_mixed_outlier_term(&t, r, xb, lane, 32);
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

/*
 * Mixed rows, staged (groups of a multiple of 64 weights, so every group is whole 16-byte chunks): x in shared memory
 * in its logical order, a warp per row, each lane one 16-byte chunk (two units of one group) per step with the next
 * step's chunk loaded ahead; the chunk's width, group and columns come from its byte offset (three regions: 8-, 4-
 * and 2-bit groups), and ns_unit_dot_fast does the arithmetic. Lanes diverge only on the steps that straddle a
 * region's end.
 */
template <int W>
__device__ __forceinline__ float ns_mixed_chunk_dot(const uint4& q, int col, float zc) {
    const int UC = 64 / W;
    float d = 0.f;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        float xs[UC];
        const float* xf = reinterpret_cast<const float*>(ns_staged_x) + col + half * UC;
#pragma unroll
        for (int k = 0; k < UC / 4; k++) {
            float4 v = reinterpret_cast<const float4*>(xf)[k];
            xs[4 * k] = v.x; xs[4 * k + 1] = v.y; xs[4 * k + 2] = v.z; xs[4 * k + 3] = v.w;
        }
        d += ns_unit_dot_fast<W>(half ? q.z : q.x, half ? q.w : q.y, xs, nullptr, zc);
    }
    return d;
}

__global__ void __launch_bounds__(THREADS) ns_gemv_mixed_staged(ns_tensor t, const float* __restrict__ x, float* __restrict__ y,
                                                                ns_epilogue e) {
    int64_t r = (int64_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    bool active = r < t.rows;
    ns_mixed_row m = t.mrows[active ? r : 0];
    const uint4* row = reinterpret_cast<const uint4*>(t.codes + m.code_off);
    int n16 = active ? (int)(ns_mixed_units(&t, &m) / 2) : 0;
    uint4 q = make_uint4(0, 0, 0, 0), next = q;
    if (lane < n16) q = __ldg(row + lane);
    const float* xb = x + (int64_t)blockIdx.y * t.cols;
    ns_stage_input<0>(xb, t.cols, ns_staged_x); /* logical order: chunks of one row read scattered groups */
    if (!active) return;
    float acc = 0.f;
    for (int c = lane; c < n16; c += 32) {
        if (c + 32 < n16) next = __ldg(row + c + 32);
        ns_mixed_place p = ns_mixed_chunk(&t, &m, r, c);
        float zc = ns_zero_code(ns_mixed_zero(&t, &m, r, p.k, p.w));
        float sc = ns_staged_scale(t, r * t.G + p.k);
        float d = p.w == 8 ? ns_mixed_chunk_dot<8>(q, p.col, zc)
                : p.w == 4 ? ns_mixed_chunk_dot<4>(q, p.col, zc) : ns_mixed_chunk_dot<2>(q, p.col, zc);
        acc = fmaf(sc, d, acc);
        q = next;
    }
    acc += ns_mixed_outlier_term(&t, r, xb, lane, 32);
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

__global__ void ns_gemv_dense(ns_tensor t, const float* __restrict__ x, float* __restrict__ y, ns_epilogue e) {
    int64_t r = (int64_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= t.rows) return;
    const float* xb = x + (int64_t)blockIdx.y * t.cols;
    const uint8_t* row = t.codes + r * t.row_bytes;
    float acc = 0.f;
    if (t.type == NS_F32) {
        const float* w = reinterpret_cast<const float*>(row);
        for (int64_t c = lane; c < t.cols; c += 32) acc += __ldg(w + c) * xb[c];
    } else if ((t.row_bytes & 15) == 0) { /* fp16: 16-byte loads of eight weights, paired conversions */
        const uint4* p = reinterpret_cast<const uint4*>(row);
        for (int64_t i = lane; i < t.row_bytes / 16; i += 32) {
            uint4 q = __ldg(p + i);
            float xs[8];
            ns_load8(xb + 8 * i, xs);
            const __half2* hv = reinterpret_cast<const __half2*>(&q);
#pragma unroll
            for (int k = 0; k < 4; k++) {
                float2 f = __half22float2(hv[k]);
                acc += f.x * xs[2 * k] + f.y * xs[2 * k + 1];
            }
        }
    } else {
        for (int64_t c = lane; c < t.cols; c += 32) acc += ns_f16_at(row, 2 * c) * xb[c];
    }
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

/*
 * dp4a GEMV on q8 inputs (int8/int4/int2): the same warp per (row, vector) and lane decomposition as
 * ns_gemv_uniform; each unit is an exact integer dot (ns_q8_unit_dot: 2, 4 or 8 dp4a plus as many for the input
 * sums) and one float multiply by the group's scale and the block's step.
 */
template <int BITS>
__device__ __forceinline__ void ns_gemv_q8_block(const ns_tensor& t, int64_t block, const float* __restrict__ q8,
                                                 float* __restrict__ y, int n, ns_epilogue e) {
    int64_t r = block * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= t.rows) return;
    const int8_t* xq = reinterpret_cast<const int8_t*>(q8) + (int64_t)blockIdx.y * t.cols;
    const float* xd = ns_q8_steps(q8, (int64_t)n * t.cols) + (int64_t)blockIdx.y * t.cols / NS_Q8_BLOCK;
    const uint8_t* row = t.codes + r * t.row_bytes;
    float acc = 0.f;
    if ((t.row_bytes & 15) == 0) {
        acc = ns_lanes_over_chunks(reinterpret_cast<const uint4*>(row), t.row_bytes / 16, lane,
                                   [&](int64_t u, uint32_t lo, uint32_t hi) { return ns_q8_unit_term<BITS>(&t, r, u, lo, hi, xq, xd); });
    } else {
        const uint2* p = reinterpret_cast<const uint2*>(row);
        for (int64_t i = lane; i < t.row_bytes / 8; i += 32) {
            uint2 q = __ldg(p + i);
            acc += ns_q8_unit_term<BITS>(&t, r, i, q.x, q.y, xq, xd);
        }
    }
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

template <int BITS>
__global__ void ns_gemv_q8(ns_tensor t, const float* __restrict__ q8, float* __restrict__ y, int n, ns_epilogue e) {
    ns_gemv_q8_block<BITS>(t, blockIdx.x, q8, y, n, e);
}

/*
 * The lean dp4a GEMV (uniform int8/int4/int2 whose rows are whole 16-byte chunks and whose groups a power of two of
 * whole chunks): R rows per warp, each lane a 16-byte chunk of each per step, U chunks per row in flight in a ring of
 * registers (a slot is reloaded with the chunk U steps on before its codes are used), each chunk's fp16 scale loaded
 * with it. The inputs a lane reads (16 to 64 bytes of q8 codes, L1-resident and coalesced: lanes read consecutive
 * chunks' inputs) and their sum (ns_q8_unit_sum) serve all R rows. Per weight about one operation against the float
 * kernels' four: Nsight Compute found those issue-bound at ~7.5 lane-instructions per weight.
 */
/* The library's R and U, the fastest of bench/cuda/gemv_variants.cu's on an H200 (bench/results/cuda-gemv-2026-12-04b):
   two rows per warp for int2 (its chunk serves 64 columns: the inputs' loads and sums weigh more), one otherwise. */
__host__ __device__ constexpr int ns_q8_rows(int bits) {
    return bits == 2 ? 2 : 1;
}
static const int Q8_AHEAD = 2;

template <int BITS, int R = ns_q8_rows(BITS), int U = Q8_AHEAD>
__device__ __forceinline__ void ns_gemv_q8_lean_block(const ns_tensor& t, int64_t block, const float* __restrict__ q8,
                                                      float* __restrict__ y, int n, ns_epilogue e) {
    const int CW = 128 / BITS, UC = CW / 2, UW = UC / 4; /* columns per chunk and per unit, input words per unit */
    const int lane = threadIdx.x & 31;
    const int64_t r0 = (block * WARPS + (threadIdx.x >> 5)) * R;
    if (r0 >= t.rows) return;
    const int8_t* xq = reinterpret_cast<const int8_t*>(q8) + (int64_t)blockIdx.y * t.cols;
    const float* xd = ns_q8_steps(q8, (int64_t)n * t.cols) + (int64_t)blockIdx.y * t.cols / NS_Q8_BLOCK;
    const unsigned short* scales = reinterpret_cast<const unsigned short*>(t.scales);
    const int n16 = (int)(t.row_bytes >> 4);
    const int cshift = t.per_tensor ? 31 : __ffs(t.g) - 1 - (BITS == 8 ? 4 : BITS == 4 ? 5 : 6); /* chunk → group */
    const uint4* rows[R];
    int first[R];
#pragma unroll
    for (int i = 0; i < R; i++) {
        int64_t r = min(r0 + i, (int64_t)t.rows - 1); /* past the end: the last row again, not written */
        rows[i] = reinterpret_cast<const uint4*>(t.codes + r * t.row_bytes);
        first[i] = t.per_tensor ? 0 : (int)r * t.G;
    }
    /* slot u of the ring: chunk c's codes and scales (loading its inputs with them too measured no faster) */
    uint4 q[U][R];
    unsigned short sc[U][R];
    auto fill = [&](int u, int c) {
#pragma unroll
        for (int i = 0; i < R; i++) {
            q[u][i] = __ldg(rows[i] + c);
            sc[u][i] = __ldg(scales + first[i] + (t.per_tensor ? 0 : c >> cshift));
        }
    };
#pragma unroll
    for (int u = 0; u < U; u++) {
        if (lane + 32 * u < n16) fill(u, lane + 32 * u);
    }
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc[i] = 0.f;
    for (int c0 = lane; c0 < n16; c0 += 32 * U) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = c0 + 32 * u, cn = c + 32 * U;
            if (c >= n16) break;
            uint4 cur[R];
            unsigned short cs[R];
#pragma unroll
            for (int i = 0; i < R; i++) {
                cur[i] = q[u][i];
                cs[i] = sc[u][i];
            }
            if (cn < n16) fill(u, cn);
            uint32_t xw[2 * UW];
            ns_q8_words<BITS>(xq + c * CW, xw);
            ns_q8_words<BITS>(xq + c * CW + UC, xw + UW);
            const float d0 = __ldg(xd + c * CW / NS_Q8_BLOCK), d1 = BITS == 2 ? __ldg(xd + c * CW / NS_Q8_BLOCK + 1) : d0;
            const int32_t sum0 = ns_q8_unit_sum<BITS>(xw), sum1 = ns_q8_unit_sum<BITS>(xw + UW);
#pragma unroll
            for (int i = 0; i < R; i++) {
                const int32_t z = t.asym ? (int32_t)ns_uniform_zero_at(&t, first[i] + (t.per_tensor ? 0 : c >> cshift))
                                         : 1 << (BITS - 1);
                const int32_t a = ns_q8_unit_dot<BITS>(cur[i].x, cur[i].y, xw, z, sum0);
                const int32_t b = ns_q8_unit_dot<BITS>(cur[i].z, cur[i].w, xw + UW, z, sum1);
                const float s = __half2float(__ushort_as_half(cs[i]));
                if (BITS == 2) { /* the chunk's two units lie in two q8 blocks */
                    acc[i] = fmaf(s, fmaf(d0, (float)a, d1 * (float)b), acc[i]);
                } else {
                    acc[i] = fmaf(s * d0, (float)(a + b), acc[i]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < R; i++) {
        float sum = ns_warp_sum(acc[i]);
        if (lane == 0 && r0 + i < t.rows) y[(int64_t)blockIdx.y * t.rows + r0 + i] = ns_epilogue_apply(e, sum, r0 + i);
    }
}

/* Whether the lean dp4a GEMV takes w: uniform int8/int4/int2, rows of whole 16-byte chunks, groups a power of two of
   whole chunks. */
static bool ns_q8_lean_ok(const ns_tensor* w) {
    if (w->type != NS_INT8 && w->type != NS_INT4 && w->type != NS_INT2) return false;
    int cw = 128 / w->bits;
    return (w->row_bytes & 15) == 0 && (w->per_tensor || (w->g >= cw && (w->g & (w->g - 1)) == 0));
}

template <int BITS, int R = ns_q8_rows(BITS), int U = Q8_AHEAD>
__global__ void __launch_bounds__(THREADS) ns_gemv_q8_lean(ns_tensor t, const float* __restrict__ q8, float* __restrict__ y,
                                                           int n, ns_epilogue e) {
    ns_gemv_q8_lean_block<BITS, R, U>(t, blockIdx.x, q8, y, n, e);
}

/*
 * dp4a GEMV of a mixed-width matrix (groups of a multiple of 64) on q8 inputs: a warp per row, each lane a 16-byte
 * chunk per step with the next loaded ahead; ns_mixed_chunk places the chunk (width, stored group, first column) and
 * ns_q8_mixed_chunk_term sums it exactly in integers per unit, as the host's q8 row dot does chunk by chunk. A row's
 * codes run 8-bit groups, then 4-bit, then 2-bit, so a warp's lanes share one width except at two places per row.
 */
__global__ void __launch_bounds__(THREADS) ns_gemv_q8_mixed(ns_tensor t, const float* __restrict__ q8, float* __restrict__ y,
                                                            int n, ns_epilogue e) {
    int64_t r = (int64_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= t.rows) return;
    const int8_t* xq = reinterpret_cast<const int8_t*>(q8) + (int64_t)blockIdx.y * t.cols;
    const float* xd = ns_q8_steps(q8, (int64_t)n * t.cols) + (int64_t)blockIdx.y * t.cols / NS_Q8_BLOCK;
    ns_mixed_row m = t.mrows[r];
    const uint4* row = reinterpret_cast<const uint4*>(t.codes + m.code_off);
    int n16 = (int)(ns_mixed_units(&t, &m) / 2);
    uint4 q = make_uint4(0, 0, 0, 0), next = q;
    if (lane < n16) q = __ldg(row + lane);
    float acc = 0.f;
    for (int c = lane; c < n16; c += 32) {
        if (c + 32 < n16) next = __ldg(row + c + 32);
        const uint32_t w[4] = {q.x, q.y, q.z, q.w};
        acc += ns_q8_mixed_chunk_term(&t, &m, r, ns_mixed_chunk(&t, &m, r, c), w, xq, xd);
        q = next;
    }
    acc += ns_q8_mixed_outlier_term(&t, r, xq, xd, lane, 32);
    acc = ns_warp_sum(acc);
    if (lane == 0) y[(int64_t)blockIdx.y * t.rows + r] = ns_epilogue_apply(e, acc, r);
}

/*
 * Several products of one input (ns_matmul_many): each block finds its matrix (ns_many_pick) and runs the single
 * product's block on it. The matrices are indexed by constants, so the tensors stay in the parameter space.
 */
enum { NS_MANY_FLOAT, NS_MANY_Q8, NS_MANY_STAGED, NS_MANY_Q8_LEAN };

template <int BITS, int KIND>
__device__ __forceinline__ void ns_many_block(const ns_tensor& t, float* y, int64_t block, const float* x, int n) {
    const ns_epilogue none = {nullptr, NS_ACT_NONE};
    if (KIND == NS_MANY_Q8) {
        ns_gemv_q8_block<BITS>(t, block, x, y, n, none);
    } else if (KIND == NS_MANY_Q8_LEAN) {
        ns_gemv_q8_lean_block<BITS>(t, block, x, y, n, none);
    } else if (KIND == NS_MANY_STAGED) {
        ns_gemv_staged_block<BITS>(t, block, x, y, none, nullptr);
    } else {
        ns_gemv_uniform_block<BITS>(t, block, x, y, none, nullptr);
    }
}

template <int BITS, int KIND>
__global__ void ns_gemv_many(ns_many m, const float* __restrict__ x, int n) {
    int i = ns_many_pick(&m, blockIdx.x);
    int64_t block = blockIdx.x - m.first[i];
    if (i == 0) {
        ns_many_block<BITS, KIND>(m.t[0], m.y[0], block, x, n);
    } else if (i == 1) {
        ns_many_block<BITS, KIND>(m.t[1], m.y[1], block, x, n);
    } else {
        ns_many_block<BITS, KIND>(m.t[2], m.y[2], block, x, n);
    }
}

/* The q8 quantization of a warp's 32 values (one block; every lane calls it): codes, and the step by lane 0. */
__device__ __forceinline__ void ns_q8_warp(float v, int64_t at, int64_t values, float* q8) {
    float amax = fabsf(v);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    float step = ns_q8_step(amax);
    reinterpret_cast<int8_t*>(q8)[at] = ns_q8_code(v, ns_q8_inverse(step));
    if ((threadIdx.x & 31) == 0) ns_q8_steps(q8, values)[at / NS_Q8_BLOCK] = step;
}

/* A thread per value, a warp per block of 32 (values is a multiple of 32, so a warp is wholly in or out). */
__global__ void ns_quantize_q8_kernel(const float* __restrict__ x, int64_t values, float* q8) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i - (threadIdx.x & 31) >= values) return;
    ns_q8_warp(x[i], i, values, q8);
}

/*
 * Prefill on tensor cores: a block of 4 warps computes 64 rows × 32 vectors. Per k-slice of 32 weights, the block
 * decodes the weights to fp16 in shared memory (ns_unit_tile: the host build's decode) and rounds the inputs to
 * fp16 beside them; each warp multiplies its 16 rows by the two 16-vector halves (WMMA 16×16×16, mma.sync on
 * sm_80/sm_90, float32 accumulators). Rows and vectors past the edges are zero in the tiles and not written.
 */
namespace wmma = nvcuda::wmma;
static const int TM = 64, TN = 32, TK = 32, TLD = TK + 8; /* TLD: a row of a tile padded by 16 bytes (banks) */

template <int BITS>
__global__ void __launch_bounds__(128) ns_gemm_f16(ns_tensor t, const float* __restrict__ x, float* __restrict__ y, int n, ns_epilogue e) {
    __shared__ __align__(128) uint16_t wt[TM * TLD];
    __shared__ __align__(128) uint16_t xt[TN * TLD];
    __shared__ __align__(128) float ct[4][2][16 * 16];
    const int per = 64 / (BITS == 0 ? 4 : BITS), units_row = TK / per;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t r0 = (int64_t)blockIdx.x * TM;
    const int b0 = blockIdx.y * TN;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2];
    wmma::fill_fragment(acc[0], 0.f);
    wmma::fill_fragment(acc[1], 0.f);
    for (int64_t k0 = 0; k0 < t.cols; k0 += TK) {
        for (int i = threadIdx.x; i < TM * units_row; i += blockDim.x) {
            int rr = i / units_row, uu = i % units_row;
            int64_t r = r0 + rr;
            uint16_t* dst = wt + rr * TLD + uu * per;
            if (r < t.rows) {
                int64_t unit = k0 / per + uu;
                uint2 q = __ldg(reinterpret_cast<const uint2*>(t.codes + r * t.row_bytes) + unit);
                ns_unit_tile<BITS>(&t, r, unit, q.x, q.y, dst);
            } else {
                for (int k = 0; k < per; k++) dst[k] = 0;
            }
        }
        for (int i = threadIdx.x; i < TN * TK / 8; i += blockDim.x) {
            int bb = i / (TK / 8), kk = i % (TK / 8) * 8;
            uint16_t* dst = xt + bb * TLD + kk;
            float v[8];
            if (b0 + bb < n) {
                ns_load8(x + (int64_t)(b0 + bb) * t.cols + k0 + kk, v);
            } else {
                for (int k = 0; k < 8; k++) v[k] = 0.f;
            }
#pragma unroll
            for (int k = 0; k < 8; k++) dst[k] = ns_float_to_half(v[k]);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
            wmma::load_matrix_sync(fa, reinterpret_cast<const __half*>(wt + warp * 16 * TLD + kk), TLD);
#pragma unroll
            for (int j = 0; j < 2; j++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
                wmma::load_matrix_sync(fb, reinterpret_cast<const __half*>(xt + j * 16 * TLD + kk), TLD);
                wmma::mma_sync(acc[j], fa, fb, acc[j]);
            }
        }
        __syncthreads();
    }
    /* through shared memory, column-major (element (row m, vector v) at v·16 + m), to the bounds-checked stores */
    wmma::store_matrix_sync(ct[warp][0], acc[0], 16, wmma::mem_col_major);
    wmma::store_matrix_sync(ct[warp][1], acc[1], 16, wmma::mem_col_major);
    __syncwarp();
    for (int i = lane; i < 512; i += 32) {
        int j = i / 256, m = i % 16, v = i % 256 / 16;
        int64_t r = r0 + warp * 16 + m;
        int b = b0 + j * 16 + v;
        if (r < t.rows && b < n) y[(int64_t)b * t.rows + r] = ns_epilogue_apply(e, ct[warp][j][v * 16 + m], r);
    }
}

/* ---- embedding: one thread per weight of the row (mixed: per weight of a stored group) ---- */
__global__ void ns_embed_kernel(ns_tensor t, int32_t row, const int32_t* row_dev, float* out) {
    int64_t r = ns_pos(row, row_dev);
    int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c < t.cols && r >= 0 && r < t.rows) ns_decode_weight(&t, r, c, out);
}

__global__ void ns_embed_outliers(ns_tensor t, int32_t row, const int32_t* row_dev, float* out) {
    int64_t r = ns_pos(row, row_dev);
    if (threadIdx.x == 0 && r >= 0 && r < t.rows) ns_decode_outliers(&t, r, out);
}

/* ---- element-wise and row operations ---- */
__global__ void ns_rmsnorm_kernel(float* out, const float* x, const float* w, int n, float eps) {
    const float* xr = x + (int64_t)blockIdx.x * n;
    float ss = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) ss += xr[j] * xr[j];
    ss = ns_block_sum(ss);
    float inv = ns_rms_inv(ss, n, eps);
    for (int j = threadIdx.x; j < n; j += blockDim.x) out[(int64_t)blockIdx.x * n + j] = ns_rmsnorm1(xr[j], w[j], inv);
}

__global__ void ns_layernorm_kernel(float* out, const float* x, const float* w, const float* b, int n, float eps) {
    const float* xr = x + (int64_t)blockIdx.x * n;
    float s = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) s += xr[j];
    float mean = ns_block_sum(s) / n;
    float v = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) v += (xr[j] - mean) * (xr[j] - mean);
    float inv = ns_rms_inv(ns_block_sum(v), n, eps);
    for (int j = threadIdx.x; j < n; j += blockDim.x) out[(int64_t)blockIdx.x * n + j] = ns_layernorm1(xr[j], mean, inv, w[j], b[j]);
}

__global__ void ns_rope_kernel(float* v, int rows, int heads, int hs, int pos, const int32_t* pos_dev, int style,
                               const float* ct, const float* st) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < (int64_t)rows * heads * (hs / 2)) ns_rope_pair(v, idx, heads, hs, ns_pos(pos, pos_dev), style, ct, st);
}

/* keys/values rows at the position: a kernel, not a copy, so that a replayed graph reads the position's slot */
__global__ void ns_kv_store_kernel(float* keys, float* values, const float* k, const float* v, int64_t n, int pos,
                                   const int32_t* pos_dev, int kv_dim) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int64_t at = (int64_t)ns_pos(pos, pos_dev) * kv_dim + i;
    keys[at] = k[i];
    values[at] = v[i];
}

__global__ void ns_advance_kernel(int32_t* slot, int32_t by) {
    *slot += by;
}

__global__ void ns_add_kernel(float* y, const float* x, int64_t n, int64_t period) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] += x[period ? i % period : i];
}

__global__ void ns_gelu_kernel(float* x, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = ns_gelu_tanh1(x[i]);
}

/* A thread per value; with q8 (n a multiple of 32) a warp per q8 block, so a warp is wholly in or out. */
__global__ void ns_swiglu_kernel(float* g, const float* u, int64_t n, float* q8) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i - (threadIdx.x & 31) >= n) return;
    float v = i < n ? ns_swiglu1(g[i], u[i]) : 0.f;
    if (i < n) g[i] = v;
    if (q8 != nullptr) ns_q8_warp(v, i, n, q8);
}

__device__ void ns_softmax_block(float* x, int n) {
    float m = -INFINITY;
    for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, x[j]);
    m = ns_block_max(m);
    float s = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float e = expf(x[j] - m);
        x[j] = e;
        s += e;
    }
    float inv = 1.f / ns_block_sum(s);
    __syncthreads();
    for (int j = threadIdx.x; j < n; j += blockDim.x) x[j] *= inv;
    __syncthreads();
}

__global__ void ns_softmax_kernel(float* x, int n) {
    ns_softmax_block(x + (int64_t)blockIdx.x * n, n);
}

/*
 * Residual add + RMSNorm/LayerNorm (+ q8) of one row per block (ns_add_norm); with q8, a warp's 32 consecutive
 * outputs are one block (n is a multiple of 32). Each thread keeps its NORM_HELD values of the row in
 * registers between the passes (rows of up to NORM_HELD · blockDim values; longer ones reread memory), so the
 * passes do not wait on memory again: Nsight Compute timed the three-loads-per-pass version at ~11 µs for one
 * 2048-value row (a decode step runs two per layer), latency, not bytes.
 */
static const int NORM_HELD = 8;

/* 1024 threads (decode's single row): registers stay <= 64 in every build, PTX JIT-compiled for newer GPUs included */
__global__ void __launch_bounds__(1024) ns_add_norm_kernel(float* x, const float* delta, float* out, const float* w,
                                                           const float* b, int n, float eps, float* q8, int64_t values) {
    float* xr = x + (int64_t)blockIdx.x * n;
    float* o = out + (int64_t)blockIdx.x * n;
    const float* dr = delta != nullptr ? delta + (int64_t)blockIdx.x * n : nullptr;
    const bool held = n <= NORM_HELD * (int)blockDim.x;
    float v[NORM_HELD], wv[NORM_HELD], bv[NORM_HELD];
    float s = 0.f;
    if (held) {
#pragma unroll
        for (int k = 0; k < NORM_HELD; k++) { /* the weights too: loaded after the stores to x, they were a round trip each */
            int j = threadIdx.x + k * blockDim.x;
            v[k] = j < n ? xr[j] + (dr != nullptr ? dr[j] : 0.f) : 0.f;
            wv[k] = j < n ? w[j] : 0.f;
            bv[k] = j < n && b != nullptr ? b[j] : 0.f;
        }
#pragma unroll
        for (int k = 0; k < NORM_HELD; k++) {
            int j = threadIdx.x + k * blockDim.x;
            if (j < n) {
                if (dr != nullptr) xr[j] = v[k];
                s += b != nullptr ? v[k] : v[k] * v[k];
            }
        }
    } else {
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            float a = xr[j] + (dr != nullptr ? dr[j] : 0.f);
            if (dr != nullptr) xr[j] = a;
            s += b != nullptr ? a : a * a;
        }
    }
    s = ns_block_sum(s);
    float mean = 0.f, inv;
    if (b != nullptr) {
        mean = s / n;
        float var = 0.f;
        if (held) {
#pragma unroll
            for (int k = 0; k < NORM_HELD; k++) {
                if (threadIdx.x + k * blockDim.x < n) var += (v[k] - mean) * (v[k] - mean);
            }
        } else {
            for (int j = threadIdx.x; j < n; j += blockDim.x) var += (xr[j] - mean) * (xr[j] - mean);
        }
        inv = ns_rms_inv(ns_block_sum(var), n, eps);
    } else {
        inv = ns_rms_inv(s, n, eps);
    }
    auto emit = [&](int j0, float xv, float wj, float bj) { /* value j0 + threadIdx.x of the output (and q8 codes) */
        int j = j0 + threadIdx.x;
        float a = 0.f;
        if (j < n) {
            a = b != nullptr ? ns_layernorm1(xv, mean, inv, wj, bj) : ns_rmsnorm1(xv, wj, inv);
            o[j] = a;
        }
        if (q8 != nullptr && j0 + (int)(threadIdx.x & ~31u) < n) ns_q8_warp(a, (int64_t)blockIdx.x * n + j, values, q8);
    };
    if (held) {
#pragma unroll
        for (int k = 0; k < NORM_HELD; k++) {
            if (k * (int)blockDim.x >= n) break;
            emit(k * blockDim.x, v[k], wv[k], bv[k]);
        }
    } else {
        for (int j0 = 0; j0 < n; j0 += blockDim.x) {
            int j = j0 + threadIdx.x;
            emit(j0, j < n ? xr[j] : 0.f, j < n ? w[j] : 0.f, j < n && b != nullptr ? b[j] : 0.f);
        }
    }
}

__global__ void ns_rope_kv_store_kernel(float* q, float* k, const float* v, float* keys, float* values, int rows, int nh, int nkv,
                                        int hs, int pos, const int32_t* pos_dev, int style, const float* ct, const float* st,
                                        int64_t size) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < size) ns_rope_kv_store1(idx, q, k, v, keys, values, rows, nh, nkv, hs, ns_pos(pos, pos_dev), style, ct, st);
}

/* A block per (row, head): scores into the scratch row, softmax, then the weighted sum of values. */
/*
 * Attention of one query row and head per block over positions 0..p of the cache. Decode runs it at ~p < 100,
 * where latency, not bytes, sets the time (Nsight Compute: ~8 µs a launch on an H200 with each score a chain of
 * dependent loads): the query sits in shared memory, each thread reads its key row with all its float4 loads in
 * flight, and the scores stay in shared memory while they fit (ATT_HELD positions; beyond, the scores buffer).
 */
static const int ATT_HELD = 4096, ATT_HS = 256; /* positions held in shared memory; head size the fast path takes */

__global__ void ns_attention_kernel(const float* q, const float* keys, const float* values, float* out, float* scores,
                                    int pos, const int32_t* pos_dev, int nh, int nkv, int hs, int capacity, float* q8, int64_t values_q8) {
    __shared__ float held[ATT_HELD];
    __shared__ __align__(16) float qs[ATT_HS];
    int i = blockIdx.x / nh, h = blockIdx.x % nh, p = ns_pos(pos, pos_dev) + i;
    if (p >= capacity) return; /* a slot past the cache (checked on the host when the position is an argument) */
    int kv_dim = nkv * hs, group = nh / nkv;
    const float* qh = q + (int64_t)i * nh * hs + (int64_t)h * hs;
    const float* kb = keys + (int64_t)(h / group) * hs;
    const float* vb = values + (int64_t)(h / group) * hs;
    float* sc = p < ATT_HELD ? held : scores + (int64_t)blockIdx.x * capacity;
    float scale = 1.f / sqrtf((float)hs);
    bool fast = hs <= ATT_HS && hs % 4 == 0 && kv_dim % 4 == 0 && ((uintptr_t)keys & 15) == 0;
    if (fast) {
        for (int e = threadIdx.x; e < hs; e += blockDim.x) qs[e] = qh[e];
        __syncthreads();
        const float4* q4 = reinterpret_cast<const float4*>(qs);
        for (int j = threadIdx.x; j <= p; j += blockDim.x) {
            const float4* k4 = reinterpret_cast<const float4*>(kb + (int64_t)j * kv_dim);
            float d0 = 0.f, d1 = 0.f;
            for (int k0 = 0; k0 < hs / 4; k0 += 16) { /* 64 values a round trip: a head of 64 in one */
                float4 kv[16];
#pragma unroll
                for (int k = 0; k < 16; k++) {
                    if (k0 + k < hs / 4) kv[k] = __ldg(k4 + k0 + k);
                }
#pragma unroll
                for (int k = 0; k < 16; k++) {
                    if (k0 + k < hs / 4) {
                        float4 a = q4[k0 + k];
                        d0 = fmaf(a.x, kv[k].x, fmaf(a.y, kv[k].y, d0));
                        d1 = fmaf(a.z, kv[k].z, fmaf(a.w, kv[k].w, d1));
                    }
                }
            }
            sc[j] = (d0 + d1) * scale;
        }
    } else {
        for (int j = threadIdx.x; j <= p; j += blockDim.x) sc[j] = ns_attn_score(qh, kb, j, kv_dim, hs, scale);
    }
    __syncthreads();
    ns_softmax_block(sc, p + 1);
    float* o = out + (int64_t)i * nh * hs + (int64_t)h * hs;
    if (hs > (int)blockDim.x || blockDim.x % hs != 0) {
        for (int e = threadIdx.x; e < hs; e += blockDim.x) o[e] = ns_attn_value(sc, vb, e, p, kv_dim);
        return;
    }
    /* The weighted sum of values: blockDim / hs groups of threads take every so-many positions each, then meet in
       shared memory (a thread per element alone walked all p + 1 positions). */
    __shared__ float part[THREADS];
    int groups = blockDim.x / hs, gi = threadIdx.x / hs, e = threadIdx.x % hs;
    float acc = 0.f;
#pragma unroll 8
    for (int j = gi; j <= p; j += groups) acc += sc[j] * __ldg(vb + (int64_t)j * kv_dim + e);
    part[threadIdx.x] = acc;
    __syncthreads();
    if ((int)threadIdx.x < hs) { /* whole warps: hs is a multiple of 32 where q8 is asked for */
        float sum = 0.f;
        for (int k = 0; k < groups; k++) sum += part[k * hs + threadIdx.x];
        o[threadIdx.x] = sum;
        if (q8 != nullptr) ns_q8_warp(sum, (int64_t)i * nh * hs + (int64_t)h * hs + threadIdx.x, values_q8, q8);
    }
}

/*
 * One block: k rounds of a block argmax, each over the elements after the previous pick (value descending, then
 * index ascending), then the sample from the k picks.
 */
__global__ void ns_topk_kernel(const float* x, int n, int k, float temperature, float u, int32_t* out) {
    __shared__ float bv[THREADS];
    __shared__ int bi[THREADS];
    __shared__ float tv[NS_TOPK_MAX];
    __shared__ int ti[NS_TOPK_MAX];
    for (int r = 0; r < k; r++) {
        float best = -INFINITY;
        int at = -1;
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            float v = x[j];
            if ((r == 0 || ns_topk_after(v, j, tv[r - 1], ti[r - 1])) && ns_argmax_beats(v, j, best, at)) {
                best = v;
                at = j;
            }
        }
        bv[threadIdx.x] = best;
        bi[threadIdx.x] = at;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                float ov = bv[threadIdx.x + s];
                int oi = bi[threadIdx.x + s];
                if (oi >= 0 && ns_argmax_beats(ov, oi, bv[threadIdx.x], bi[threadIdx.x])) {
                    bv[threadIdx.x] = ov;
                    bi[threadIdx.x] = oi;
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            tv[r] = bv[0];
            ti[r] = bi[0];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = ns_sample_sorted(tv, ti, k, temperature, u);
}

static unsigned ns_blocks(int64_t n) {
    return (unsigned)((n + THREADS - 1) / THREADS);
}

template <typename T>
static int32_t ns_device_copy(ns_context* ctx, const void* src, int64_t bytes, T** out) {
    void* p = nullptr;
    NS_CUDA(cudaMalloc(&p, bytes > 0 ? (size_t)bytes : 1));
    *out = (T*)p;
    NS_CUDA(cudaMemcpyAsync(p, src, (size_t)bytes, cudaMemcpyHostToDevice, ctx->stream));
    return NS_OK;
}

/* Whether kernel may take `bytes` of dynamic shared memory (up to 160 KiB); above the default 48 KiB the kernel is
   allowed more, once per kernel (a call per launch would cost host time in eager steps). */
static bool ns_allow_smem(const void* kernel, size_t bytes) {
    if (bytes > 160 * 1024) return false;
    if (bytes <= 48 * 1024) return true;
    static std::mutex mu;
    static std::vector<std::pair<const void*, size_t>> allowed;
    std::lock_guard<std::mutex> lock(mu);
    for (auto& a : allowed) {
        if (a.first == kernel && a.second >= bytes) return true;
    }
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    allowed.emplace_back(kernel, bytes);
    return true;
}

/* Whether the staged GEMV takes w: rows of whole 16-byte chunks, and its input in shared memory (40960 columns at most);
   otherwise the warp-per-row kernel runs. */
template <typename Kernel>
static bool ns_staged_ok(Kernel kernel, const ns_tensor* w) {
    return (w->row_bytes & 15) == 0 && ns_allow_smem((const void*)kernel, ns_gemv_smem(w->cols));
}

extern "C" {

NS_API const char* ns_backend_name(void) { return "cuda"; }

NS_API const char* ns_last_error(void) { return ns_error; }

NS_API int32_t ns_device_count(int32_t* count) {
    int n = 0;
    *count = 0;
    NS_CUDA(cudaGetDeviceCount(&n));
    *count = n;
    return NS_OK;
}

NS_API int32_t ns_create(int32_t device, ns_context** out) {
    int n = 0;
    NS_CUDA(cudaGetDeviceCount(&n));
    if (device < 0 || device >= n) {
        return ns_fail(NS_E_NO_DEVICE, "CUDA device %d asked for; %d present", device, n);
    }
    NS_CUDA(cudaSetDevice(device));
    ns_context* ctx = new ns_context();
    ctx->device = device;
    cudaError_t e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        delete ctx;
        return ns_fail(NS_E_CUDA, "cudaStreamCreateWithFlags failed: %s", cudaGetErrorString(e));
    }
    *out = ctx;
    return NS_OK;
}

NS_API int32_t ns_destroy(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->exec) NS_CUDA(cudaGraphExecDestroy(ctx->exec));
    if (ctx->graph) NS_CUDA(cudaGraphDestroy(ctx->graph));
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    for (cudaEvent_t e : ctx->marks) NS_CUDA(cudaEventDestroy(e));
    if (ctx->launch_start) NS_CUDA(cudaEventDestroy(ctx->launch_start));
    if (ctx->launch_stop) NS_CUDA(cudaEventDestroy(ctx->launch_stop));
    NS_CUDA(cudaStreamDestroy(ctx->stream));
    delete ctx;
    return NS_OK;
}

NS_API int32_t ns_device_name(ns_context* ctx, char* buf, int32_t capacity) {
    NS_NEED(ctx);
    cudaDeviceProp p;
    NS_CUDA(cudaGetDeviceProperties(&p, ctx->device));
    snprintf(buf, (size_t)capacity, "%s (sm_%d%d, %d SMs, %.1f GiB)", p.name, p.major, p.minor, p.multiProcessorCount,
             p.totalGlobalMem / 1073741824.0);
    return NS_OK;
}

NS_API int32_t ns_memory(ns_context* ctx, int64_t* free_bytes, int64_t* total_bytes) {
    NS_NEED(ctx);
    size_t f = 0, t = 0;
    NS_CUDA(cudaMemGetInfo(&f, &t));
    *free_bytes = (int64_t)f;
    *total_bytes = (int64_t)t;
    return NS_OK;
}

NS_API int32_t ns_alloc(ns_context* ctx, int64_t floats, float** out) {
    NS_NEED(ctx);
    void* p = nullptr;
    NS_CUDA(cudaMalloc(&p, 4 * (size_t)(floats > 0 ? floats : 1)));
    NS_CUDA(cudaMemsetAsync(p, 0, 4 * (size_t)(floats > 0 ? floats : 1), ctx->stream));
    *out = (float*)p;
    return NS_OK;
}

NS_API int32_t ns_free(ns_context* ctx, float* p) {
    NS_NEED(ctx);
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    NS_CUDA(cudaFree(p));
    return NS_OK;
}

NS_API int32_t ns_write(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    /* Synchronous: src is Java memory that may be freed as soon as this returns. */
    NS_CUDA(cudaMemcpyAsync(dst, src, 4 * (size_t)n, cudaMemcpyHostToDevice, ctx->stream));
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    return NS_OK;
}

NS_API int32_t ns_read(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    NS_CUDA(cudaMemcpyAsync(dst, src, 4 * (size_t)n, cudaMemcpyDeviceToHost, ctx->stream));
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    return NS_OK;
}

NS_API int32_t ns_read_i32(ns_context* ctx, int32_t* dst, const int32_t* src, int64_t n) {
    NS_NEED(ctx);
    NS_CUDA(cudaMemcpyAsync(dst, src, 4 * (size_t)n, cudaMemcpyDeviceToHost, ctx->stream));
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    return NS_OK;
}

NS_API int32_t ns_write_i32(ns_context* ctx, int32_t* dst, const int32_t* src, int64_t n) {
    NS_NEED(ctx);
    NS_CUDA(cudaMemcpyAsync(dst, src, 4 * (size_t)n, cudaMemcpyHostToDevice, ctx->stream));
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    return NS_OK;
}

NS_API int32_t ns_sync(ns_context* ctx) {
    NS_NEED(ctx);
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    return NS_OK;
}

NS_API int32_t ns_release(ns_context* ctx, ns_tensor* t);

NS_API int32_t ns_upload(ns_context* ctx, const ns_tensor_desc* d, ns_tensor** out) {
    NS_NEED(ctx);
    ns_mixed_index mix;
    ns_tensor* t = new ns_tensor();
    int32_t st = ns_describe(d, t, &mix);
    if (st == NS_OK) st = ns_device_copy(ctx, d->data, d->data_bytes, &t->codes);
    if (st == NS_OK && d->scales) st = ns_device_copy(ctx, d->scales, d->scales_bytes, &t->scales);
    if (st == NS_OK && d->zeros) st = ns_device_copy(ctx, d->zeros, d->zeros_bytes, &t->zeros);
    if (st == NS_OK && t->type == NS_MIXED) {
        st = ns_device_copy(ctx, mix.rows.data(), (int64_t)(mix.rows.size() * sizeof(ns_mixed_row)), &t->mrows);
        if (st == NS_OK) st = ns_device_copy(ctx, mix.order.data(), (int64_t)(mix.order.size() * 2), &t->order);
        if (st == NS_OK && d->outliers) {
            st = ns_device_copy(ctx, d->outlier_rows, d->outlier_rows_bytes, &t->outlier_rows);
            if (st == NS_OK) st = ns_device_copy(ctx, d->outliers, d->outliers_bytes, &t->outliers);
        }
    }
    /* The host vectors and Java's sections must outlive the copies. */
    if (st == NS_OK) {
        cudaError_t e = cudaStreamSynchronize(ctx->stream);
        if (e != cudaSuccess) st = ns_fail(NS_E_CUDA, "upload: %s", cudaGetErrorString(e));
    }
    if (st != NS_OK) {
        char keep[sizeof ns_error];
        memcpy(keep, ns_error, sizeof keep);
        ns_release(ctx, t);
        memcpy(ns_error, keep, sizeof keep);
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
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    void* parts[] = {t->codes, t->scales, t->zeros, t->mrows, t->order, t->outlier_rows, t->outliers};
    for (void* p : parts) {
        if (p) NS_CUDA(cudaFree(p));
    }
    delete t;
    return NS_OK;
}

static int32_t ns_matmul_gemv(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    dim3 grid((unsigned)((w->rows + WARPS - 1) / WARPS), (unsigned)n);
    dim3 staged((unsigned)((w->rows + WARPS * GEMV_ROWS - 1) / (WARPS * GEMV_ROWS)), (unsigned)n);
    size_t sm = ns_gemv_smem(w->cols);
#define NS_UNIFORM(B)                                                                                  \
    if (ns_staged_ok(ns_gemv_staged<B>, w)) NS_GO_SM(ctx, ns_gemv_staged<B>, staged, THREADS, sm, *w, x, y, e); \
    else NS_GO(ctx, ns_gemv_uniform<B>, grid, THREADS, *w, x, y, e);
    switch (w->type) {
        case NS_F32: case NS_F16: NS_GO(ctx, ns_gemv_dense, grid, THREADS, *w, x, y, e); break;
        case NS_INT8: NS_UNIFORM(8); break;
        case NS_INT4: NS_UNIFORM(4); break;
        case NS_INT2: NS_UNIFORM(2); break;
        case NS_NF4: NS_UNIFORM(0); break;
#undef NS_UNIFORM
        case NS_MIXED:
            if (w->g % 64 == 0 && ns_allow_smem((const void*)ns_gemv_mixed_staged, sm)) {
                NS_GO_SM(ctx, ns_gemv_mixed_staged, grid, THREADS, sm, *w, x, y, e);
            } else {
                NS_GO(ctx, ns_gemv_mixed, grid, THREADS, *w, x, y, e);
            }
            break;
        default: return ns_fail(NS_E_UNSUPPORTED, "matmul: type %d", w->type);
    }
    return NS_OK;
}

NS_API int32_t ns_matmul(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n) {
    return ns_matmul_gemv(ctx, w, x, y, n, ns_epilogue{NULL, NS_ACT_NONE});
}

NS_API int32_t ns_embed(ns_context* ctx, const ns_tensor* w, int32_t row, const int32_t* row_dev, float* out) {
    NS_NEED(ctx);
    if (row_dev == NULL && (row < 0 || row >= w->rows)) {
        return ns_fail(NS_E_ARGUMENT, "embedding row %d outside 0..%d", row, w->rows - 1);
    }
    NS_GO(ctx, ns_embed_kernel, ns_blocks(w->cols), THREADS, *w, row, row_dev, out);
    if (w->outliers) NS_GO(ctx, ns_embed_outliers, 1, 32, *w, row, row_dev, out);
    return NS_OK;
}

NS_API int32_t ns_rmsnorm(ns_context* ctx, float* out, const float* x, const float* w, int32_t rows, int32_t n, float eps) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_rmsnorm_kernel, rows, THREADS, out, x, w, n, eps);
    return NS_OK;
}

NS_API int32_t ns_layernorm(ns_context* ctx, float* out, const float* x, const float* w, const float* b, int32_t rows,
                            int32_t n, float eps) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_layernorm_kernel, rows, THREADS, out, x, w, b, n, eps);
    return NS_OK;
}

NS_API int32_t ns_rope(ns_context* ctx, float* v, int32_t rows, int32_t heads, int32_t hs, int32_t pos, const int32_t* pos_dev,
                       int32_t style, const float* cos_t, const float* sin_t) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_rope_kernel, ns_blocks((int64_t)rows * heads * (hs / 2)), THREADS, v, rows, heads, hs, pos, pos_dev, style,
          cos_t, sin_t);
    return NS_OK;
}

NS_API int32_t ns_add(ns_context* ctx, float* y, const float* x, int64_t n) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_add_kernel, ns_blocks(n), THREADS, y, x, n, (int64_t)0);
    return NS_OK;
}

NS_API int32_t ns_add_bias(ns_context* ctx, float* x, const float* bias, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_add_kernel, ns_blocks((int64_t)rows * n), THREADS, x, bias, (int64_t)rows * n, (int64_t)n);
    return NS_OK;
}

/* Copy k = blockIdx.y of an ns_copy_many (the pointers picked by constants, so they stay in the parameter space). */
struct ns_copies {
    float* d[NS_COPY_MAX];
    const float* s[NS_COPY_MAX];
};

__global__ void ns_copy_many_kernel(ns_copies c, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int k = blockIdx.y;
    float* d = k == 0 ? c.d[0] : k == 1 ? c.d[1] : k == 2 ? c.d[2] : c.d[3];
    const float* s = k == 0 ? c.s[0] : k == 1 ? c.s[1] : k == 2 ? c.s[2] : c.s[3];
    d[i] = s[i];
}

NS_API int32_t ns_copy_many(ns_context* ctx, int32_t count, float* const* dsts, const float* const* srcs, int64_t n) {
    NS_NEED(ctx);
    if (count < 1 || count > NS_COPY_MAX || dsts == NULL || srcs == NULL) return ns_fail(NS_E_ARGUMENT, "copy_many: %d copies", count);
    ns_copies c{};
    for (int32_t i = 0; i < count; i++) {
        c.d[i] = dsts[i];
        c.s[i] = srcs[i];
    }
    NS_GO(ctx, ns_copy_many_kernel, dim3(ns_blocks(n), (unsigned)count), THREADS, c, n);
    return NS_OK;
}

NS_API int32_t ns_copy(ns_context* ctx, float* dst, const float* src, int64_t n) {
    NS_NEED(ctx);
    NS_CUDA(ns_mark(ctx));
    NS_CUDA(cudaMemcpyAsync(dst, src, 4 * (size_t)n, cudaMemcpyDeviceToDevice, ctx->stream));
    NS_CUDA(ns_mark(ctx));
    return NS_OK;
}

NS_API int32_t ns_gelu_tanh(ns_context* ctx, float* x, int64_t n) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_gelu_kernel, ns_blocks(n), THREADS, x, n);
    return NS_OK;
}

NS_API int32_t ns_swiglu(ns_context* ctx, float* g, const float* u, int64_t n, float* q8) {
    NS_NEED(ctx);
    int32_t st = q8 != NULL ? ns_check_q8_width((int32_t)n) : NS_OK;
    if (st != NS_OK) return st;
    NS_GO(ctx, ns_swiglu_kernel, ns_blocks(n), THREADS, g, u, n, q8);
    return NS_OK;
}

NS_API int32_t ns_softmax(ns_context* ctx, float* x, int32_t rows, int32_t n) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_softmax_kernel, rows, THREADS, x, n);
    return NS_OK;
}

NS_API int32_t ns_kv_store(ns_context* ctx, float* keys, float* values, const float* k, const float* v, int32_t rows,
                           int32_t pos, const int32_t* pos_dev, int32_t kv_dim) {
    NS_NEED(ctx);
    int64_t n = (int64_t)rows * kv_dim;
    NS_GO(ctx, ns_kv_store_kernel, ns_blocks(n), THREADS, keys, values, k, v, n, pos, pos_dev, kv_dim);
    return NS_OK;
}

NS_API int32_t ns_attention(ns_context* ctx, const float* q, const float* keys, const float* values, float* out,
                            float* scores, int32_t rows, int32_t pos, const int32_t* pos_dev, int32_t nh, int32_t nkv,
                            int32_t hs, int32_t capacity, float* q8) {
    NS_NEED(ctx);
    int32_t st = ns_check_attention(rows, pos, pos_dev, nh, nkv, hs, capacity, q8);
    if (st != NS_OK) return st;
    static_assert(NS_ATTENTION_Q8_HEADS == THREADS, "the kernel's value sum takes blockDim / hs groups");
    NS_GO(ctx, ns_attention_kernel, rows * nh, THREADS, q, keys, values, out, scores, pos, pos_dev, nh, nkv, hs, capacity, q8,
          (int64_t)rows * nh * hs);
    return NS_OK;
}

NS_API int32_t ns_sample_topk(ns_context* ctx, const float* x, int32_t n, int32_t k, float temperature, float u, int32_t* out) {
    NS_NEED(ctx);
    if (k < 1 || k > NS_TOPK_MAX || k > n) {
        return ns_fail(NS_E_ARGUMENT, "top-k: k = %d outside 1..%d (and at most n = %d)", k, NS_TOPK_MAX, n);
    }
    NS_GO(ctx, ns_topk_kernel, 1, THREADS, x, n, k, temperature, u, out);
    return NS_OK;
}

NS_API int32_t ns_argmax(ns_context* ctx, const float* x, int32_t n, int32_t* out) {
    return ns_sample_topk(ctx, x, n, 1, 0.f, 0.f, out);
}

NS_API int32_t ns_advance(ns_context* ctx, int32_t* slot, int32_t by) {
    NS_NEED(ctx);
    NS_GO(ctx, ns_advance_kernel, 1, 1, slot, by);
    return NS_OK;
}

static int32_t ns_matmul_tiles(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    int32_t st = ns_check_f16(w);
    if (st != NS_OK) return st;
    dim3 grid((unsigned)((w->rows + TM - 1) / TM), (unsigned)((n + TN - 1) / TN));
    switch (w->type) {
        case NS_INT8: NS_GO(ctx, ns_gemm_f16<8>, grid, 128, *w, x, y, n, e); break;
        case NS_INT4: NS_GO(ctx, ns_gemm_f16<4>, grid, 128, *w, x, y, n, e); break;
        case NS_INT2: NS_GO(ctx, ns_gemm_f16<2>, grid, 128, *w, x, y, n, e); break;
        default: NS_GO(ctx, ns_gemm_f16<0>, grid, 128, *w, x, y, n, e); break;
    }
    return NS_OK;
}

NS_API int32_t ns_matmul_f16(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n) {
    return ns_matmul_tiles(ctx, w, x, y, n, ns_epilogue{NULL, NS_ACT_NONE});
}

NS_API int32_t ns_quantize_q8(ns_context* ctx, const float* x, int32_t rows, int32_t n, float* q8) {
    NS_NEED(ctx);
    int32_t st = ns_check_q8_width(n);
    if (st != NS_OK) return st;
    int64_t values = (int64_t)rows * n;
    NS_GO(ctx, ns_quantize_q8_kernel, ns_blocks(values), THREADS, x, values, q8);
    return NS_OK;
}

static int32_t ns_matmul_dp4a(ns_context* ctx, const ns_tensor* w, const float* q8, float* y, int32_t n, ns_epilogue e) {
    NS_NEED(ctx);
    int32_t st = ns_check_q8(w);
    if (st != NS_OK) return st;
    dim3 grid((unsigned)((w->rows + WARPS - 1) / WARPS), (unsigned)n);
    const int lr = WARPS * ns_q8_rows(w->bits);
    dim3 lean((unsigned)((w->rows + lr - 1) / lr), (unsigned)n);
#define NS_DP4A(B)                                                                         \
    if (ns_q8_lean_ok(w)) NS_GO(ctx, ns_gemv_q8_lean<B>, lean, THREADS, *w, q8, y, n, e); \
    else NS_GO(ctx, ns_gemv_q8<B>, grid, THREADS, *w, q8, y, n, e);
    switch (w->type) {
        case NS_INT8: NS_DP4A(8); break;
        case NS_INT4: NS_DP4A(4); break;
        case NS_MIXED: NS_GO(ctx, ns_gemv_q8_mixed, grid, THREADS, *w, q8, y, n, e); break;
        default: NS_DP4A(2); break;
    }
#undef NS_DP4A
    return NS_OK;
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

NS_API int32_t ns_matmul_many(ns_context* ctx, int32_t kind, int32_t count, const ns_tensor* const* ws, const float* x,
                              float* const* ys, int32_t n) {
    NS_NEED(ctx);
    if (count < 1 || ws == NULL || ws[0] == NULL) return ns_fail(NS_E_ARGUMENT, "matmul_many: %d products", count);
    bool q8 = kind == NS_MATMUL_Q8;
    /* the float products go staged when their shared input fits (all have the first one's type and width) */
    bool staged = !q8 && (ws[0]->type == NS_INT8 ? ns_staged_ok(ns_gemv_many<8, NS_MANY_STAGED>, ws[0])
                          : ws[0]->type == NS_INT4 ? ns_staged_ok(ns_gemv_many<4, NS_MANY_STAGED>, ws[0])
                                                   : ns_staged_ok(ns_gemv_many<2, NS_MANY_STAGED>, ws[0]));
    bool lean = q8;
    for (int32_t i = 0; i < count && lean; i++) lean = ws[i] != NULL && ns_q8_lean_ok(ws[i]);
    ns_many m;
    int32_t st = ns_many_describe(kind, count, ws, ys, staged ? WARPS * GEMV_ROWS : lean ? WARPS * ns_q8_rows(ws[0]->bits) : WARPS, &m);
    if (st != NS_OK) return st;
    dim3 grid((unsigned)m.first[count], (unsigned)n);
    size_t sm = staged ? ns_gemv_smem(m.t[0].cols) : 0;
#define NS_MANY(B)                                                                                                   \
    if (lean) NS_GO(ctx, (ns_gemv_many<B, NS_MANY_Q8_LEAN>), grid, THREADS, m, x, n);                                \
    else if (q8) NS_GO(ctx, (ns_gemv_many<B, NS_MANY_Q8>), grid, THREADS, m, x, n);                                  \
    else if (!staged) NS_GO(ctx, (ns_gemv_many<B, NS_MANY_FLOAT>), grid, THREADS, m, x, n);                          \
    else NS_GO_SM(ctx, (ns_gemv_many<B, NS_MANY_STAGED>), grid, THREADS, sm, m, x, n);
    switch (m.t[0].type) {
        case NS_INT8: NS_MANY(8); break;
        case NS_INT4: NS_MANY(4); break;
        default: NS_MANY(2); break;
    }
#undef NS_MANY
    return NS_OK;
}

NS_API int32_t ns_add_norm(ns_context* ctx, float* x, const float* delta, float* out, const float* w, const float* b,
                           int32_t rows, int32_t n, float eps, float* q8) {
    NS_NEED(ctx);
    if (q8 != NULL) {
        int32_t st = ns_check_q8_width(n);
        if (st != NS_OK) return st;
    }
    /* few rows (a decode step): a wide block per row, so each thread holds a few of its values */
    int threads = rows < 32 ? std::min(1024, std::max(THREADS, (n / 4 + 31) / 32 * 32)) : THREADS;
    NS_GO(ctx, ns_add_norm_kernel, rows, threads, x, delta, out, w, b, n, eps, q8, (int64_t)rows * n);
    return NS_OK;
}

NS_API int32_t ns_rope_kv_store(ns_context* ctx, float* q, float* k, const float* v, float* keys, float* values, int32_t rows,
                                int32_t nh, int32_t nkv, int32_t hs, int32_t pos, const int32_t* pos_dev, int32_t style,
                                const float* cos_t, const float* sin_t) {
    NS_NEED(ctx);
    int64_t size = ns_rope_kv_store_size(q != NULL, rows, nh, nkv, hs);
    NS_GO(ctx, ns_rope_kv_store_kernel, ns_blocks(size), THREADS, q, k, v, keys, values, rows, nh, nkv, hs, pos, pos_dev, style,
          cos_t, sin_t, size);
    return NS_OK;
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
    cudaEvent_t start, stop;
    NS_CUDA(cudaEventCreate(&start));
    NS_CUDA(cudaEventCreate(&stop));
    NS_CUDA(cudaEventRecord(start, ctx->stream));
    for (int32_t i = 0; i < iters; i++) {
        int32_t st = ns_product(ctx, kind, ts[i % count], x, q8, y, n);
        if (st != NS_OK) return st;
    }
    NS_CUDA(cudaEventRecord(stop, ctx->stream));
    NS_CUDA(cudaEventSynchronize(stop));
    NS_CUDA(cudaEventElapsedTime(ms, start, stop));
    NS_CUDA(cudaEventDestroy(start));
    NS_CUDA(cudaEventDestroy(stop));
    return NS_OK;
}

NS_API int32_t ns_time_matmul(ns_context* ctx, const ns_tensor* const* ts, int32_t count, const float* x, float* y,
                              int32_t n, int32_t iters, float* ms) {
    return ns_time_product(ctx, NS_MATMUL_GEMV, ts, count, x, NULL, y, n, iters, ms);
}

/* Records what is enqueued until ns_graph_end (stream capture: nothing runs meanwhile). */
NS_API int32_t ns_graph_begin(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->recording || ctx->profiling) return ns_fail(NS_E_ARGUMENT, "graph_begin: already recording or profiling");
    NS_CUDA(cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
    ctx->recording = true;
    return NS_OK;
}

NS_API int32_t ns_graph_end(ns_context* ctx, int32_t* nodes) {
    NS_NEED(ctx);
    if (!ctx->recording) return ns_fail(NS_E_ARGUMENT, "graph_end: not recording");
    ctx->recording = false;
    // End the capture first, whatever happens next: destroying the previous graph while the stream captures is itself
    // refused (cudaErrorStreamCaptureUnsupported), and a stream left capturing fails every later call (the first device
    // run, bench/results/cuda-device-2026-12-04.md: a second recording in one context).
    cudaGraph_t recorded = nullptr;
    cudaError_t ended = cudaStreamEndCapture(ctx->stream, &recorded);
    if (ended != cudaSuccess && recorded) cudaGraphDestroy(recorded);
    NS_CUDA(ended);
    if (ctx->exec) NS_CUDA(cudaGraphExecDestroy(ctx->exec));
    if (ctx->graph) NS_CUDA(cudaGraphDestroy(ctx->graph));
    ctx->exec = nullptr;
    ctx->graph = recorded;
    NS_CUDA(cudaGraphInstantiate(&ctx->exec, ctx->graph, 0));
    if (nodes) {
        size_t count = 0;
        NS_CUDA(cudaGraphGetNodes(ctx->graph, nullptr, &count));
        *nodes = (int32_t)count;
    }
    return NS_OK;
}

/* Folds the last launch's event time into the totals once it has finished (called after a synchronising point). */
static int32_t ns_fold_launch(ns_context* ctx) {
    if (!ctx->launch_pending) return NS_OK;
    NS_CUDA(cudaEventSynchronize(ctx->launch_stop));
    NS_CUDA(cudaEventElapsedTime(&ctx->last_ms, ctx->launch_start, ctx->launch_stop));
    ctx->total_ms += ctx->last_ms;
    ctx->launches++;
    ctx->launch_pending = false;
    return NS_OK;
}

NS_API int32_t ns_graph_launch(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->exec == nullptr || ctx->recording) {
        return ns_fail(NS_E_ARGUMENT, "no graph recorded (ns_graph_begin/ns_graph_end first)");
    }
    int32_t st = ns_fold_launch(ctx);
    if (st != NS_OK) return st;
    if (ctx->launch_start == nullptr) {
        NS_CUDA(cudaEventCreate(&ctx->launch_start));
        NS_CUDA(cudaEventCreate(&ctx->launch_stop));
    }
    NS_CUDA(cudaEventRecord(ctx->launch_start, ctx->stream));
    NS_CUDA(cudaGraphLaunch(ctx->exec, ctx->stream));
    NS_CUDA(cudaEventRecord(ctx->launch_stop, ctx->stream));
    ctx->launch_pending = true;
    return NS_OK;
}

NS_API int32_t ns_graph_time(ns_context* ctx, float* last_ms, double* total_ms, int64_t* launches) {
    NS_NEED(ctx);
    int32_t st = ns_fold_launch(ctx);
    if (st != NS_OK) return st;
    *last_ms = ctx->last_ms;
    *total_ms = ctx->total_ms;
    *launches = ctx->launches;
    return NS_OK;
}

NS_API int32_t ns_profile_begin(ns_context* ctx) {
    NS_NEED(ctx);
    if (ctx->recording) return ns_fail(NS_E_ARGUMENT, "profile_begin: recording a graph");
    ctx->profiling = true;
    ctx->used_marks = 0;
    return NS_OK;
}

NS_API int32_t ns_profile_end(ns_context* ctx, float* kernels_ms, float* span_ms, int32_t* ops) {
    NS_NEED(ctx);
    if (!ctx->profiling) return ns_fail(NS_E_ARGUMENT, "profile_end: not profiling");
    ctx->profiling = false;
    NS_CUDA(cudaStreamSynchronize(ctx->stream));
    float sum = 0.f;
    for (size_t i = 0; i + 1 < ctx->used_marks; i += 2) {
        float ms = 0.f;
        NS_CUDA(cudaEventElapsedTime(&ms, ctx->marks[i], ctx->marks[i + 1]));
        sum += ms;
    }
    *kernels_ms = sum;
    *span_ms = 0.f;
    if (ctx->used_marks >= 2) NS_CUDA(cudaEventElapsedTime(span_ms, ctx->marks[0], ctx->marks[ctx->used_marks - 1]));
    *ops = (int32_t)(ctx->used_marks / 2);
    return NS_OK;
}

}
