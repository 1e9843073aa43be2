package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntSupplier;

import static io.nashswarm.cuda.NativeContext.at;

/**
 * The forward pass in a native library's memory, through the C ABI of {@code nashswarm.h}: activations,
 * weights (packed as stored) and the key/value cache stay there, and only logits come back. With
 * {@code libnashswarm_cuda.so} that is the GPU; with the host build of the same ABI the same class runs
 * on the CPU, which is how it is tested where there is no GPU.
 *
 * <p>Products: batches of two or more vectors (the prompt) on int8/int4/int2/NF4 weights go through fp16
 * tensor-core tiles ({@code ns_matmul_f16}); single vectors through the float GEMV, or with {@link Options#q8}
 * through dp4a on int8 activations ({@code ns_matmul_q8}, int8/int4/int2 and mixed widths), quantized by the norm that produced
 * them where there is one. With {@link Options#fuse}, small operations that follow each other are launched as
 * one kernel: a residual add and the next norm ({@code ns_add_norm}), RoPE of q and k and the cache store
 * ({@code ns_rope_kv_store}), a product and the bias and GELU after it ({@code ns_matmul_epilogue}), and up to
 * three single-vector products of one input on int8/int4/int2 matrices (q, k, v; gate, up: {@code ns_matmul_many}).
 * They are held back one call to see what follows, and run as they are otherwise.
 */
public final class CudaBackend implements Backend {
    /** {@code q8}: int8 activations (dp4a) for single-vector products; {@code fuse}: fused small operations. */
    public record Options(boolean q8, boolean fuse) {
        public static final Options DEFAULT = new Options(false, true);
    }

    private final Options options;
    /** Held-back operations (one product, one add, or two RoPEs), run by {@link #flush} unless the next call fuses them. */
    private PendingMatmul pendingMatmul;
    private PendingAdd pendingAdd;
    private PendingRope ropeFirst, ropeSecond;
    /** The q8 buffer (grown by reallocation; a recorded graph keeps the old one, freed at close) and which input it holds. */
    private MemorySegment q8 = MemorySegment.NULL;
    private long q8Capacity, q8Of = -1;
    private int q8Values;

    private record PendingAdd(MemorySegment y, MemorySegment x, int n) {}

    /** Copies of n floats held back to run as one launch (ns_copy_many): GPT-2's split of its fused q|k|v output. */
    private record PendingCopies(List<MemorySegment> dsts, List<MemorySegment> srcs, int n) {
        /** Whether a copy from src to dst may join: same length, room, and no range of one copy overlapping another's. */
        boolean joins(MemorySegment dst, MemorySegment src, int n) {
            if (n != this.n || dsts.size() == NashswarmH.NS_COPY_MAX) {
                return false;
            }
            for (int i = 0; i < dsts.size(); i++) {
                if (overlap(dst, dsts.get(i)) || overlap(dst, srcs.get(i)) || overlap(src, dsts.get(i))) {
                    return false;
                }
            }
            return !overlap(dst, src);
        }

        private boolean overlap(MemorySegment a, MemorySegment b) {
            long bytes = 4L * n;
            return a.address() < b.address() + bytes && b.address() < a.address() + bytes;
        }

        PendingCopies plus(MemorySegment dst, MemorySegment src) {
            List<MemorySegment> d = new ArrayList<>(dsts), s = new ArrayList<>(srcs);
            d.add(dst);
            s.add(src);
            return new PendingCopies(d, s, n);
        }
    }

    private PendingCopies pendingCopies;

    /**
     * An operation held back in q8 mode whose n outputs at out a q8 product may take next (SwiGLU before the down
     * projection, one row's attention before the output projection): run(q8) also writes their q8 codes there, or
     * not when q8 is NULL.
     */
    private record PendingQ8Source(String kind, MemorySegment out, int n, Function<MemorySegment, Integer> run) {}

    private PendingQ8Source pendingQ8Source;
    /** ns_copy_many's two pointer arrays (destinations, sources), reused. */
    private final MemorySegment copyArgs = Arena.ofAuto().allocate(ValueLayout.ADDRESS, 2L * NashswarmH.NS_COPY_MAX);

