package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.IntGroupMatrix;
import io.nashswarm.tensor.NF4Matrix;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Packing;
import io.nashswarm.tensor.Section;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * Round-to-nearest quantizers from float rows to packed matrices: per-tensor, per-channel and
 * group-wise integer codes at 8/4/2 bits (symmetric or asymmetric, see {@link GroupQuantizer} for the
 * scale rules) and NF4. Rows are quantized in parallel; the output sections are allocated in the
 * caller's arena.
 */
public final class RtnQuantizer {
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RtnQuantizer() {}

    /** Group-wise integer RTN with min/max scales, sections in an automatic arena. */
    public static IntGroupMatrix quantize(RowSource src, QuantType type, GroupSpec spec) {
        return quantize(src, type, spec, ScaleRule.MINMAX, Arena.ofAuto());
    }

    /**
     * Integer RTN: {@code type} is INT8, INT4 or INT2; {@code spec} sets group size, symmetry and
     * per-tensor mode (per-channel: {@code GroupSpec.perChannel(cols, …)}).
     */
    public static IntGroupMatrix quantize(RowSource src, QuantType type, GroupSpec spec, ScaleRule rule, Arena arena) {
        return quantize(src, type, spec, (r, gi, w, off, n, bits, u, uOff) ->
                GroupQuantizer.quantize(w, off, n, bits, spec.asymmetric(), rule, null, 0, u, uOff), arena);
    }

