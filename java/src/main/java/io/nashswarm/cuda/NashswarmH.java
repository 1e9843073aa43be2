package io.nashswarm.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The FFM binding of {@code native/include/nashswarm.h}, in the shape jextract generates: one method
 * per C function over a method handle looked up once. It is an instance per library rather than static
 * fields, because two libraries export the same header (the CUDA one and its host build) and tests load
 * both in one JVM. Device pointers are zero-length segments ({@code MemorySegment.ofAddress}).
 */
public final class NashswarmH {
    /** {@code ns_tensor_desc}. */
    public static final StructLayout TENSOR_DESC = MemoryLayout.structLayout(
            JAVA_INT.withName("type"), JAVA_INT.withName("rows"), JAVA_INT.withName("cols"),
            JAVA_INT.withName("group_size"), JAVA_INT.withName("per_tensor"), JAVA_INT.withName("reserved"),
            ADDRESS.withName("data"), JAVA_LONG.withName("data_bytes"),
            ADDRESS.withName("scales"), JAVA_LONG.withName("scales_bytes"),
            ADDRESS.withName("zeros"), JAVA_LONG.withName("zeros_bytes"),
            ADDRESS.withName("map"), JAVA_LONG.withName("map_bytes"),
            ADDRESS.withName("outlier_rows"), JAVA_LONG.withName("outlier_rows_bytes"),
            ADDRESS.withName("outliers"), JAVA_LONG.withName("outliers_bytes"),
            ADDRESS.withName("codebook"));

    public static final int NS_OK = 0, NS_E_ARGUMENT = 1, NS_E_NO_DEVICE = 2, NS_E_CUDA = 3, NS_E_OUT_OF_MEMORY = 4, NS_E_UNSUPPORTED = 5;
    public static final int NS_F32 = 0, NS_F16 = 1, NS_INT8 = 2, NS_INT4 = 3, NS_INT2 = 4, NS_NF4 = 5, NS_MIXED = 6;
    public static final int NS_ROPE_INTERLEAVED = 0, NS_ROPE_ROTATE_HALF = 1;
    /** ns_time_product's kinds. */
    public static final int NS_MATMUL_GEMV = 0, NS_MATMUL_F16 = 1, NS_MATMUL_Q8 = 2, NS_MATMUL_QUANTIZE_Q8 = 3;
    /** Products ns_matmul_many takes at once. */
    public static final int NS_MANY_MAX = 3;
    /** ns_attention writes q8 output for head sizes that are multiples of 32 dividing this. */
    public static final int NS_ATTENTION_Q8_HEADS = 256;
    /** Copies ns_copy_many takes at once. */
    public static final int NS_COPY_MAX = 4;
    /** ns_matmul_epilogue's activations. */
    public static final int NS_ACT_NONE = 0, NS_ACT_GELU = 1;
    /** Values per q8 block ({@code NS_Q8_BLOCK}). */
    public static final int NS_Q8_BLOCK = 32;

    /** Floats of a q8 buffer for {@code values} values ({@code NS_Q8_FLOATS}): the int8 codes, then a step per block. */
    public static long q8Floats(long values) {
        return values / 4 + values / NS_Q8_BLOCK;
    }

    private final Path path;
    private final SymbolLookup lookup;
    private static final Linker LINKER = Linker.nativeLinker();

    private final MethodHandle ns_backend_name, ns_last_error, ns_device_count, ns_create, ns_destroy, ns_device_name,
            ns_memory, ns_alloc, ns_free, ns_write, ns_read, ns_read_i32, ns_sync, ns_upload, ns_tensor_bytes, ns_release,
            ns_matmul, ns_embed, ns_rmsnorm, ns_layernorm, ns_rope, ns_add, ns_add_bias, ns_copy, ns_copy_many, ns_gelu_tanh, ns_swiglu,
            ns_softmax, ns_kv_store, ns_attention, ns_argmax, ns_sample_topk, ns_advance, ns_write_i32, ns_graph_begin, ns_graph_end, ns_graph_launch,
            ns_graph_time, ns_profile_begin, ns_profile_end, ns_matmul_f16, ns_quantize_q8, ns_matmul_q8, ns_add_norm, ns_rope_kv_store,
            ns_time_product, ns_matmul_epilogue, ns_matmul_many;

