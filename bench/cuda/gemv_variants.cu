/*
 * Batch-1 GEMV decompositions of the packed uniform formats, timed in one run on a GPU beside the library's own
 * kernels (issue #8's GEMV speed). One translation unit with the library (ns_cuda.cu), so the tensors are the ones
 * ns_upload makes and each variant's output is checked against the library's kernel on the same input.
 *
 * Variants (R: rows per warp, sharing the inputs each lane loads; U: 16-byte chunks in flight per lane and row):
 *   lib        the library's ns_gemv_uniform / ns_gemv_q8 (a warp per row, lanes over 16-byte chunks)
 *   chunks     the same lane decomposition, 32-bit index arithmetic (the group by a shift), R rows per warp
 *   smem       chunks, with x staged once per block in shared memory, swizzled so that 8 lanes reading the k-th
 *              float4 of their own chunks hit 8 different 16-byte bank groups
 *   q8chunks   q8 (int8) activations and dp4a, chunks' decomposition
 *
 * build: nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -Inative/include -Inative/src \
 *        bench/cuda/gemv_variants.cu -o gemv_variants
 * run:   ./gemv_variants [iters]      (prints a markdown table; exit status 1 if any output is wrong)
 */
#include "ns_cuda.cu"

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace variants {

__device__ __forceinline__ float scale_at(const ns_tensor& t, int idx) {
    return __half2float(__ushort_as_half(__ldg(reinterpret_cast<const unsigned short*>(t.scales) + idx)));
}

__device__ __forceinline__ float zero_at(const ns_tensor& t, int idx) {
    if (!t.asym) return (float)(1 << (t.bits - 1));
    return (float)ns_read_bits(t.zeros, (int64_t)idx * t.bits, t.bits);
}

/* Σ u·x over one unit (64/BITS weights; xs in registers), exact conversions. */
template <int BITS>
__device__ __forceinline__ float unit_ux(uint32_t lo, uint32_t hi, const float* xs) {
    const int P = 8 / BITS;
    const uint32_t mask = (1u << BITS) - 1u;
    float a = 0.f;
#pragma unroll
    for (int p = 0; p < P; p++) {
#pragma unroll
        for (int j = 0; j < 8; j++) {
            uint32_t w = j < 4 ? lo : hi;
            uint32_t b = BITS == 8 ? ((w >> (8 * (j & 3))) & 0xffu) ^ 0x80u : (w >> (8 * (j & 3) + BITS * p)) & mask;
            a = fmaf(ns_code_float(b), xs[8 * p + j], a);
        }
    }
    return a;
}

/* Float4 index f of x as stored in shared memory: XOR-swizzled within 128-byte rows by the chunk (F float4s). */
template <int F>
__device__ __forceinline__ int swz(int f) {
    return f ^ ((f / F) & 7);
}

template <int BITS, int R, int U, bool SMEM>
__global__ void __launch_bounds__(256) gemv_chunks(ns_tensor t, const float* __restrict__ x, float* __restrict__ y, int gshift) {
    const int UC = 64 / BITS;   /* columns per 8-byte unit */
    const int F = UC / 2;       /* float4s per 16-byte chunk */
    extern __shared__ float4 xs4[];
    if (SMEM) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int f = threadIdx.x; f < t.cols / 4; f += blockDim.x) xs4[swz<F>(f)] = __ldg(x4 + f);
        __syncthreads();
    }
    int warp = blockIdx.x * 8 + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    int r0 = warp * R;
    if (r0 >= t.rows) return;
    int n16 = (int)(t.row_bytes >> 4);
    const uint4* rows[R];
    int srow[R];