    /** Integer groups whose codes {@code coder} chooses (e.g. GPTQ's); a per-tensor spec always rounds to nearest. */
    public static IntGroupMatrix quantize(RowSource src, QuantType type, GroupSpec spec, GroupCoder coder, Arena arena) {
        int rows = src.rows(), cols = src.cols(), bits = type.codeBits();
        if (!(type.codec() instanceof Codec.IntegerGrid)) {
            throw new IllegalArgumentException(type.label() + " is not an integer group type");
        }
        Map<String, MemorySegment> sections = allocate(arena, type.sections(rows, cols, spec));
        int groups = cols / spec.groupSize();
        float tensorScale = 0f;
        int tensorZero = 0;
        if (spec.perTensor()) {
            GroupQuantizer.Result t = tensorRange(src, bits, spec.asymmetric());
            tensorScale = t.scale();
            tensorZero = t.zero();
        }
        int[] zerosOut = spec.asymmetric() ? new int[spec.perTensor() ? 1 : rows * groups] : null;
        float ts = tensorScale;
        int tz = tensorZero;
        MemorySegment codes = sections.get(Section.CODES), scales = sections.get(Section.SCALES);
        long rowBytes = (long) cols * bits / 8;
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[cols];
            byte[] packed = new byte[(int) rowBytes];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    int off = gi * spec.groupSize();
                    GroupQuantizer.Result q = spec.perTensor()
                            ? GroupQuantizer.encode(w, off, spec.groupSize(), bits, ts, tz, null, 0, u, off)
                            : coder.code(r, gi, w, off, spec.groupSize(), bits, u, off);
                    if (!spec.perTensor()) {
                        scales.set(F16, 2L * ((long) r * groups + gi), Float.floatToFloat16(q.scale()));
                        if (zerosOut != null) {
                            zerosOut[r * groups + gi] = q.zero();
                        }
                    }
                }
                Packing.pack(bits, u, 0, cols, packed, 0);
                MemorySegment.copy(packed, 0, codes, ValueLayout.JAVA_BYTE, r * rowBytes, packed.length);
            }
        });
        if (spec.perTensor()) {
            scales.set(F16, 0, Float.floatToFloat16(tensorScale));
            if (zerosOut != null) {
                zerosOut[0] = tensorZero;
            }
        }
        if (zerosOut != null) {
            byte[] z = new byte[(int) sections.get(Section.ZEROS).byteSize()];
            for (int i = 0; i < zerosOut.length; i++) {
                Packing.writeBits(z, (long) i * bits, bits, zerosOut[i]);
            }
            MemorySegment.copy(z, 0, sections.get(Section.ZEROS), ValueLayout.JAVA_BYTE, 0, z.length);
        }
        return (IntGroupMatrix) type.open(rows, cols, spec, sections);
    }

    /** NF4 with an absmax scale per group (or per tensor), sections in an automatic arena. */
    public static NF4Matrix nf4(RowSource src, GroupSpec spec) {
        return nf4(src, spec, Arena.ofAuto());
    }

    public static NF4Matrix nf4(RowSource src, GroupSpec spec, Arena arena) {
        return (NF4Matrix) codebook(src, QuantType.NF4, spec, arena);
    }

    /**
     * A codebook type ({@link Codec.Codebook}, e.g. NF4): an fp16 absmax scale per group (or per tensor),
     * the nearest level per weight; codes are packed at the type's code width.
     */
    public static PackedMatrix codebook(RowSource src, QuantType type, GroupSpec spec, Arena arena) {
        if (!(type.codec() instanceof Codec.Codebook levels)) {
            throw new IllegalArgumentException(type.label() + " is not a codebook type");
        }
        return codebook(src, type, spec, (r, gi, w, off, n, bits, u, uOff) -> GroupQuantizer.codebook(w, off, n, levels, null, 0, u, uOff), arena);
    }

    /** A codebook type whose codes {@code coder} chooses (e.g. GPTQ's); a per-tensor spec always rounds to nearest. */
    public static PackedMatrix codebook(RowSource src, QuantType type, GroupSpec spec, GroupCoder coder, Arena arena) {
        if (!(type.codec() instanceof Codec.Codebook levels)) {
            throw new IllegalArgumentException(type.label() + " is not a codebook type");
        }
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g, bits = type.codeBits();
        Map<String, MemorySegment> sections = allocate(arena, type.sections(rows, cols, spec));
        MemorySegment codes = sections.get(Section.CODES), scales = sections.get(Section.SCALES);
        float tensorScale = spec.perTensor() ? GroupQuantizer.toF16Up(absmax(src)) : 0f;
        long rowBytes = (long) cols * bits / 8;
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[cols];
            byte[] packed = new byte[(int) rowBytes];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    GroupQuantizer.Result q = spec.perTensor()
                            ? GroupQuantizer.codebook(w, gi * g, g, levels, tensorScale, null, 0, u, gi * g)
                            : coder.code(r, gi, w, gi * g, g, bits, u, gi * g);
                    if (!spec.perTensor()) {
                        scales.set(F16, 2L * ((long) r * groups + gi), Float.floatToFloat16(q.scale()));
                    }
                }
                Packing.pack(bits, u, 0, cols, packed, 0);
                MemorySegment.copy(packed, 0, codes, ValueLayout.JAVA_BYTE, r * rowBytes, packed.length);
            }
        });
        if (spec.perTensor()) {
            scales.set(F16, 0, Float.floatToFloat16(tensorScale));
        }
        return type.open(rows, cols, spec, sections);
    }

    /** Per-tensor scale and zero with the same rules as a group (closed form, over every weight). */
    private static GroupQuantizer.Result tensorRange(RowSource src, int bits, boolean asymmetric) {
        float lo = 0f, hi = 0f, m = 0f;
        float[] w = new float[src.cols()];
        for (int r = 0; r < src.rows(); r++) {
            src.row(r, w);
            for (float v : w) {
                if (!Float.isFinite(v)) {
                    throw new EngineException("cannot quantize a non-finite weight (" + v + ") in row " + r);
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                if (Math.abs(v) > Math.abs(m)) {
                    m = v;
                }
            }
        }
        // Reuse the group rule on a two-element "group" holding the extremes.
        float[] ext = asymmetric ? new float[] {lo, hi} : new float[] {m, 0f};
        return GroupQuantizer.quantize(ext, 0, 2, bits, asymmetric, ScaleRule.MINMAX, null, 0, new int[2], 0);
    }

    private static float absmax(RowSource src) {
        float a = 0f;
        float[] w = new float[src.cols()];
        for (int r = 0; r < src.rows(); r++) {
            src.row(r, w);
            try {
                a = Math.max(a, GroupQuantizer.absmax(w, 0, w.length));
            } catch (EngineException e) {
                throw new EngineException(e.getMessage() + " in row " + r);
            }
        }
        return a;
    }

    static Map<String, MemorySegment> allocate(Arena arena, List<Section> sizes) {
        Map<String, MemorySegment> out = new java.util.LinkedHashMap<>();
        for (Section s : sizes) {
            out.put(s.name(), arena.allocate(s.bytes(), 64));
        }
        return out;
    }
}
