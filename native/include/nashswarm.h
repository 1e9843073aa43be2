/*
 * The C ABI of the engine's native backends: the only surface Java sees (through FFM, bound in
 * io.nashswarm.cuda.NashswarmH). Two libraries export it:
 *   libnashswarm_cuda.so  the GPU: pointers are device memory, operations are enqueued on the
 *                         context's stream and ns_read synchronises;
 *   libnashswarm_host.so  the same entry points on the host (plain C++ loops over the decode code of
 *                         nashswarm_decode.h): pointers are host memory. It exists so that the ABI,
 *                         the packed layouts and the arithmetic are tested where no GPU is.
 *
 * Every function returns an ns_status; on failure ns_last_error() gives the message (thread-local, valid
 * until the thread's next failing call). Every CUDA call is checked. No callbacks into Java.
 * Buffers are float arrays the library allocates (ns_alloc); offsets are the caller's pointer arithmetic.
 */
#ifndef NASHSWARM_H
#define NASHSWARM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_API __attribute__((visibility("default")))

typedef enum {
    NS_OK = 0,
    NS_E_ARGUMENT = 1,      /* a bad argument (shape, type, section size, null pointer) */
    NS_E_NO_DEVICE = 2,     /* no driver, or no device */
    NS_E_CUDA = 3,          /* a CUDA call failed; the message names it */
    NS_E_OUT_OF_MEMORY = 4,
    NS_E_UNSUPPORTED = 5    /* a storage type or shape this library does not handle */
} ns_status;

/* Storage types (the Java QuantType rows this ABI handles). */
typedef enum {
    NS_F32 = 0,
    NS_F16 = 1,
    NS_INT8 = 2,
    NS_INT4 = 3,
    NS_INT2 = 4,
    NS_NF4 = 5,             /* 4-bit codes into a 16-entry codebook (ns_tensor_desc.codebook): NF4 and FP4 */
    NS_MIXED = 6
} ns_type;

typedef enum { NS_ROPE_INTERLEAVED = 0, NS_ROPE_ROTATE_HALF = 1 } ns_rope_style;

typedef struct ns_context ns_context;
typedef struct ns_tensor ns_tensor;

/* A matrix as the packed file stores it: its sections, in host memory, copied by ns_upload. */
typedef struct {
    int32_t type;       /* ns_type */
    int32_t rows, cols;
    int32_t group_size; /* weights per group (packed types); cols for one group per row */
    int32_t per_tensor; /* 1: one scale (and zero) for the whole tensor */
    int32_t reserved;
    const void* data;   int64_t data_bytes;   /* dense values, or the packed codes */
    const void* scales; int64_t scales_bytes; /* fp16 */
    const void* zeros;  int64_t zeros_bytes;  /* asymmetric only, else NULL */
    const void* map;    int64_t map_bytes;    /* mixed: 2 bits per group */
    const void* outlier_rows; int64_t outlier_rows_bytes; /* mixed with outliers, else NULL */
    const void* outliers;     int64_t outliers_bytes;
    const float* codebook;                    /* NF4: the 16 values */
} ns_tensor_desc;

NS_API const char* ns_backend_name(void);   /* "cuda" or "host" */
NS_API const char* ns_last_error(void);
NS_API int32_t ns_device_count(int32_t* count);
NS_API int32_t ns_create(int32_t device, ns_context** out);
NS_API int32_t ns_destroy(ns_context* ctx);
NS_API int32_t ns_device_name(ns_context* ctx, char* buf, int32_t capacity);
/* Free and total device memory (cudaMemGetInfo); the host library reports its own allocations as used. */
NS_API int32_t ns_memory(ns_context* ctx, int64_t* free_bytes, int64_t* total_bytes);

