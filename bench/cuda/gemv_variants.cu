/*
 * Batch-1 GEMV decompositions of the packed uniform formats, timed in one run on a GPU beside the library's own
 * kernels (issue #8's GEMV speed). One translation unit with the library (ns_cuda.cu), so the tensors are the ones
 * ns_upload makes and each variant's output is checked against the library's kernel on the same input.
 *
 * Variants (R: rows per warp, sharing the inputs each lane loads; U: 16-byte chunks in flight per lane and row):
 *   old float    ns_gemv_uniform: a warp per row, lanes over 16-byte chunks, inputs read from global memory
 *   staged R U   ns_gemv_staged: x staged once per block in shared memory (swizzled), R rows per warp, U chunks
 *                ahead, ns_unit_dot_fast (R2 U2 is the library's choice: ns_matmul)
 *   lib q8       ns_gemv_q8 (dp4a on q8 activations, the older kernel)
 *   q8 lean R U  ns_gemv_q8_lean: R rows per warp, a ring of U chunks per row in flight (the library: U2, R2 for int2,
 *                else R1)
 *   q8 ring R S  the same arithmetic, the codes streamed by cp.async through a per-lane ring of S stages in shared
 *                memory (not yet run on a GPU when written)
 *   mma tiles    int4 on tensor cores (mma.m16n8k16, fp16 hi + lo input), weights repacked into 1 KiB tiles
 * The first version of this file (commit 2943d67, results in bench/results/cuda-gemv-2026-12-04/variants-run-1.md)
 * compared the decompositions with the old per-weight arithmetic; this one times the library's staged kernel.
 *
 * build: nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -Inative/include -Inative/src \
 *        bench/cuda/gemv_variants.cu -o gemv_variants
 * run:   ./gemv_variants [iters [ROWSxCOLS:BITS]]   (a markdown table; exit status 1 if any output is wrong)
 *        GV_PROFILE=1 launches each case once (checked, not timed), for `ncu --clock-control none`.
 * Commit d2be246 also timed ns_gemv_streamed (codes through cp.async rings), and 312dc0a staged kernels whose warps
 * split a row group (KS) and lean kernels that load their inputs with the codes (PX); all removed: none won
 * (bench/results/cuda-gemv-2026-12-04, -04b).
 */
#include "ns_cuda.cu"

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace variants {


/*
 * Tensor-core GEMV for int4 (exploratory, groups of 64): weights repacked once into tiles of 16 rows × 8 units (128
 * columns), 1 KiB each, lane l = 4g + q holding halfword q of every unit of rows g and g + 8 (32 bytes: exactly its
 * mma.m16n8k16 A fragments, since byte j of an int4 unit holds columns j and j + 8). The input is split into fp16
 * hi + lo parts (B columns 0 and 1), so W·x keeps ~22 bits of x; (u − z) is exact in fp16 and the products exact in
 * the fp32 accumulators. A block of 8 warps takes one row tile, its warps splitting the columns; shared memory sums.
 */
__global__ void repack_int4_tiles(const uint8_t* __restrict__ codes, int rows, int units, uint8_t* __restrict__ out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; /* one (row, unit, halfword) */
    if (i >= (int64_t)rows * units * 4) return;
    int q = (int)(i & 3);
    int64_t ru = i >> 2;
    int r = (int)(ru / units), u = (int)(ru % units);
    int kb = u / 8, KB = units / 8;
    int lane = (r % 8) * 4 + q, part = (r % 16) / 8;
    int64_t at = (((int64_t)(r / 16) * KB + kb) * 1024) + 32 * lane + 16 * part + 2 * (u % 8);
    const uint8_t* src = codes + (int64_t)r * units * 8 + (int64_t)u * 8 + 2 * q;
    out[at] = src[0];
    out[at + 1] = src[1];
}

__global__ void split_hi_lo(const float* __restrict__ x, int n, __half* xh, __half* xl) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    __half h = __float2half_rn(x[i]);
    xh[i] = h;
    xl[i] = __float2half_rn(x[i] - __half2float(h));
}

__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ uint32_t hsub2u(uint32_t a, uint32_t b) {
    __half2 r = __hsub2(*reinterpret_cast<__half2*>(&a), *reinterpret_cast<__half2*>(&b));
    return *reinterpret_cast<uint32_t*>(&r);
}

