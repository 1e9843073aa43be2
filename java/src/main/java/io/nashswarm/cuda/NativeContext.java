package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.CodebookMatrix;
import io.nashswarm.tensor.F16Matrix;
import io.nashswarm.tensor.Fp4;
import io.nashswarm.tensor.F32Matrix;
import io.nashswarm.tensor.IntGroupMatrix;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.NF4Matrix;
import io.nashswarm.tensor.NormalFloat4;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.Section;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static io.nashswarm.cuda.NashswarmH.*;

/**
 * One context of a native library (a CUDA device, or the host build): checked calls, memory, and
 * uploads of weight matrices in their stored layout. Every failing call becomes an EngineException
 * carrying the library's message. Not thread-safe: one forward pass at a time.
 */
public final class NativeContext implements AutoCloseable {
    private final NashswarmH h;
    private final MemorySegment ctx;
    private final Arena arena = Arena.ofShared();
    private final List<MemorySegment> allocations = new ArrayList<>();
    private final List<MemorySegment> tensors = new ArrayList<>();
    /** Host staging for reads and writes, grown as needed. */
    private MemorySegment staging = MemorySegment.NULL;
    private boolean closed;

    /**
     * A matrix in the library's memory: its handle, its storage type ({@code NS_F32..NS_MIXED}), and the columns its
     * rows are stored with (padding included).
     */
    public record Tensor(MemorySegment handle, int type, int rows, int cols, int storedCols, int groupSize, long storedBytes,
                         long indexBytes) {
        /** Whether ns_matmul_f16 (tensor-core tiles) takes it: int8, int4, int2, NF4/FP4. */
        public boolean hasF16Tiles() {
            return type == NS_INT8 || type == NS_INT4 || type == NS_INT2 || type == NS_NF4;
        }

        /** Whether ns_matmul_q8 (dp4a on int8 activations) takes it: int8, int4, int2, mixed in groups of a multiple of 64. */
        public boolean hasQ8() {
            return type == NS_INT8 || type == NS_INT4 || type == NS_INT2 || (type == NS_MIXED && groupSize % 64 == 0);
        }

        /** Whether ns_matmul_many (up to three products of one input in one launch) takes it: int8, int4, int2. */
        public boolean hasMany() {
            return type == NS_INT8 || type == NS_INT4 || type == NS_INT2;
        }
    }