    /**
     * Products of one input (kind NS_MATMUL_GEMV/F16/Q8; {@code in} is x or the q8 buffer, {@code src} the float input it
     * came from) and, for a single one, the epilogue gathered for it so far.
     */
    private record PendingMatmul(int kind, List<NativeContext.Tensor> ts, String what, long src, MemorySegment in,
                                 List<MemorySegment> outs, int n, MemorySegment bias, int act) {
        NativeContext.Tensor t() {
            return ts.get(0);
        }

        MemorySegment out() {
            return outs.get(0);
        }

        boolean single() {
            return ts.size() == 1;
        }

        PendingMatmul with(MemorySegment bias, int act) {
            return new PendingMatmul(kind, ts, what, src, in, outs, n, bias, act);
        }

        /** Whether a single-vector product of the same input can run in the same launch. */
        boolean joins(int kind, NativeContext.Tensor t, long src, int n) {
            return n == 1 && this.n == 1 && kind == this.kind && (kind == NashswarmH.NS_MATMUL_GEMV || kind == NashswarmH.NS_MATMUL_Q8)
                    && src == this.src && bias.address() == 0 && act == NashswarmH.NS_ACT_NONE && ts.size() < NashswarmH.NS_MANY_MAX
                    && t.hasMany() && t.type() == t().type() && t.cols() == t().cols() && t.cols() == t.storedCols();
        }

        PendingMatmul join(NativeContext.Tensor t, String what, MemorySegment out) {
            List<NativeContext.Tensor> more = new ArrayList<>(ts);
            more.add(t);
            List<MemorySegment> outs2 = new ArrayList<>(outs);
            outs2.add(out);
            return new PendingMatmul(kind, more, this.what + " + " + what, src, in, outs2, n, bias, act);
        }
    }

    private record PendingRope(Buffer v, int rows, int heads, int headSize, int pos, RopeStyle style, Buffer cos, Buffer sin) {}
    private final NativeContext ctx;
    private final NashswarmH h;
    private final MemorySegment c;
    private final String name;
    private float[] host = new float[0];
    /** Device memory free when opened; bytes of weights as stored and of the index built at upload. */
    private final long freeAtOpen;
    private long weightBytes, indexBytes;
    /** Device memory the weight uploads took, by cudaMemGetInfo around each one (allocation rounding included). */
    private long weightDeviceBytes;
    /** A decode step's token and position in device memory (two ints), which a replayed graph reads. */
    private final MemorySegment slots, posSlot;
    /** Where ns_argmax leaves greedy decoding's next token. */
    private final MemorySegment argmaxSlot;
    private final MemorySegment slotsHost;
    /** While a step is recorded (and in its profiled eager run): tokens and positions come from the slots. */
    private boolean fromSlots;
    private int slotToken, slotPos;
    /** The sequence whose decode step the context's graph holds, and what was measured when it was recorded. */
    private Object graphOf;
    private StepProfile profile;
    /** Why recording failed, if it did: steps then run eagerly (and the report says so) rather than fail. */
    private String graphFailure;
    /** During one eager run per recorded step: each operation's own time by kind, {ms, launches}; then the result. */
    private Map<String, double[]> breakdown, stepBreakdown;
    private final MemorySegment opMs, opSpan, opCount;
    /** ns_matmul_many's two pointer arrays (tensors, outputs), reused. */
    private final MemorySegment manyArgs = Arena.ofAuto().allocate(ValueLayout.ADDRESS, 2L * NashswarmH.NS_MANY_MAX);

    /**
     * The recorded step: its graph nodes, and the eager run before the recording with every operation bracketed
     * by events: the kernels' own time, the span from the first one's start to the last one's end, and the count.
     */
    record StepProfile(int nodes, float kernelsMs, float eagerSpanMs, int ops) {}

    record DeviceBuffer(MemorySegment ptr, int length) implements Buffer {}

    /** A matrix in device memory; rows stored with padding read their inputs through a zero-padded scratch. */
    record DeviceMatrix(WeightMatrix source, NativeContext.Tensor tensor, MemorySegment padded) implements Matrix {}

    public CudaBackend(NativeContext ctx) {
        this(ctx, Options.DEFAULT);
    }

    public CudaBackend(NativeContext ctx, Options options) {
        this.ctx = ctx;
        this.options = options;
        this.h = ctx.library();
        this.c = ctx.handle();
        this.name = h.ns_backend_name().reinterpret(64).getString(0);
        this.freeAtOpen = ctx.memory()[0];
        this.slots = ctx.alloc(2);
        this.posSlot = at(slots, 1);
        this.argmaxSlot = ctx.alloc(1);
        this.slotsHost = Arena.ofAuto().allocate(ValueLayout.JAVA_INT, 2);
        Arena auto = Arena.ofAuto();
        this.opMs = auto.allocate(ValueLayout.JAVA_FLOAT);
        this.opSpan = auto.allocate(ValueLayout.JAVA_FLOAT);
        this.opCount = auto.allocate(ValueLayout.JAVA_INT);
    }