#pragma unroll
    for (int i = 0; i < R; i++) {
        int r = min(r0 + i, t.rows - 1);
        rows[i] = reinterpret_cast<const uint4*>(t.codes + (size_t)r * t.row_bytes);
        srow[i] = t.per_tensor ? 0 : r * t.G;
    }
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc[i] = 0.f;
    for (int c0 = lane; c0 < n16; c0 += 32 * U) {
        uint4 q[U][R];
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int i = 0; i < R; i++) {
                if (c0 + 32 * u < n16) q[u][i] = __ldg(rows[i] + c0 + 32 * u);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = c0 + 32 * u;
            if (c >= n16) break;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int col = (2 * c + half) * UC;
                float xs[UC];
#pragma unroll
                for (int k = 0; k < UC / 4; k++) {
                    float4 v = SMEM ? xs4[swz<F>(col / 4 + k)] : __ldg(reinterpret_cast<const float4*>(x + col) + k);
                    xs[4 * k] = v.x; xs[4 * k + 1] = v.y; xs[4 * k + 2] = v.z; xs[4 * k + 3] = v.w;
                }
                float sx = 0.f;
#pragma unroll
                for (int k = 0; k < UC; k++) sx += xs[k];
                int gi = t.per_tensor ? 0 : col >> gshift;
#pragma unroll
                for (int i = 0; i < R; i++) {
                    uint32_t lo = half ? q[u][i].z : q[u][i].x, hi = half ? q[u][i].w : q[u][i].y;
                    float ux = unit_ux<BITS>(lo, hi, xs);
                    acc[i] = fmaf(scale_at(t, srow[i] + gi), ux - zero_at(t, srow[i] + gi) * sx, acc[i]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < R; i++) {
        float s = ns_warp_sum(acc[i]);
        if (lane == 0 && r0 + i < t.rows) y[r0 + i] = s;
    }
}

/* q8 activations: codes xq (cols bytes) and steps xd (one per 32 columns). */
template <int BITS, int R, int U>
__global__ void __launch_bounds__(256) gemv_q8_chunks(ns_tensor t, const int8_t* __restrict__ xq, const float* __restrict__ xd,
                                                      float* __restrict__ y, int gshift) {
    const int UC = 64 / BITS;
    int warp = blockIdx.x * 8 + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    int r0 = warp * R;
    if (r0 >= t.rows) return;
    int n16 = (int)(t.row_bytes >> 4);
    const uint4* rows[R];
    int srow[R];
#pragma unroll
    for (int i = 0; i < R; i++) {
        int r = min(r0 + i, t.rows - 1);
        rows[i] = reinterpret_cast<const uint4*>(t.codes + (size_t)r * t.row_bytes);
        srow[i] = t.per_tensor ? 0 : r * t.G;
    }
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc[i] = 0.f;
    for (int c0 = lane; c0 < n16; c0 += 32 * U) {
        uint4 q[U][R];
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int i = 0; i < R; i++) {
                if (c0 + 32 * u < n16) q[u][i] = __ldg(rows[i] + c0 + 32 * u);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = c0 + 32 * u;
            if (c >= n16) break;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int col = (2 * c + half) * UC;
                uint32_t xw[UC / 4];
                const uint32_t* src = reinterpret_cast<const uint32_t*>(xq + col);
#pragma unroll
                for (int k = 0; k < UC / 4; k++) xw[k] = __ldg(src + k);
                float d = __ldg(xd + (col >> 5));
                int gi = t.per_tensor ? 0 : col >> gshift;
#pragma unroll
                for (int i = 0; i < R; i++) {
                    uint32_t lo = half ? q[u][i].z : q[u][i].x, hi = half ? q[u][i].w : q[u][i].y;
                    int32_t dot = ns_q8_unit_dot<BITS>(lo, hi, xw, (int32_t)zero_at(t, srow[i] + gi));
                    acc[i] = fmaf(scale_at(t, srow[i] + gi) * d, (float)dot, acc[i]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < R; i++) {
        float s = ns_warp_sum(acc[i]);
        if (lane == 0 && r0 + i < t.rows) y[r0 + i] = s;
    }
}

#define CHECK(call)                                                                       \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess) {                                                          \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(2);                                                                      \
        }                                                                                 \
    } while (0)
#define NSCHECK(call)                                                                     \
    do {                                                                                  \
        if ((call) != NS_OK) {                                                            \
            fprintf(stderr, "%s: %s\n", #call, ns_last_error());                          \
            exit(2);                                                                      \
        }                                                                                 \
    } while (0)

struct Case {
    std::string name;
    std::function<void(const ns_tensor&, cudaStream_t)> launch;
    bool q8;
};

static float time_case(const Case& c, const std::vector<ns_tensor*>& ts, cudaStream_t s, int iters) {
    for (int i = 0; i < 10; i++) c.launch(*ts[i % ts.size()], s);
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    CHECK(cudaEventRecord(a, s));
    for (int i = 0; i < iters; i++) c.launch(*ts[i % ts.size()], s);
    CHECK(cudaEventRecord(b, s));
    CHECK(cudaEventSynchronize(b));
    CHECK(cudaGetLastError());
    float ms = 0.f;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    return ms * 1000.f / iters;
}

}  // namespace variants

int main(int argc, char** argv) {
    using namespace variants;
    int iters = argc > 1 ? atoi(argv[1]) : 300;
    ns_context* ctx;
    NSCHECK(ns_create(0, &ctx));
    char dev[256];
    NSCHECK(ns_device_name(ctx, dev, sizeof dev));
    cudaStream_t s = ctx->stream;
    /* device-to-device copy bandwidth (read + written) */
    float copy_gbs;
    {
        size_t bytes = (size_t)1 << 30;
        void *a, *b;
        CHECK(cudaMalloc(&a, bytes));
        CHECK(cudaMalloc(&b, bytes));
        CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
        cudaEvent_t e0, e1;
        CHECK(cudaEventCreate(&e0));
        CHECK(cudaEventCreate(&e1));
        CHECK(cudaEventRecord(e0, s));
        for (int i = 0; i < 10; i++) CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
        CHECK(cudaEventRecord(e1, s));
        CHECK(cudaEventSynchronize(e1));
        float ms;
        CHECK(cudaEventElapsedTime(&ms, e0, e1));
        copy_gbs = 2.0 * bytes * 10 / (ms / 1e3) / 1e9;
        CHECK(cudaFree(a));
        CHECK(cudaFree(b));
    }
    printf("device %s; device-to-device copy %.0f GB/s (read + written); %d iterations per case\n\n", dev, copy_gbs, iters);
    printf("| shape | type | variant | µs | GB/s | %% copy BW | × lib float | max |Δ| / max |y| vs lib |\n|---|---|---|---:|---:|---:|---:|---:|\n");
    int bad = 0;
    std::mt19937 rng(1234);
    const int shapes[][2] = {{4096, 11008}, {4096, 4096}, {11008, 4096}};
    for (auto& sh : shapes) {
        int rows = sh[0], cols = sh[1], g = 64, gshift = 6;
        for (int bits : {8, 4, 2}) {
            int type = bits == 8 ? NS_INT8 : bits == 4 ? NS_INT4 : NS_INT2;
            std::vector<uint8_t> codes((size_t)rows * cols * bits / 8);
            for (auto& c : codes) c = (uint8_t)rng();
            std::vector<uint16_t> scales((size_t)rows * (cols / g));
            std::uniform_real_distribution<float> sd(0.5f, 2.f);
            for (auto& v : scales) v = ns_float_to_half(sd(rng) * 1e-2f);
            ns_tensor_desc d{};
            d.type = type; d.rows = rows; d.cols = cols; d.group_size = g;
            d.data = codes.data(); d.data_bytes = (int64_t)codes.size();
            d.scales = scales.data(); d.scales_bytes = (int64_t)scales.size() * 2;
            int64_t stored = d.data_bytes + d.scales_bytes;
            int copies = (int)std::max<int64_t>(1, std::min<int64_t>(16, (256 << 20) / stored + 1));
            std::vector<ns_tensor*> ts(copies);
            for (auto& t : ts) NSCHECK(ns_upload(ctx, &d, &t));
            std::vector<float> xh(cols);
            std::normal_distribution<float> nd;
            for (auto& v : xh) v = nd(rng);
            float *x, *y, *yref, *yq8ref, *q8;
            NSCHECK(ns_alloc(ctx, cols, &x));
            NSCHECK(ns_alloc(ctx, rows, &y));
            NSCHECK(ns_alloc(ctx, rows, &yref));
            NSCHECK(ns_alloc(ctx, rows, &yq8ref));
            NSCHECK(ns_alloc(ctx, NS_Q8_FLOATS(cols), &q8));
            NSCHECK(ns_write(ctx, x, xh.data(), cols));
            NSCHECK(ns_quantize_q8(ctx, x, 1, cols, q8));
            const int8_t* xq = reinterpret_cast<const int8_t*>(q8);
            const float* xd = ns_q8_steps(q8, cols);
            std::vector<Case> cases;
            dim3 lib_grid((rows + WARPS - 1) / WARPS);
            auto libf = [&](const ns_tensor& t, cudaStream_t st, float* out) {
                ns_epilogue e{nullptr, NS_ACT_NONE};
                if (bits == 8) ns_gemv_uniform<8><<<lib_grid, THREADS, 0, st>>>(t, x, out, e);
                if (bits == 4) ns_gemv_uniform<4><<<lib_grid, THREADS, 0, st>>>(t, x, out, e);
                if (bits == 2) ns_gemv_uniform<2><<<lib_grid, THREADS, 0, st>>>(t, x, out, e);
            };
            auto libq = [&](const ns_tensor& t, cudaStream_t st, float* out) {
                ns_epilogue e{nullptr, NS_ACT_NONE};
                if (bits == 8) ns_gemv_q8<8><<<lib_grid, THREADS, 0, st>>>(t, q8, out, 1, e);
                if (bits == 4) ns_gemv_q8<4><<<lib_grid, THREADS, 0, st>>>(t, q8, out, 1, e);
                if (bits == 2) ns_gemv_q8<2><<<lib_grid, THREADS, 0, st>>>(t, q8, out, 1, e);
            };
            cases.push_back({"lib float", [&](const ns_tensor& t, cudaStream_t st) { libf(t, st, y); }, false});
#define ADD(R, U, SMEM)                                                                                                  \
    cases.push_back({std::string(SMEM ? "smem" : "chunks") + " R" #R " U" #U, [&](const ns_tensor& t, cudaStream_t st) { \
        unsigned grid = (rows + 8 * R - 1) / (8 * R);                                                                    \
        size_t sm = SMEM ? (size_t)cols * 4 : 0;                                                                         \
        if (bits == 8) gemv_chunks<8, R, U, SMEM><<<grid, 256, sm, st>>>(t, x, y, gshift);                               \
        if (bits == 4) gemv_chunks<4, R, U, SMEM><<<grid, 256, sm, st>>>(t, x, y, gshift);                               \
        if (bits == 2) gemv_chunks<2, R, U, SMEM><<<grid, 256, sm, st>>>(t, x, y, gshift);                               \
    }, false})
            ADD(1, 2, false); ADD(1, 4, false); ADD(2, 2, false); ADD(4, 1, false); ADD(4, 2, false);
            ADD(1, 2, true); ADD(1, 4, true); ADD(2, 2, true); ADD(4, 1, true); ADD(4, 2, true);
#undef ADD
            cases.push_back({"lib q8", [&](const ns_tensor& t, cudaStream_t st) { libq(t, st, y); }, true});
#define ADDQ(R, U)                                                                                             \
    cases.push_back({"q8chunks R" #R " U" #U, [&](const ns_tensor& t, cudaStream_t st) {                       \
        unsigned grid = (rows + 8 * R - 1) / (8 * R);                                                          \
        if (bits == 8) gemv_q8_chunks<8, R, U><<<grid, 256, 0, st>>>(t, xq, xd, y, gshift);                   \
        if (bits == 4) gemv_q8_chunks<4, R, U><<<grid, 256, 0, st>>>(t, xq, xd, y, gshift);                   \
        if (bits == 2) gemv_q8_chunks<2, R, U><<<grid, 256, 0, st>>>(t, xq, xd, y, gshift);                   \
    }, true})
            ADDQ(1, 2); ADDQ(1, 4); ADDQ(2, 2); ADDQ(4, 1); ADDQ(4, 2);
#undef ADDQ
            libf(*ts[0], s, yref);
            libq(*ts[0], s, yq8ref);
            CHECK(cudaStreamSynchronize(s));
            CHECK(cudaGetLastError());
            std::vector<float> ref(rows), refq(rows), out(rows);
            NSCHECK(ns_read(ctx, ref.data(), yref, rows));
            NSCHECK(ns_read(ctx, refq.data(), yq8ref, rows));
            float lib_us = 0.f;
            for (auto& c : cases) {
                std::vector<float> nan(rows, NAN);
                NSCHECK(ns_write(ctx, y, nan.data(), rows));
                c.launch(*ts[0], s);
                CHECK(cudaStreamSynchronize(s));
                CHECK(cudaGetLastError());
                NSCHECK(ns_read(ctx, out.data(), y, rows));
                const std::vector<float>& r = c.q8 ? refq : ref;
                double worst = 0, big = 0;
                for (int i = 0; i < rows; i++) {
                    big = std::max(big, (double)fabsf(r[i]));
                    double dlt = fabs((double)out[i] - r[i]);
                    worst = std::max(worst, dlt != dlt ? INFINITY : dlt);
                }
                double rel = worst / big;
                bool ok = rel <= 1e-5;
                bad += !ok;
                float us = time_case(c, ts, s, iters);
                if (c.name == "lib float") lib_us = us;
                double gbs = stored / (us * 1e-6) / 1e9;
                printf("| %dx%d | int%d | %s | %.1f | %.0f | %.1f | %.2f | %.1e%s |\n", rows, cols, bits, c.name.c_str(), us, gbs,
                       100 * gbs / copy_gbs, lib_us / us, rel, ok ? "" : " WRONG");
                fflush(stdout);
            }
            for (auto t : ts) NSCHECK(ns_release(ctx, t));
            for (float* p : {x, y, yref, yq8ref, q8}) NSCHECK(ns_free(ctx, p));
        }
    }
    NSCHECK(ns_destroy(ctx));
    printf("\n%s\n", bad ? "SOME OUTPUTS WRONG" : "all outputs within 1e-5 of the library's kernel");
    return bad ? 1 : 0;
}