NS_API int32_t ns_alloc(ns_context* ctx, int64_t floats, float** out);  /* zeroed */
NS_API int32_t ns_free(ns_context* ctx, float* p);
NS_API int32_t ns_write(ns_context* ctx, float* dst, const float* src_host, int64_t n);
/* Copies device floats to the host after all enqueued work: how Java reads logits. */
NS_API int32_t ns_read(ns_context* ctx, float* dst_host, const float* src, int64_t n);
NS_API int32_t ns_read_i32(ns_context* ctx, int32_t* dst_host, const int32_t* src, int64_t n);
/* Writes ints (a decode step's token and position slots) from the host; returns when they are on the device. */
NS_API int32_t ns_write_i32(ns_context* ctx, int32_t* dst, const int32_t* src_host, int64_t n);
NS_API int32_t ns_sync(ns_context* ctx);

/* Uploads a matrix (packed bytes as stored, plus a per-row index for mixed ones). */
NS_API int32_t ns_upload(ns_context* ctx, const ns_tensor_desc* desc, ns_tensor** out);
/* Bytes the tensor holds on the device: the stored sections, and the index built at upload. */
NS_API int32_t ns_tensor_bytes(const ns_tensor* t, int64_t* stored_bytes, int64_t* index_bytes);
NS_API int32_t ns_release(ns_context* ctx, ns_tensor* t);

/* ---- the operations of a forward pass (rows are packed one after another) ---- */
/* y[b·rows + r] = W[r]·x[b·cols ..] for b < n */
NS_API int32_t ns_matmul(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n);
/* out[0..cols) = row of w: the row is *row_dev when row_dev is not NULL (a token from ns_argmax), else row. */
NS_API int32_t ns_embed(ns_context* ctx, const ns_tensor* w, int32_t row, const int32_t* row_dev, float* out);
NS_API int32_t ns_rmsnorm(ns_context* ctx, float* out, const float* x, const float* w, int32_t rows, int32_t n, float eps);
NS_API int32_t ns_layernorm(ns_context* ctx, float* out, const float* x, const float* w, const float* b,
                            int32_t rows, int32_t n, float eps);
/*
 * Positions: the operations below that take (pos, pos_dev) read the position from the device int *pos_dev
 * when it is not NULL (when the kernel runs, so a recorded graph replays at whatever position the slot holds),
 * else use pos.
 */
/* Rotates rows (row i at position pos + i) of heads·head_size by the tables cos/sin [position][head_size/2],
   which carry the frequencies (Llama 3 scaling included). */
NS_API int32_t ns_rope(ns_context* ctx, float* v, int32_t rows, int32_t heads, int32_t head_size, int32_t pos,
                       const int32_t* pos_dev, int32_t style, const float* cos_table, const float* sin_table);
NS_API int32_t ns_add(ns_context* ctx, float* y, const float* x, int64_t n);
NS_API int32_t ns_add_bias(ns_context* ctx, float* x, const float* bias, int32_t rows, int32_t n);
NS_API int32_t ns_copy(ns_context* ctx, float* dst, const float* src, int64_t n);
/* dsts[i][0..n) = srcs[i][0..n) for i < count (1..NS_COPY_MAX) in one launch (GPT-2's split of its fused q|k|v
   output); no destination may overlap a source or another destination. */
#define NS_COPY_MAX 4
NS_API int32_t ns_copy_many(ns_context* ctx, int32_t count, float* const* dsts, const float* const* srcs, int64_t n);
NS_API int32_t ns_gelu_tanh(ns_context* ctx, float* x, int64_t n);
/* g = silu(g)·u; q8 NULL, or (n a multiple of 32) g quantized there as ns_quantize_q8 would: the down projection's
   q8 input. */
NS_API int32_t ns_swiglu(ns_context* ctx, float* g, const float* u, int64_t n, float* q8);
/* In-place softmax of rows rows of n. */
NS_API int32_t ns_softmax(ns_context* ctx, float* x, int32_t rows, int32_t n);
/* keys/values: one layer's cache [capacity][kv_dim]; stores rows rows of k and v at positions pos.. */
NS_API int32_t ns_kv_store(ns_context* ctx, float* keys, float* values, const float* k, const float* v,
                           int32_t rows, int32_t pos, const int32_t* pos_dev, int32_t kv_dim);