__global__ void __launch_bounds__(256) gemv_mma_int4(const uint8_t* __restrict__ tiles, const unsigned short* __restrict__ scales,
                                                     const __half* __restrict__ xh, const __half* __restrict__ xl, int rows,
                                                     int cols, int zero, float* __restrict__ y) {
    __shared__ float part[8][16];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    int rb = blockIdx.x, units = cols / 16, KB = units / 8, G = cols / 64;
    int k0 = warp * KB / 8, k1 = (warp + 1) * KB / 8;
    const uint4* base = reinterpret_cast<const uint4*>(tiles + (int64_t)rb * KB * 1024) + 2 * lane;
    const __half* xs = g == 0 ? xh : xl;
    uint32_t zz = 0x64006400u + 0x00010001u * (uint32_t)zero; /* half2 (1024 + z, 1024 + z) */
    float acc0 = 0.f, acc1 = 0.f;
    int r0 = rb * 16 + g;
    uint4 wa = make_uint4(0, 0, 0, 0), wb = wa;
    if (k0 < k1) { wa = __ldg(base + 64 * k0); wb = __ldg(base + 64 * k0 + 1); }
    for (int kb = k0; kb < k1; kb++) {
        uint4 na = wa, nb = wb;
        if (kb + 1 < k1) { na = __ldg(base + 64 * (kb + 1)); nb = __ldg(base + 64 * (kb + 1) + 1); }
        const uint32_t A[4] = {wa.x, wa.y, wa.z, wa.w}, B8[4] = {wb.x, wb.y, wb.z, wb.w};
#pragma unroll
        for (int gq = 0; gq < 2; gq++) {
            float c[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
            for (int pr = 0; pr < 2; pr++) {
                int w = 2 * gq + pr; /* word: units 2w, 2w + 1 */
                uint32_t lo0 = A[w] & 0x0f0f0f0fu, hi0 = (A[w] >> 4) & 0x0f0f0f0fu;
                uint32_t lo1 = B8[w] & 0x0f0f0f0fu, hi1 = (B8[w] >> 4) & 0x0f0f0f0fu;
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    uint32_t sel = h ? 0x4342u : 0x4140u;
                    uint32_t a[4] = {hsub2u(__byte_perm(lo0, 0x64646464u, sel), zz), hsub2u(__byte_perm(lo1, 0x64646464u, sel), zz),
                                     hsub2u(__byte_perm(hi0, 0x64646464u, sel), zz), hsub2u(__byte_perm(hi1, 0x64646464u, sel), zz)};
                    int kbase = (kb * 8 + 2 * w + h) * 16;
                    uint32_t b[2] = {0u, 0u};
                    if (g < 2) {
                        b[0] = __ldg(reinterpret_cast<const unsigned int*>(xs + kbase + 2 * q));
                        b[1] = __ldg(reinterpret_cast<const unsigned int*>(xs + kbase + 2 * q + 8));
                    }
                    mma16816(c, a, b);
                }
            }
            int grp = kb * 2 + gq;
            float s0 = __half2float(__ushort_as_half(__ldg(scales + (int64_t)r0 * G + grp)));
            float s1 = __half2float(__ushort_as_half(__ldg(scales + (int64_t)(r0 + 8) * G + grp)));
            acc0 = fmaf(s0, c[0] + c[1], acc0);
            acc1 = fmaf(s1, c[2] + c[3], acc1);
        }
        wa = na;
        wb = nb;
    }
    if (q == 0) {
        part[warp][g] = acc0;
        part[warp][g + 8] = acc1;
    }
    __syncthreads();
    if (threadIdx.x < 16) {
        float sum = 0.f;
        for (int w = 0; w < 8; w++) sum += part[w][threadIdx.x];
        y[rb * 16 + threadIdx.x] = sum;
    }
}

/*
 * The lean dp4a arithmetic with the codes streamed through shared memory (written after the eighteenth pass's device
 * time; not yet run): each lane keeps a ring of S stages of its 16-byte chunks (R rows each) filled by cp.async, S − 1
 * stages in flight, so the bytes in flight no longer cost registers (the lean kernel holds U = 2 chunks a row in
 * registers and Nsight Compute found it latency-bound at 64 registers). A cp.async ring was tried before on the float
 * kernel (d2be246) and did not help, but that kernel was issue-bound (~7.5 lane-instructions per weight); dp4a takes ~1.
 * Each lane reads back only its own slots, so no barrier is needed. Scales ride in a register ring beside.
 */
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool copy) {
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(copy ? 16 : 0));
}