    /**
     * Opens device {@code device}; an EngineException with the library's message when no driver or device
     * is there.
     */
    public NativeContext(NashswarmH h, int device) {
        this.h = h;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(ValueLayout.JAVA_INT);
            check(h.ns_device_count(count), "counting devices");
            if (count.get(ValueLayout.JAVA_INT, 0) == 0) {
                throw new EngineException(h.path().getFileName() + ": no device present");
            }
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check(h.ns_create(device, out), "opening device " + device);
            ctx = out.get(ValueLayout.ADDRESS, 0);
        }
    }

    public NashswarmH library() {
        return h;
    }

    public MemorySegment handle() {
        return ctx;
    }

    /** Throws the library's message for a failed status. */
    public void check(int status, String what) {
        if (status != NS_OK) {
            String msg = h.ns_last_error().reinterpret(4096).getString(0);
            String kind = switch (status) {
                case NS_E_NO_DEVICE -> "no device";
                case NS_E_OUT_OF_MEMORY -> "out of device memory";
                case NS_E_UNSUPPORTED -> "unsupported";
                case NS_E_CUDA -> "CUDA error";
                default -> "bad argument";
            };
            throw new EngineException(h.path().getFileName() + ": " + what + ": " + kind + ": " + msg);
        }
    }

    public String deviceName() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            check(h.ns_device_name(ctx, buf, 256), "device name");
            return buf.getString(0);
        }
    }

    /** {free, total} bytes of device memory. */
    public long[] memory() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(ValueLayout.JAVA_LONG), t = a.allocate(ValueLayout.JAVA_LONG);
            check(h.ns_memory(ctx, f, t), "memory info");
            return new long[] {f.get(ValueLayout.JAVA_LONG, 0), t.get(ValueLayout.JAVA_LONG, 0)};
        }
    }

    /** n zeroed floats of device memory, freed on close. */
    public MemorySegment alloc(long n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check(h.ns_alloc(ctx, n, out), "allocating " + n + " floats");
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0);
            allocations.add(p);
            return p;
        }
    }

    /** The device address {@code floats} floats after p. */
    public static MemorySegment at(MemorySegment p, long floats) {
        return floats == 0 ? p : MemorySegment.ofAddress(p.address() + 4 * floats);
    }

    private MemorySegment staging(long bytes) {
        if (staging.byteSize() < bytes) {
            staging = arena.allocate(Math.max(bytes, 2 * staging.byteSize()), 64);
        }
        return staging;
    }

    public void write(MemorySegment dst, float[] src, int off, int n) {
        MemorySegment s = staging(4L * n);
        MemorySegment.copy(src, off, s, ValueLayout.JAVA_FLOAT, 0, n);
        check(h.ns_write(ctx, dst, s, n), "writing " + n + " floats");
    }

    /** Reads n floats after all enqueued work into {@code dst[off..]}. */
    public void read(MemorySegment src, float[] dst, int off, int n) {
        MemorySegment s = staging(4L * n);
        check(h.ns_read(ctx, s, src, n), "reading " + n + " floats");
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, dst, off, n);
    }

    /** Reads {@code floats} floats' bytes (a q8 buffer, say) after all enqueued work. */
    public byte[] readBytes(MemorySegment src, long floats) {
        MemorySegment s = staging(4L * floats);
        check(h.ns_read(ctx, s, src, floats), "reading " + floats + " floats");
        return s.asSlice(0, 4L * floats).toArray(ValueLayout.JAVA_BYTE);
    }

    public int readInt(MemorySegment src) {
        MemorySegment s = staging(4);
        check(h.ns_read_i32(ctx, s, src, 1), "reading an int");
        return s.get(ValueLayout.JAVA_INT, 0);
    }

    /** Uploads a matrix in its stored layout; an EngineException for a storage type the library has no kernel for. */
    public Tensor upload(WeightMatrix w) {
        WeightMatrix stored = w instanceof PaddedMatrix p ? p.stored() : w;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(TENSOR_DESC);
            set(d, "rows", stored.rows());
            set(d, "cols", stored.cols());
            switch (stored) {
                case F32Matrix f when f.layout() == Layout.OUT_IN -> {
                    set(d, "type", NS_F32);
                    section(a, d, "data", f.data());
                }
                case F16Matrix f when f.layout() == Layout.OUT_IN -> {
                    set(d, "type", NS_F16);
                    section(a, d, "data", f.data());
                }
                case IntGroupMatrix m -> {
                    set(d, "type", switch (m.bits()) { case 8 -> NS_INT8; case 4 -> NS_INT4; default -> NS_INT2; });
                    packed(a, d, m);
                }
                case CodebookMatrix m -> { // NF4 and FP4: the same kernel over their 16-entry tables
                    set(d, "type", NS_NF4);
                    packed(a, d, m);
                    MemorySegment cb = a.allocate(ValueLayout.JAVA_FLOAT, 16);
                    MemorySegment.copy(codebook(m), 0, cb, ValueLayout.JAVA_FLOAT, 0, 16);
                    d.set(ValueLayout.ADDRESS, TENSOR_DESC.byteOffset(PathElement.groupElement("codebook")), cb);
                }
                case MixedGroupMatrix m -> {
                    set(d, "type", NS_MIXED);
                    packed(a, d, m);
                }
                default -> throw new EngineException("the " + h.path().getFileName() + " backend has no kernel for " + w);
            }
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check(h.ns_upload(ctx, d, out), "uploading " + w);
            MemorySegment t = out.get(ValueLayout.ADDRESS, 0);
            tensors.add(t);
            MemorySegment sb = a.allocate(ValueLayout.JAVA_LONG), ib = a.allocate(ValueLayout.JAVA_LONG);
            check(h.ns_tensor_bytes(t, sb, ib), "tensor bytes");
            int group = d.get(ValueLayout.JAVA_INT, TENSOR_DESC.byteOffset(PathElement.groupElement("group_size")));
            return new Tensor(t, d.get(ValueLayout.JAVA_INT, 0), w.rows(), w.cols(), stored.cols(), group, sb.get(ValueLayout.JAVA_LONG, 0),
                    ib.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** The 16 levels a codebook matrix's codes index (FP4's unused code 15: 0). */
    private static float[] codebook(CodebookMatrix m) {
        if (m instanceof NF4Matrix) {
            return NormalFloat4.codebook();
        }
        float[] t = new float[16];
        for (int u = 0; u < 15; u++) {
            t[u] = Fp4.value(u);
        }
        return t;
    }

    private static void packed(Arena a, MemorySegment d, PackedMatrix m) {
        set(d, "group_size", m.spec().groupSize());
        set(d, "per_tensor", m.spec().perTensor() ? 1 : 0);
        var s = m.sections();
        section(a, d, "data", s.get(Section.CODES));
        section(a, d, "scales", s.get(Section.SCALES));
        section(a, d, "zeros", s.get(Section.ZEROS));
        section(a, d, "map", s.get(Section.MAP));
        section(a, d, "outlier_rows", s.get(Section.OUTLIER_ROWS));
        section(a, d, "outliers", s.get(Section.OUTLIERS));
    }

    private static void set(MemorySegment d, String field, int v) {
        d.set(ValueLayout.JAVA_INT, TENSOR_DESC.byteOffset(PathElement.groupElement(field)), v);
    }

    /** Points the descriptor at a section (copied off the heap first: the library reads native memory only). */
    private static void section(Arena a, MemorySegment d, String name, MemorySegment seg) {
        if (seg == null) {
            return;
        }
        MemorySegment nat = seg.isNative() ? seg : a.allocate(Math.max(1, seg.byteSize()), 16).copyFrom(seg);
        d.set(ValueLayout.ADDRESS, TENSOR_DESC.byteOffset(PathElement.groupElement(name)), nat);
        d.set(ValueLayout.JAVA_LONG, TENSOR_DESC.byteOffset(PathElement.groupElement(name.equals("data") ? "data_bytes" : name + "_bytes")), seg.byteSize());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (MemorySegment t : tensors) {
            h.ns_release(ctx, t);
        }
        for (MemorySegment p : allocations) {
            h.ns_free(ctx, p);
        }
        check(h.ns_destroy(ctx), "closing the context");
        arena.close();
    }
}