    /** The CUDA library on device 0: one EngineException saying what is missing (library, driver or device). */
    public static CudaBackend open() {
        return open(Options.DEFAULT);
    }

    public static CudaBackend open(Options options) {
        NashswarmH lib = NativeLibrary.load(NativeLibrary.Kind.CUDA);
        return new CudaBackend(new NativeContext(lib, 0), options);
    }

    public Options options() {
        return options;
    }

    public NativeContext context() {
        return ctx;
    }

    private static MemorySegment p(Buffer b) {
        return ((DeviceBuffer) b).ptr;
    }

    private static MemorySegment p(Buffer b, int off) {
        return at(((DeviceBuffer) b).ptr, off);
    }

    @Override
    public String name() {
        return name;
    }

    /** Bytes in use on the device (total − free; the host library reports its allocations as total, free 0). */
    private long used() {
        long[] mem = ctx.memory();
        return mem[1] - mem[0];
    }

    /** cudaMemGetInfo's free bytes at open minus now (the host library: its allocations), beside the weights' own bytes. */
    @Override
    public String describe() {
        long[] mem = ctx.memory();
        long used = name.equals("host") ? mem[1] : freeAtOpen - mem[0];
        String d = String.format("%s%s%s: %s; device memory in use %.1f MiB (cudaMemGetInfo); the weight uploads took %.1f MiB (cudaMemGetInfo around each) = stored sections %.1f MiB + mixed-row index %.1f MiB + %.1f MiB allocation rounding, no dequantized copy; the rest is activations, KV cache and the runtime",
                name, options.q8 ? " (q8 activations)" : "", options.fuse ? "" : " (unfused)", ctx.deviceName(), used / 1048576.0, weightDeviceBytes / 1048576.0, weightBytes / 1048576.0, indexBytes / 1048576.0,
                (weightDeviceBytes - weightBytes - indexBytes) / 1048576.0);
        return graphFailure != null ? d + "; decode steps run eagerly: recording the graph failed: " + graphFailure
                : profile == null ? d : d + "; " + stepReport();
    }

    /** The decode step's graph against its kernels' own time: the launch overhead share the graph leaves. */
    public String stepReport() {
        double[] g = graphTimes();
        StepProfile p = profile;
        double share = g[2] == 0 ? Double.NaN : 100 * (g[1] - p.kernelsMs()) / g[1];
        return String.format("decode step: graph of %d nodes replayed %d times, %.3f ms/step (events around each launch); "
                        + "its %d operations' own time %.3f ms (event pairs, eager run), eager span %.3f ms; launch overhead %.1f%% of the graph step",
                p.nodes(), (long) g[2], g[1], p.ops(), p.kernelsMs(), p.eagerSpanMs(), share) + breakdownReport();
    }