    /** Loads the library; an {@link IllegalArgumentException} when it cannot be loaded, which {@link NativeLibrary} turns into one message. */
    NashswarmH(Path library) {
        this.path = library;
        this.lookup = SymbolLookup.libraryLookup(library, Arena.global());
        FunctionDescriptor status0 = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        ns_backend_name = find("ns_backend_name", FunctionDescriptor.of(ADDRESS));
        ns_last_error = find("ns_last_error", FunctionDescriptor.of(ADDRESS));
        ns_device_count = find("ns_device_count", status0);
        ns_create = find("ns_create", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        ns_destroy = find("ns_destroy", status0);
        ns_device_name = find("ns_device_name", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        ns_memory = find("ns_memory", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        ns_alloc = find("ns_alloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        ns_free = find("ns_free", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        FunctionDescriptor copy = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        ns_write = find("ns_write", copy);
        ns_read = find("ns_read", copy);
        ns_read_i32 = find("ns_read_i32", copy);
        ns_sync = find("ns_sync", status0);
        ns_upload = find("ns_upload", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        ns_tensor_bytes = find("ns_tensor_bytes", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        ns_release = find("ns_release", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        ns_matmul = find("ns_matmul", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        ns_embed = find("ns_embed", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        ns_rmsnorm = find("ns_rmsnorm", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT));
        ns_layernorm = find("ns_layernorm", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT));
        ns_rope = find("ns_rope", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        FunctionDescriptor binary = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        ns_add = find("ns_add", binary);
        ns_add_bias = find("ns_add_bias", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT));
        ns_copy = find("ns_copy", binary);
        ns_copy_many = find("ns_copy_many", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        ns_gelu_tanh = find("ns_gelu_tanh", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        ns_swiglu = find("ns_swiglu", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        ns_softmax = find("ns_softmax", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT));
        ns_kv_store = find("ns_kv_store", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        ns_attention = find("ns_attention", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        ns_argmax = find("ns_argmax", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        ns_sample_topk = find("ns_sample_topk", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS));
        ns_advance = find("ns_advance", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        ns_write_i32 = find("ns_write_i32", copy);
        ns_graph_begin = find("ns_graph_begin", status0);
        ns_graph_end = find("ns_graph_end", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        ns_graph_launch = find("ns_graph_launch", status0);
        ns_graph_time = find("ns_graph_time", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        ns_profile_begin = find("ns_profile_begin", status0);
        ns_profile_end = find("ns_profile_end", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        ns_matmul_f16 = find("ns_matmul_f16", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        ns_quantize_q8 = find("ns_quantize_q8", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        ns_matmul_q8 = find("ns_matmul_q8", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        ns_add_norm = find("ns_add_norm", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS));
        ns_rope_kv_store = find("ns_rope_kv_store", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        ns_matmul_epilogue = find("ns_matmul_epilogue", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_INT));
        ns_matmul_many = find("ns_matmul_many", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        ns_time_product = find("ns_time_product", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    }

    private MethodHandle find(String name, FunctionDescriptor fd) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new IllegalArgumentException(path + " does not export " + name));
        return LINKER.downcallHandle(symbol, fd);
    }

    public Path path() {
        return path;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("a downcall threw " + t, t); // downcalls throw no checked exceptions
    }

    public MemorySegment ns_backend_name() { try { return (MemorySegment) ns_backend_name.invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    public MemorySegment ns_last_error() { try { return (MemorySegment) ns_last_error.invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_device_count(MemorySegment count) { try { return (int) ns_device_count.invokeExact(count); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_create(int device, MemorySegment out) { try { return (int) ns_create.invokeExact(device, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_destroy(MemorySegment ctx) { try { return (int) ns_destroy.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_device_name(MemorySegment ctx, MemorySegment buf, int capacity) { try { return (int) ns_device_name.invokeExact(ctx, buf, capacity); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_memory(MemorySegment ctx, MemorySegment free, MemorySegment total) { try { return (int) ns_memory.invokeExact(ctx, free, total); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_alloc(MemorySegment ctx, long floats, MemorySegment out) { try { return (int) ns_alloc.invokeExact(ctx, floats, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_free(MemorySegment ctx, MemorySegment p) { try { return (int) ns_free.invokeExact(ctx, p); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_write(MemorySegment ctx, MemorySegment dst, MemorySegment src, long n) { try { return (int) ns_write.invokeExact(ctx, dst, src, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_read(MemorySegment ctx, MemorySegment dst, MemorySegment src, long n) { try { return (int) ns_read.invokeExact(ctx, dst, src, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_read_i32(MemorySegment ctx, MemorySegment dst, MemorySegment src, long n) { try { return (int) ns_read_i32.invokeExact(ctx, dst, src, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_sync(MemorySegment ctx) { try { return (int) ns_sync.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_upload(MemorySegment ctx, MemorySegment desc, MemorySegment out) { try { return (int) ns_upload.invokeExact(ctx, desc, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_tensor_bytes(MemorySegment t, MemorySegment stored, MemorySegment index) { try { return (int) ns_tensor_bytes.invokeExact(t, stored, index); } catch (Throwable e) { throw rethrow(e); } }
    public int ns_release(MemorySegment ctx, MemorySegment t) { try { return (int) ns_release.invokeExact(ctx, t); } catch (Throwable e) { throw rethrow(e); } }
    public int ns_matmul(MemorySegment ctx, MemorySegment w, MemorySegment x, MemorySegment y, int n) { try { return (int) ns_matmul.invokeExact(ctx, w, x, y, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_embed(MemorySegment ctx, MemorySegment w, int row, MemorySegment rowDev, MemorySegment out) { try { return (int) ns_embed.invokeExact(ctx, w, row, rowDev, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_rmsnorm(MemorySegment ctx, MemorySegment out, MemorySegment x, MemorySegment w, int rows, int n, float eps) { try { return (int) ns_rmsnorm.invokeExact(ctx, out, x, w, rows, n, eps); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_layernorm(MemorySegment ctx, MemorySegment out, MemorySegment x, MemorySegment w, MemorySegment b, int rows, int n, float eps) { try { return (int) ns_layernorm.invokeExact(ctx, out, x, w, b, rows, n, eps); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_rope(MemorySegment ctx, MemorySegment v, int rows, int heads, int headSize, int pos, MemorySegment posDev, int style, MemorySegment cos, MemorySegment sin) { try { return (int) ns_rope.invokeExact(ctx, v, rows, heads, headSize, pos, posDev, style, cos, sin); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_add(MemorySegment ctx, MemorySegment y, MemorySegment x, long n) { try { return (int) ns_add.invokeExact(ctx, y, x, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_add_bias(MemorySegment ctx, MemorySegment x, MemorySegment bias, int rows, int n) { try { return (int) ns_add_bias.invokeExact(ctx, x, bias, rows, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_copy(MemorySegment ctx, MemorySegment dst, MemorySegment src, long n) { try { return (int) ns_copy.invokeExact(ctx, dst, src, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_copy_many(MemorySegment ctx, int count, MemorySegment dsts, MemorySegment srcs, long n) { try { return (int) ns_copy_many.invokeExact(ctx, count, dsts, srcs, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_gelu_tanh(MemorySegment ctx, MemorySegment x, long n) { try { return (int) ns_gelu_tanh.invokeExact(ctx, x, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_swiglu(MemorySegment ctx, MemorySegment g, MemorySegment u, long n, MemorySegment q8) { try { return (int) ns_swiglu.invokeExact(ctx, g, u, n, q8); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_softmax(MemorySegment ctx, MemorySegment x, int rows, int n) { try { return (int) ns_softmax.invokeExact(ctx, x, rows, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_kv_store(MemorySegment ctx, MemorySegment keys, MemorySegment values, MemorySegment k, MemorySegment v, int rows, int pos, MemorySegment posDev, int kvDim) { try { return (int) ns_kv_store.invokeExact(ctx, keys, values, k, v, rows, pos, posDev, kvDim); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_attention(MemorySegment ctx, MemorySegment q, MemorySegment keys, MemorySegment values, MemorySegment out, MemorySegment scores,
                            int rows, int pos, MemorySegment posDev, int nHeads, int nKvHeads, int headSize, int capacity, MemorySegment q8) {
        try { return (int) ns_attention.invokeExact(ctx, q, keys, values, out, scores, rows, pos, posDev, nHeads, nKvHeads, headSize, capacity, q8); } catch (Throwable t) { throw rethrow(t); }
    }
    public int ns_argmax(MemorySegment ctx, MemorySegment x, int n, MemorySegment out) { try { return (int) ns_argmax.invokeExact(ctx, x, n, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_sample_topk(MemorySegment ctx, MemorySegment x, int n, int k, float temperature, float u, MemorySegment out) { try { return (int) ns_sample_topk.invokeExact(ctx, x, n, k, temperature, u, out); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_advance(MemorySegment ctx, MemorySegment slot, int by) { try { return (int) ns_advance.invokeExact(ctx, slot, by); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_write_i32(MemorySegment ctx, MemorySegment dst, MemorySegment src, long n) { try { return (int) ns_write_i32.invokeExact(ctx, dst, src, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_graph_begin(MemorySegment ctx) { try { return (int) ns_graph_begin.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_graph_end(MemorySegment ctx, MemorySegment nodes) { try { return (int) ns_graph_end.invokeExact(ctx, nodes); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_graph_time(MemorySegment ctx, MemorySegment lastMs, MemorySegment totalMs, MemorySegment launches) { try { return (int) ns_graph_time.invokeExact(ctx, lastMs, totalMs, launches); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_profile_begin(MemorySegment ctx) { try { return (int) ns_profile_begin.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_profile_end(MemorySegment ctx, MemorySegment kernelsMs, MemorySegment spanMs, MemorySegment ops) { try { return (int) ns_profile_end.invokeExact(ctx, kernelsMs, spanMs, ops); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_graph_launch(MemorySegment ctx) { try { return (int) ns_graph_launch.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_matmul_f16(MemorySegment ctx, MemorySegment w, MemorySegment x, MemorySegment y, int n) { try { return (int) ns_matmul_f16.invokeExact(ctx, w, x, y, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_quantize_q8(MemorySegment ctx, MemorySegment x, int rows, int n, MemorySegment q8) { try { return (int) ns_quantize_q8.invokeExact(ctx, x, rows, n, q8); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_matmul_q8(MemorySegment ctx, MemorySegment w, MemorySegment q8, MemorySegment y, int n) { try { return (int) ns_matmul_q8.invokeExact(ctx, w, q8, y, n); } catch (Throwable t) { throw rethrow(t); } }
    public int ns_add_norm(MemorySegment ctx, MemorySegment x, MemorySegment delta, MemorySegment out, MemorySegment w, MemorySegment b,
                           int rows, int n, float eps, MemorySegment q8) {
        try { return (int) ns_add_norm.invokeExact(ctx, x, delta, out, w, b, rows, n, eps, q8); } catch (Throwable t) { throw rethrow(t); }
    }
    public int ns_rope_kv_store(MemorySegment ctx, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment keys, MemorySegment values,
                                int rows, int nh, int nkv, int headSize, int pos, MemorySegment posDev, int style, MemorySegment cos, MemorySegment sin) {
        try { return (int) ns_rope_kv_store.invokeExact(ctx, q, k, v, keys, values, rows, nh, nkv, headSize, pos, posDev, style, cos, sin); } catch (Throwable t) { throw rethrow(t); }
    }
    public int ns_time_product(MemorySegment ctx, int kind, MemorySegment tensors, int count, MemorySegment x, MemorySegment q8, MemorySegment y,
                               int n, int iters, MemorySegment ms) {
        try { return (int) ns_time_product.invokeExact(ctx, kind, tensors, count, x, q8, y, n, iters, ms); } catch (Throwable t) { throw rethrow(t); }
    }
    public int ns_matmul_epilogue(MemorySegment ctx, int kind, MemorySegment w, MemorySegment x, MemorySegment y, int n, MemorySegment bias, int act) {
        try { return (int) ns_matmul_epilogue.invokeExact(ctx, kind, w, x, y, n, bias, act); } catch (Throwable t) { throw rethrow(t); }
    }
    public int ns_matmul_many(MemorySegment ctx, int kind, int count, MemorySegment ws, MemorySegment x, MemorySegment ys, int n) {
        try { return (int) ns_matmul_many.invokeExact(ctx, kind, count, ws, x, ys, n); } catch (Throwable t) { throw rethrow(t); }
    }
}