/* Causal grouped-query attention of rows query rows (row i at pos + i) over the cache; scores: scratch of
   rows·n_heads·capacity floats. q8 NULL, or (head_size a multiple of 32 dividing NS_ATTENTION_Q8_HEADS) out quantized
   there as ns_quantize_q8 would: the output projection's q8 input. */
#define NS_ATTENTION_Q8_HEADS 256
NS_API int32_t ns_attention(ns_context* ctx, const float* q, const float* keys, const float* values, float* out,
                            float* scores, int32_t rows, int32_t pos, const int32_t* pos_dev, int32_t n_heads, int32_t n_kv_heads,
                            int32_t head_size, int32_t capacity, float* q8);
/* Greedy sampling: *out_dev = argmax of x[0..n) (the first maximum). */
NS_API int32_t ns_argmax(ns_context* ctx, const float* x, int32_t n, int32_t* out_dev);
/* Top-k sampling: of the k (1..64) largest of x[0..n) (ties: the lower index first), *out_dev = the one the inverse
   CDF of softmax(value / temperature) picks at u in [0, 1). k = 1 or temperature <= 0: greedy, as ns_argmax. */
NS_API int32_t ns_sample_topk(ns_context* ctx, const float* x, int32_t n, int32_t k, float temperature, float u,
                              int32_t* out_dev);
/* *slot_dev += by, on the stream (a recorded graph moves its own position on). */
NS_API int32_t ns_advance(ns_context* ctx, int32_t* slot_dev, int32_t by);

/*
 * ---- prefill on tensor cores, int8 activations, fused operations ----
 * ns_matmul_f16: y = W·x for n vectors (int8/int4/int2/NF4), with W decoded to fp16 tiles (ns_unit_to_half) and
 * x rounded to fp16, products summed in float32 (tensor cores, mma m16n8k16 through WMMA): each product is off by at
 * most about 2^-10·|w·x| (two fp16 roundings), so |y − W·x| <= (2^-10 + 2^-22)·Σ|w·x| + float32 summation
 * rounding; inputs beyond fp16's range (|x| > 65504) become Inf. What the prompt path uses for n >= 2.
 */
NS_API int32_t ns_matmul_f16(ns_context* ctx, const ns_tensor* w, const float* x, float* y, int32_t n);
/*
 * A product with its epilogue in the same kernel: y = act(W·x + bias[row]) for n vectors; kind NS_MATMUL_GEMV,
 * NS_MATMUL_F16 or NS_MATMUL_Q8 (x then holds q8, see below); bias may be NULL; act NS_ACT_NONE or NS_ACT_GELU
 * (tanh GELU). The same arithmetic as the product followed by ns_add_bias and ns_gelu_tanh.
 */
#define NS_ACT_NONE 0
#define NS_ACT_GELU 1
NS_API int32_t ns_matmul_epilogue(ns_context* ctx, int32_t kind, const ns_tensor* w, const float* x, float* y, int32_t n,
                                  const float* bias, int32_t act);
/*
 * Up to NS_MANY_MAX products of one input in one launch: ys[i] = ws[i]·x for i < count and n vectors (a decode
 * step's q, k and v, or gate and up). kind NS_MATMUL_GEMV or NS_MATMUL_Q8 (x then holds q8); the matrices are int8,
 * int4 or int2, all of one type and one column count. The same arithmetic as count separate products.
 */
#define NS_MANY_MAX 3
NS_API int32_t ns_matmul_many(ns_context* ctx, int32_t kind, int32_t count, const ns_tensor* const* ws, const float* x,
                              float* const* ys, int32_t n);
/* q8 = x quantized (rows vectors of n values, n a multiple of 32; layout and error in nashswarm_decode.h, NS_Q8_FLOATS). */
NS_API int32_t ns_quantize_q8(ns_context* ctx, const float* x, int32_t rows, int32_t n, float* q8);
/* y = W·x for n vectors given as q8 (int8/int4/int2, and mixed widths in groups of a multiple of 64; others are
   NS_E_UNSUPPORTED): integer dot products (dp4a) per unit, one float multiply per chunk or unit; |y − W·x| <=
   Σ_blocks (d/2)·Σ|w| (the activations' rounding) plus float32 rounding. */