template <int BITS, int R, int S>
__global__ void __launch_bounds__(256) gemv_q8_ring(ns_tensor t, const float* __restrict__ q8, float* __restrict__ y) {
    extern __shared__ uint4 ring_smem[];
    const int CW = 128 / BITS, UC = CW / 2, UW = UC / 4;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int64_t r0 = ((int64_t)blockIdx.x * 8 + warp) * R;
    if (r0 >= t.rows) return;
    const int8_t* xq = reinterpret_cast<const int8_t*>(q8);
    const float* xd = ns_q8_steps(q8, (int64_t)t.cols);
    const unsigned short* scales = reinterpret_cast<const unsigned short*>(t.scales);
    const int n16 = (int)(t.row_bytes >> 4);
    const int cshift = __ffs(t.g) - 1 - (BITS == 8 ? 4 : BITS == 4 ? 5 : 6);
    const uint4* rows[R];
    int first[R];
#pragma unroll
    for (int i = 0; i < R; i++) {
        int64_t r = min(r0 + i, (int64_t)t.rows - 1);
        rows[i] = reinterpret_cast<const uint4*>(t.codes + r * t.row_bytes);
        first[i] = (int)r * t.G;
    }
    uint4* ring = ring_smem + warp * (S * R * 32) + lane;
    unsigned short sc[S][R];
    const int steps = (n16 + 31 - lane) / 32; /* this lane's chunks: lane, lane + 32, ... */
    auto issue = [&](int k, int slot) { /* slot = k % S, a constant where the loops are unrolled */
        const bool in = k < steps;
        const int c = in ? lane + 32 * k : lane;
#pragma unroll
        for (int i = 0; i < R; i++) {
            cp_async16(ring + (slot * R + i) * 32, rows[i] + (in ? c : 0), in);
            if (in) sc[slot][i] = __ldg(scales + first[i] + (c >> cshift));
        }
        asm volatile("cp.async.commit_group;\n" ::);
    };
#pragma unroll
    for (int k = 0; k < S - 1; k++) issue(k, k);
    float acc[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc[i] = 0.f;
    for (int k0 = 0; k0 < steps; k0 += S) {
#pragma unroll
        for (int j = 0; j < S; j++) { /* unrolled by S, so the register ring's index is a constant */
            const int k = k0 + j;
            if (k >= steps) break;
            issue(k + S - 1, (j + S - 1) % S);
            asm volatile("cp.async.wait_group %0;\n" ::"n"(S - 1));
            const int c = lane + 32 * k;
            uint32_t xw[2 * UW];
            ns_q8_words<BITS>(xq + c * CW, xw);
            ns_q8_words<BITS>(xq + c * CW + UC, xw + UW);
            const int32_t sum0 = ns_q8_unit_sum<BITS>(xw), sum1 = ns_q8_unit_sum<BITS>(xw + UW);
            const float d0 = __ldg(xd + c * CW / NS_Q8_BLOCK), d1 = BITS == 2 ? __ldg(xd + c * CW / NS_Q8_BLOCK + 1) : d0;
#pragma unroll
            for (int i = 0; i < R; i++) {
                const uint4 q = ring[(j * R + i) * 32];
                const int32_t z = 1 << (BITS - 1); /* the variants' tensors are symmetric */
                const int32_t a = ns_q8_unit_dot<BITS>(q.x, q.y, xw, z, sum0);
                const int32_t b = ns_q8_unit_dot<BITS>(q.z, q.w, xw + UW, z, sum1);
                const float s = __half2float(__ushort_as_half(sc[j][i]));
                acc[i] = BITS == 2 ? fmaf(s, fmaf(d0, (float)a, d1 * (float)b), acc[i]) : fmaf(s * d0, (float)(a + b), acc[i]);
            }
        }
    }
    asm volatile("cp.async.wait_all;\n" ::);
#pragma unroll
    for (int i = 0; i < R; i++) {
        float sum = ns_warp_sum(acc[i]);
        if (lane == 0 && r0 + i < t.rows) y[r0 + i] = sum;
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
    printf("| shape | type | variant | µs | GB/s | %% copy BW | × old float | max |Δ| / max |y| vs old float (q8: vs lib q8) |\n|---|---|---|---:|---:|---:|---:|---:|\n");
    int bad = 0;
    std::mt19937 rng(1234);
    const int shapes[][2] = {{4096, 11008}, {4096, 4096}, {11008, 4096}};
    const char* only = argc > 2 ? argv[2] : nullptr; /* ROWSxCOLS:BITS */
    bool profile = getenv("GV_PROFILE") != nullptr;
    for (auto& sh : shapes) {
        int rows = sh[0], cols = sh[1], g = 64;
        for (int bits : {8, 4, 2}) {
            if (only && std::string(only) != std::to_string(rows) + "x" + std::to_string(cols) + ":" + std::to_string(bits)) continue;
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
            cases.push_back({"old float", [&](const ns_tensor& t, cudaStream_t st) { libf(t, st, y); }, false});
#define ADD(R, U)                                                                                                   \
    cases.push_back({"staged R" #R " U" #U, [&](const ns_tensor& t, cudaStream_t st) {                              \
        unsigned grid = (rows + WARPS * R - 1) / (WARPS * R);                                                        \
        ns_epilogue e{nullptr, NS_ACT_NONE};                                                                         \
        if (bits == 8) ns_gemv_staged<8, R, U><<<grid, THREADS, (size_t)cols * 4, st>>>(t, x, y, e);                \
        if (bits == 4) ns_gemv_staged<4, R, U><<<grid, THREADS, (size_t)cols * 4, st>>>(t, x, y, e);                \
        if (bits == 2) ns_gemv_staged<2, R, U><<<grid, THREADS, (size_t)cols * 4, st>>>(t, x, y, e);                \
    }, false})
            ADD(2, 1); ADD(2, 2); ADD(4, 1);
#undef ADD
            cases.push_back({"lib q8", [&](const ns_tensor& t, cudaStream_t st) { libq(t, st, y); }, true});
#define ADDQ(R, U)                                                                                                  \
    cases.push_back({"q8 lean R" #R " U" #U, [&](const ns_tensor& t, cudaStream_t st) {                              \
        unsigned grid = (rows + WARPS * R - 1) / (WARPS * R);                                                        \
        ns_epilogue e{nullptr, NS_ACT_NONE};                                                                         \
        if (bits == 8) ns_gemv_q8_lean<8, R, U><<<grid, THREADS, 0, st>>>(t, q8, y, 1, e);                           \
        if (bits == 4) ns_gemv_q8_lean<4, R, U><<<grid, THREADS, 0, st>>>(t, q8, y, 1, e);                           \
        if (bits == 2) ns_gemv_q8_lean<2, R, U><<<grid, THREADS, 0, st>>>(t, q8, y, 1, e);                           \
    }, true})
            ADDQ(1, 2); ADDQ(1, 4); ADDQ(2, 2); ADDQ(2, 4);
#undef ADDQ
#define ADDRING(R, S)                                                                                               \
    cases.push_back({"q8 ring R" #R " S" #S, [&](const ns_tensor& t, cudaStream_t st) {                              \
        unsigned grid = (rows + 8 * R - 1) / (8 * R);                                                                \
        size_t sm = (size_t)8 * S * R * 512;                                                                         \
        if (bits == 8) gemv_q8_ring<8, R, S><<<grid, 256, sm, st>>>(t, q8, y);                                        \
        if (bits == 4) gemv_q8_ring<4, R, S><<<grid, 256, sm, st>>>(t, q8, y);                                        \
        if (bits == 2) gemv_q8_ring<2, R, S><<<grid, 256, sm, st>>>(t, q8, y);                                        \
    }, true})
            ADDRING(1, 4); ADDRING(1, 8); ADDRING(1, 12); ADDRING(2, 4); ADDRING(2, 6);
#undef ADDRING
            /* the tensor-core int4 GEMV on repacked tiles (one repacked copy per uploaded copy) */
            std::vector<uint8_t*> tiles;
            __half *dxh = nullptr, *dxl = nullptr;
            if (bits == 4) {
                CHECK(cudaMalloc(&dxh, cols * 2));
                CHECK(cudaMalloc(&dxl, cols * 2));
                split_hi_lo<<<(cols + 255) / 256, 256, 0, s>>>(x, cols, dxh, dxl);
                for (auto tp : ts) {
                    uint8_t* p;
                    CHECK(cudaMalloc(&p, (size_t)rows * cols / 2));
                    int64_t n = (int64_t)rows * (cols / 16) * 4;
                    repack_int4_tiles<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(tp->codes, rows, cols / 16, p);
                    tiles.push_back(p);
                }
                CHECK(cudaStreamSynchronize(s));
                CHECK(cudaGetLastError());
                cases.push_back({"mma tiles (int4)", [&](const ns_tensor& t, cudaStream_t st) {
                    size_t k = 0;
                    while (k < ts.size() && ts[k]->codes != t.codes) k++;
                    gemv_mma_int4<<<rows / 16, 256, 0, st>>>(tiles[k], reinterpret_cast<const unsigned short*>(t.scales), dxh, dxl, rows, cols, 8, y);
                }, false});
            }
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
                float us = profile ? 1.f : time_case(c, ts, s, iters);
                if (c.name == "old float") lib_us = us;
                double gbs = stored / (us * 1e-6) / 1e9;
                printf("| %dx%d | int%d | %s | %.1f | %.0f | %.1f | %.2f | %.1e%s |\n", rows, cols, bits, c.name.c_str(), us, gbs,
                       100 * gbs / copy_gbs, lib_us / us, rel, ok ? "" : " WRONG");
                fflush(stdout);
            }
            for (auto p : tiles) CHECK(cudaFree(p));
            if (dxh) CHECK(cudaFree(dxh));
            if (dxl) CHECK(cudaFree(dxl));
            for (auto t : ts) NSCHECK(ns_release(ctx, t));
            for (float* p : {x, y, yref, yq8ref, q8}) NSCHECK(ns_free(ctx, p));
        }
    }
    NSCHECK(ns_destroy(ctx));
    printf("\n%s\n", bad ? "SOME OUTPUTS WRONG" : "all outputs within 1e-5 of the old kernel's");
    return bad ? 1 : 0;
}