    /** Where the kernels' time goes, by kind of operation, from the timed-alone run. */
    private String breakdownReport() {
        Map<String, double[]> b = stepBreakdown;
        if (b == null || b.isEmpty()) {
            return "";
        }
        double total = b.values().stream().mapToDouble(v -> v[0]).sum();
        StringBuilder sb = new StringBuilder("; own time by kind (timed alone): ");
        b.entrySet().stream().sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0])).forEach(e -> sb.append(String.format(
                "%s %.3f ms/%d (%.0f%%), ", e.getKey(), e.getValue()[0], (long) e.getValue()[1], 100 * e.getValue()[0] / total)));
        return sb.substring(0, sb.length() - 2);
    }

    /** One stream, one staging buffer: sequences run one at a time. */
    @Override
    public boolean concurrentSequences() {
        return false;
    }

    /**
     * The first step of a sequence runs eagerly with every operation timed (the kernels' own time), then is
     * recorded as a graph reading token and position from the slots; later steps write the slots and replay it.
     * Replays write the cache at the slot's position and leave the logits where the body leaves them.
     */
    @Override
    public void decodeStep(Object sequence, int token, int pos, Runnable stepBody) {
        Runnable body = () -> {
            stepBody.run();
            flush();
        };
        before(); // nothing held back from before the step; the q8 input is the step's own (a replay overwrites it)
        slotsHost.set(ValueLayout.JAVA_INT, 0, token);
        slotsHost.set(ValueLayout.JAVA_INT, 4, pos);
        ctx.check(h.ns_write_i32(c, slots, slotsHost, 2), "writing the step's token and position");
        if (sequence == graphOf) {
            ctx.check(h.ns_graph_launch(c), "replaying the decode step");
            return;
        }
        if (graphFailure != null) {
            body.run();
            return;
        }
        graphOf = null;
        slotToken = token;
        slotPos = pos;
        fromSlots = true;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kms = a.allocate(ValueLayout.JAVA_FLOAT), span = a.allocate(ValueLayout.JAVA_FLOAT);
            MemorySegment ops = a.allocate(ValueLayout.JAVA_INT), nodes = a.allocate(ValueLayout.JAVA_INT);
            ctx.check(h.ns_profile_begin(c), "profiling the decode step");
            try {
                body.run();
            } finally {
                ctx.check(h.ns_profile_end(c, kms, span, ops), "profiling the decode step");
            }
            profile = new StepProfile(0, kms.get(ValueLayout.JAVA_FLOAT, 0), span.get(ValueLayout.JAVA_FLOAT, 0),
                    ops.get(ValueLayout.JAVA_INT, 0));
            // Once more, each operation timed alone (a step is idempotent: the same cache row, the same logits).
            breakdown = new HashMap<>();
            try {
                body.run();
            } finally {
                stepBreakdown = breakdown;
                breakdown = null;
            }
            // The step's work is done; now record it (nothing runs while recording) for the next steps.
            try {
                ctx.check(h.ns_graph_begin(c), "recording the decode step");
                boolean recorded = false;
                try {
                    body.run();
                    recorded = true;
                } finally {
                    int st = h.ns_graph_end(c, nodes);
                    if (recorded) {
                        ctx.check(st, "recording the decode step");
                    }
                }
            } catch (EngineException e) {
                graphFailure = e.getMessage();
                System.err.println("warning: decode steps run without a CUDA graph: " + graphFailure);
                return;
            }
            profile = new StepProfile(nodes.get(ValueLayout.JAVA_INT, 0), profile.kernelsMs(), profile.eagerSpanMs(), profile.ops());
            graphOf = sequence;
        } finally {
            fromSlots = false;
        }
    }

    /** The recorded step's profile, or null before the first decode step. */
    public StepProfile stepProfile() {
        return profile;
    }

    /** {last launch ms, mean launch ms, launches}: the graph replays as CUDA events timed them. */
    public double[] graphTimes() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment last = a.allocate(ValueLayout.JAVA_FLOAT), total = a.allocate(ValueLayout.JAVA_DOUBLE), n = a.allocate(ValueLayout.JAVA_LONG);
            ctx.check(h.ns_graph_time(c, last, total, n), "graph times");
            long launches = n.get(ValueLayout.JAVA_LONG, 0);
            return new double[] {last.get(ValueLayout.JAVA_FLOAT, 0), launches == 0 ? 0 : total.get(ValueLayout.JAVA_DOUBLE, 0) / launches, launches};
        }
    }

    /** Runs one operation, checked; while a breakdown is taken, timed on its own (event pair, then a synchronisation). */
    private void op(String kind, String what, IntSupplier call) {
        if (breakdown == null) {
            ctx.check(call.getAsInt(), what);
            return;
        }
        ctx.check(h.ns_profile_begin(c), "profiling " + what);
        int st = call.getAsInt();
        ctx.check(h.ns_profile_end(c, opMs, opSpan, opCount), "profiling " + what);
        ctx.check(st, what);
        double[] acc = breakdown.computeIfAbsent(kind, k -> new double[2]);
        acc[0] += opMs.get(ValueLayout.JAVA_FLOAT, 0);
        acc[1] += opCount.get(ValueLayout.JAVA_INT, 0);
    }

    /** The position argument of a step's operation: the slot while recording (the value must be the step's). */
    private MemorySegment posDev(int pos) {
        if (!fromSlots) {
            return MemorySegment.NULL;
        }
        if (pos != slotPos) {
            throw new EngineException("a recorded decode step used position " + pos + ", not its own " + slotPos);
        }
        return posSlot;
    }

    @Override
    public Buffer allocate(int n) {
        return new DeviceBuffer(ctx.alloc(n), n);
    }

    @Override
    public Buffer upload(float[] values) {
        Buffer b = allocate(values.length);
        ctx.write(p(b), values, 0, values.length);
        return b;
    }

    @Override
    public Matrix upload(WeightMatrix w) {
        long before = used();
        NativeContext.Tensor t = ctx.upload(w);
        weightDeviceBytes += used() - before;
        weightBytes += t.storedBytes();
        indexBytes += t.indexBytes();
        MemorySegment pad = t.storedCols() == t.cols() ? null : ctx.alloc((long) TransformerModel.MAX_BATCH * t.storedCols());
        return new DeviceMatrix(w, t, pad);
    }

    @Override
    public float[] read(Buffer b, int n) {
        flush();
        if (host.length < n) {
            host = new float[n];
        }
        ctx.read(p(b), host, 0, n);
        return host;
    }

    /** On the device (ns_argmax, ties to the first as the CPU's): one int comes back instead of the vocabulary's logits. */
    @Override
    public int argmax(Buffer b, int n) {
        flush();
        ctx.check(h.ns_argmax(c, p(b), n, argmaxSlot), "argmax of " + n + " logits");
        return ctx.readInt(argmaxSlot);
    }

    @Override
    public void matmul(Matrix w, Buffer x, Buffer y, int n) {
        DeviceMatrix m = (DeviceMatrix) w;
        NativeContext.Tensor t = m.tensor;
        MemorySegment in = p(x), out = p(y);
        boolean q8Path = n == 1 && options.q8 && t.hasQ8() && m.padded == null && t.cols() % NashswarmH.NS_Q8_BLOCK == 0;
        PendingQ8Source src = pendingQ8Source;
        if (src != null && q8Path && src.out.address() == in.address() && src.n == t.cols()) {
            pendingQ8Source = null; // the operation and the quantization of its output in one launch
            MemorySegment q = q8Buffer(src.n);
            op(src.kind + "+q8", src.kind, () -> src.run.apply(q));
            q8Of = in.address();
            q8Values = src.n;
        }
        PendingMatmul held = pendingMatmul;
        if (held != null && held.joins(q8Path ? NashswarmH.NS_MATMUL_Q8 : NashswarmH.NS_MATMUL_GEMV, t, in.address(), n)) {
            pendingMatmul = held.join(t, String.valueOf(m.source), out); // same input: one launch (its q8 is already there)
            if (out.address() == q8Of) {
                q8Of = -1;
            }
            return;
        }
        flush();
        PendingMatmul pm;
        if (q8Path) {
            if (q8Of != in.address() || q8Values != t.cols()) {
                MemorySegment q = q8Buffer(t.cols());
                op("quantize", "quantizing the input of " + m.source, () -> h.ns_quantize_q8(c, in, 1, t.cols(), q));
                q8Of = in.address();
                q8Values = t.cols();
            }
            pm = new PendingMatmul(NashswarmH.NS_MATMUL_Q8, List.of(t), "matmul (q8) " + m.source, in.address(), q8, List.of(out), 1,
                    MemorySegment.NULL, NashswarmH.NS_ACT_NONE);
        } else {
            if (m.padded != null) {
                if (n > TransformerModel.MAX_BATCH) {
                    throw new EngineException("batch of " + n + " exceeds " + TransformerModel.MAX_BATCH);
                }
                int cols = t.cols(), stored = t.storedCols();
                for (int b = 0; b < n; b++) {
                    MemorySegment to = at(m.padded, (long) b * stored), from = at(in, (long) b * cols);
                    op("copy", "padding an input", () -> h.ns_copy(c, to, from, cols));
                }
            }
            MemorySegment input = m.padded != null ? m.padded : in;
            boolean tiles = n >= 2 && t.hasF16Tiles();
            pm = new PendingMatmul(tiles ? NashswarmH.NS_MATMUL_F16 : NashswarmH.NS_MATMUL_GEMV, List.of(t), (tiles ? "matmul (fp16 tiles) " : "matmul ")
                    + m.source, m.padded != null ? -1 : in.address(), input, List.of(out), n, MemorySegment.NULL, NashswarmH.NS_ACT_NONE);
        }
        if (out.address() == q8Of) {
            q8Of = -1;
        }
        if (options.fuse) {
            pendingMatmul = pm; // a bias, then GELU, may follow
        } else {
            runMatmul(pm);
        }
    }

    private void runMatmul(PendingMatmul pm) {
        if (!pm.single()) {
            int k = pm.ts.size();
            MemorySegment ws = manyArgs.asSlice(0, 8L * k), ys = manyArgs.asSlice(8L * NashswarmH.NS_MANY_MAX, 8L * k);
            for (int i = 0; i < k; i++) {
                ws.setAtIndex(ValueLayout.ADDRESS, i, pm.ts.get(i).handle());
                ys.setAtIndex(ValueLayout.ADDRESS, i, pm.outs.get(i));
            }
            op("matmul x" + k, pm.what, () -> h.ns_matmul_many(c, pm.kind, k, ws, pm.in, ys, pm.n));
            return;
        }
        String kind = "matmul" + (pm.bias.address() == 0 ? "" : "+bias") + (pm.act == NashswarmH.NS_ACT_GELU ? "+gelu" : "");
        op(kind, pm.what, () -> h.ns_matmul_epilogue(c, pm.kind, pm.t().handle(), pm.in, pm.out(), pm.n, pm.bias, pm.act));
    }

    /** The q8 buffer, large enough for {@code values} values. */
    private MemorySegment q8Buffer(long values) {
        if (q8Capacity < values) {
            q8 = ctx.alloc(NashswarmH.q8Floats(values));
            q8Capacity = values;
        }
        return q8;
    }

    /** Runs the held-back operations as they are. */
    private void flush() {
        PendingCopies pc = pendingCopies; // held before anything else could be (a copy flushes what was held)
        pendingCopies = null;
        if (pc != null) {
            runCopies(pc);
        }
        PendingQ8Source src = pendingQ8Source; // likewise
        pendingQ8Source = null;
        if (src != null) {
            runWithoutQ8(src);
        }
        PendingMatmul pm = pendingMatmul;
        pendingMatmul = null;
        if (pm != null) {
            runMatmul(pm);
        }
        PendingAdd a = pendingAdd;
        pendingAdd = null;
        if (a != null) {
            op("add", "add", () -> h.ns_add(c, a.y, a.x, a.n));
        }
        PendingRope r1 = ropeFirst, r2 = ropeSecond;
        ropeFirst = ropeSecond = null;
        if (r1 != null) {
            runRope(r1);
        }
        if (r2 != null) {
            runRope(r2);
        }
    }

    /** Before an operation that neither fuses with what is held back nor keeps the q8 input valid. */
    private void before() {
        flush();
        q8Of = -1;
    }

    private static int ropeStyle(RopeStyle style) {
        return style == RopeStyle.INTERLEAVED ? NashswarmH.NS_ROPE_INTERLEAVED : NashswarmH.NS_ROPE_ROTATE_HALF;
    }

    private void runRope(PendingRope r) {
        MemorySegment pd = posDev(r.pos);
        op("rope", "rope", () -> h.ns_rope(c, p(r.v), r.rows, r.heads, r.headSize, r.pos, pd, ropeStyle(r.style), p(r.cos), p(r.sin)));
    }

    @Override
    public void embed(Matrix table, int row, Buffer out, int off) {
        if (fromSlots && row != slotToken) {
            throw new EngineException("a recorded decode step embedded token " + row + ", not its own " + slotToken);
        }
        embedRow(table, row, fromSlots ? slots : MemorySegment.NULL, out, off);
    }

    @Override
    public void embedPosition(Matrix table, int pos, Buffer out, int off) {
        embedRow(table, pos, posDev(pos), out, off);
    }

    private void embedRow(Matrix table, int row, MemorySegment rowDev, Buffer out, int off) {
        before();
        DeviceMatrix m = (DeviceMatrix) table;
        if (m.padded == null) {
            op("embed", "embedding row " + row, () -> h.ns_embed(c, m.tensor.handle(), row, rowDev, p(out, off)));
        } else {
            op("embed", "embedding row " + row, () -> h.ns_embed(c, m.tensor.handle(), row, rowDev, m.padded));
            op("copy", "embedding row " + row, () -> h.ns_copy(c, p(out, off), m.padded, m.tensor.cols()));
        }
    }

    @Override
    public void rmsnorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, int rows, int n, float eps) {
        norm(out, oOff, x, xOff, w, null, rows, n, eps);
    }

    @Override
    public void layernorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, Buffer b, int rows, int n, float eps) {
        norm(out, oOff, x, xOff, w, b, rows, n, eps);
    }

    /**
     * RMSNorm (b null) or LayerNorm; fused with a held-back residual add into x, and in q8 mode with the quantization of
     * a single output row for the products that follow.
     */
    private void norm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, Buffer b, int rows, int n, float eps) {
        MemorySegment o = p(out, oOff), in = p(x, xOff);
        PendingAdd a = pendingAdd;
        boolean fuseAdd = a != null && a.y.address() == in.address() && a.n == (long) rows * n;
        if (fuseAdd) {
            pendingAdd = null;
        }
        before();
        boolean quantize = options.q8 && rows == 1 && n % NashswarmH.NS_Q8_BLOCK == 0;
        String kind = b == null ? "rmsnorm" : "layernorm";
        if (!fuseAdd && !quantize) {
            if (b == null) {
                op(kind, kind, () -> h.ns_rmsnorm(c, o, in, p(w), rows, n, eps));
            } else {
                op(kind, kind, () -> h.ns_layernorm(c, o, in, p(w), p(b), rows, n, eps));
            }
            return;
        }
        MemorySegment delta = fuseAdd ? a.x : MemorySegment.NULL, bias = b == null ? MemorySegment.NULL : p(b);
        MemorySegment q = quantize ? q8Buffer(n) : MemorySegment.NULL;
        op((fuseAdd ? "add+" : "") + kind + (quantize ? "+q8" : ""), kind, () -> h.ns_add_norm(c, in, delta, o, p(w), bias, rows, n, eps, q));
        if (quantize) {
            q8Of = o.address();
            q8Values = n;
        }
    }

    @Override
    public void rope(Buffer v, int rows, int heads, int headSize, int pos, RopeStyle style, Buffer cos, Buffer sin) {
        PendingRope r = new PendingRope(v, rows, heads, headSize, pos, style, cos, sin);
        if (options.fuse && ropeFirst != null && ropeSecond == null) {
            ropeSecond = r; // q then k: the cache store that follows takes both
            return;
        }
        before();
        if (options.fuse) {
            ropeFirst = r;
        } else {
            runRope(r);
        }
    }

    @Override
    public void add(Buffer y, int yOff, Buffer x, int xOff, int n) {
        before();
        if (options.fuse) {
            pendingAdd = new PendingAdd(p(y, yOff), p(x, xOff), n); // the next norm of y may take it
        } else {
            op("add", "add", () -> h.ns_add(c, p(y, yOff), p(x, xOff), n));
        }
    }

    @Override
    public void addBias(Buffer x, Buffer bias, int rows, int n) {
        PendingMatmul pm = pendingMatmul;
        if (pm != null && pm.single() && pm.out().address() == p(x).address() && pm.n == rows && pm.t().rows() == n && pm.bias.address() == 0
                && pm.act == NashswarmH.NS_ACT_NONE) {
            pendingMatmul = pm.with(p(bias), NashswarmH.NS_ACT_NONE);
            return;
        }
        before();
        op("bias", "bias", () -> h.ns_add_bias(c, p(x), p(bias), rows, n));
    }

    @Override
    public void copy(Buffer src, int sOff, Buffer dst, int dOff, int n) {
        MemorySegment to = p(dst, dOff), from = p(src, sOff);
        if (options.fuse) { // consecutive copies (GPT-2's q, k, v out of the fused projection) become one launch
            PendingCopies pc = pendingCopies;
            if (pc != null && pc.joins(to, from, n)) {
                pendingCopies = pc.plus(to, from); // nothing ran since the first copy's before(): no q8 input to keep
                return;
            }
            before();
            pendingCopies = new PendingCopies(List.of(to), List.of(from), n);
            return;
        }
        before();
        op("copy", "copy", () -> h.ns_copy(c, to, from, n));
    }

    private void runCopies(PendingCopies pc) {
        if (pc.dsts.size() == 1) {
            op("copy", "copy", () -> h.ns_copy(c, pc.dsts.getFirst(), pc.srcs.getFirst(), pc.n));
            return;
        }
        int k = pc.dsts.size();
        MemorySegment ds = copyArgs.asSlice(0, 8L * k), ss = copyArgs.asSlice(8L * NashswarmH.NS_COPY_MAX, 8L * k);
        for (int i = 0; i < k; i++) {
            ds.setAtIndex(ValueLayout.ADDRESS, i, pc.dsts.get(i));
            ss.setAtIndex(ValueLayout.ADDRESS, i, pc.srcs.get(i));
        }
        op("copy x" + k, "copies", () -> h.ns_copy_many(c, k, ds, ss, pc.n));
    }

    @Override
    public void geluTanh(Buffer x, int n) {
        PendingMatmul pm = pendingMatmul;
        if (pm != null && pm.single() && pm.out().address() == p(x).address() && (long) pm.n * pm.t().rows() == n && pm.act == NashswarmH.NS_ACT_NONE) {
            pendingMatmul = null;
            before();
            runMatmul(pm.with(pm.bias, NashswarmH.NS_ACT_GELU));
            return;
        }
        before();
        op("gelu", "gelu", () -> h.ns_gelu_tanh(c, p(x), n));
    }

    @Override
    public void swiglu(Buffer g, Buffer u, int n) {
        before();
        MemorySegment gp = p(g), up = p(u);
        holdOrRun("swiglu", gp, n, n % NashswarmH.NS_Q8_BLOCK == 0, q8 -> h.ns_swiglu(c, gp, up, n, q8));
    }

    /** Runs an operation whose output a q8 product may take next, or, in fused q8 mode where it can write q8, holds it. */
    private void holdOrRun(String kind, MemorySegment out, int n, boolean canQ8, Function<MemorySegment, Integer> run) {
        PendingQ8Source s = new PendingQ8Source(kind, out, n, run);
        if (options.fuse && options.q8 && canQ8) {
            pendingQ8Source = s;
        } else {
            runWithoutQ8(s);
        }
    }

    /** Runs such an operation on its own, writing no q8 codes. */
    private void runWithoutQ8(PendingQ8Source s) {
        op(s.kind, s.kind, () -> s.run.apply(MemorySegment.NULL));
    }

    @Override
    public KvCache kvCache(ModelConfig cfg, int capacity, int maxBatch) {
        return new DeviceKvCache(cfg, capacity, maxBatch);
    }

    /** keys/values per layer [capacity][kvDim] in device memory, and one score row per (batch row, head). */
    private final class DeviceKvCache implements KvCache {
        private final int capacity, kvDim, nh, nkv, hs;
        private final MemorySegment[] keys, values;
        private final MemorySegment scores;

        DeviceKvCache(ModelConfig cfg, int capacity, int maxBatch) {
            this.capacity = capacity;
            kvDim = cfg.kvDim();
            nh = cfg.nHeads();
            nkv = cfg.nKvHeads();
            hs = cfg.headSize();
            keys = new MemorySegment[cfg.nLayers()];
            values = new MemorySegment[cfg.nLayers()];
            for (int l = 0; l < keys.length; l++) {
                keys[l] = ctx.alloc((long) capacity * kvDim);
                values[l] = ctx.alloc((long) capacity * kvDim);
            }
            scores = ctx.alloc((long) maxBatch * nh * capacity);
        }

        @Override
        public void store(int layer, Buffer k, Buffer v, int b, int pos) {
            PendingRope rk = ropeSecond != null ? ropeSecond : ropeFirst, rq = ropeSecond != null ? ropeFirst : null;
            if (rk != null && p(rk.v).address() == p(k).address() && rk.rows == b && rk.pos == pos && rk.heads == nkv && rk.headSize == hs) {
                boolean withQ = rq != null && rq.rows == b && rq.pos == pos && rq.headSize == hs && rq.style == rk.style
                        && rq.cos == rk.cos && rq.sin == rk.sin;
                ropeFirst = ropeSecond = null;
                if (rq != null && !withQ) {
                    runRope(rq);
                }
                before();
                MemorySegment pd = posDev(pos), q = withQ ? p(rq.v) : MemorySegment.NULL;
                int heads = withQ ? rq.heads : nh;
                op("rope+kv store", "rope and kv store", () -> h.ns_rope_kv_store(c, q, p(k), p(v), keys[layer], values[layer], b, heads, nkv, hs,
                        pos, pd, ropeStyle(rk.style), p(rk.cos), p(rk.sin)));
                return;
            }
            before();
            MemorySegment pd = posDev(pos);
            op("kv store", "kv store", () -> h.ns_kv_store(c, keys[layer], values[layer], p(k), p(v), b, pos, pd, kvDim));
        }

        @Override
        public void attend(int layer, Buffer q, Buffer out, int b, int pos) {
            before();
            MemorySegment pd = posDev(pos), qp = p(q), o = p(out), k = keys[layer], v = values[layer];
            holdOrRun("attention", o, b * nh * hs, b == 1 && hs % NashswarmH.NS_Q8_BLOCK == 0 && NashswarmH.NS_ATTENTION_Q8_HEADS % hs == 0,
                    q8 -> h.ns_attention(c, qp, k, v, o, scores, b, pos, pd, nh, nkv, hs, capacity, q8));
        }

        @Override
        public long bytes() {
            return 2L * keys.length * capacity * kvDim * Float.BYTES;
        }
    }

    @Override
    public void close() {
        ctx.close();
    }
}