NS_API int32_t ns_matmul_q8(ns_context* ctx, const ns_tensor* w, const float* q8, float* y, int32_t n);
/*
 * Residual add, norm and quantization in one pass (one kernel, a block per row): when delta is not NULL, x += delta
 * first (x is updated); then out = RMSNorm(x)·w, or LayerNorm when b is not NULL (out = (x − mean)/sd·w + b); when
 * q8 is not NULL, out is also written quantized there (n a multiple of 32). The same arithmetic as ns_add followed
 * by ns_rmsnorm/ns_layernorm and ns_quantize_q8.
 */
NS_API int32_t ns_add_norm(ns_context* ctx, float* x, const float* delta, float* out, const float* w, const float* b,
                           int32_t rows, int32_t n, float eps, float* q8);
/*
 * RoPE of q (rows·nh heads, may be NULL) and k (rows·nkv heads), and the cache store of the rotated k and of v at
 * positions pos.. (pos_dev as for ns_rope), in one kernel: ns_rope on q, ns_rope on k, then ns_kv_store.
 */
NS_API int32_t ns_rope_kv_store(ns_context* ctx, float* q, float* k, const float* v, float* keys, float* values, int32_t rows,
                                int32_t nh, int32_t nkv, int32_t head_size, int32_t pos, const int32_t* pos_dev, int32_t style,
                                const float* cos_table, const float* sin_table);

/* Benchmarks: iters products y = W·x, W taking the tensors in turn (several copies defeat the L2 cache),
   timed with CUDA events on the context's stream (the host library: a steady clock); *ms is the total. */
NS_API int32_t ns_time_matmul(ns_context* ctx, const ns_tensor* const* tensors, int32_t count, const float* x, float* y,
                              int32_t n, int32_t iters, float* ms);
/* The same for a given product: 0 ns_matmul, 1 ns_matmul_f16, 2 ns_matmul_q8 (x then holds q8), 3 ns_quantize_q8 of x
   into the scratch q8 followed by ns_matmul_q8 (the dp4a path as a decode step runs it when no fused norm quantized x). */
#define NS_MATMUL_GEMV 0
#define NS_MATMUL_F16 1
#define NS_MATMUL_Q8 2
#define NS_MATMUL_QUANTIZE_Q8 3
NS_API int32_t ns_time_product(ns_context* ctx, int32_t kind, const ns_tensor* const* tensors, int32_t count, const float* x,
                               float* q8, float* y, int32_t n, int32_t iters, float* ms);

/*
 * ---- a decode step as one graph: record the operations once, replay them ("run a step") ----
 * Between begin and end, operations are recorded, not run (CUDA stream capture; the host library keeps a
 * list). Launch replays them with the arguments as recorded; positions and tokens that change from step to
 * step live in device slots (pos_dev, row_dev) written before the launch or moved by ns_advance inside it.
 * Each launch is timed (CUDA events around it); ns_graph_time gives the last launch's and the total time.
 */
NS_API int32_t ns_graph_begin(ns_context* ctx);
NS_API int32_t ns_graph_end(ns_context* ctx, int32_t* nodes);
NS_API int32_t ns_graph_launch(ns_context* ctx);
NS_API int32_t ns_graph_time(ns_context* ctx, float* last_ms, double* total_ms, int64_t* launches);

/*
 * ---- the kernels' own time, for the launch-overhead share ----
 * Between profile_begin and profile_end every operation run (not recorded) is bracketed by its own CUDA events;
 * profile_end synchronises and gives the sum of the operations' own times, their count, and the span from the
 * first operation's start to the last one's end.
 */
NS_API int32_t ns_profile_begin(ns_context* ctx);
NS_API int32_t ns_profile_end(ns_context* ctx, float* kernels_ms, float* span_ms, int32_t* ops);

#ifdef __cplusplus
}
#endif
#endif
