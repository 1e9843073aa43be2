package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.FP4Matrix;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.IntGroupMatrix;
import io.nashswarm.tensor.NF4Matrix;
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
        if (type != QuantType.INT8 && type != QuantType.INT4 && type != QuantType.INT2) {
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
        return IntGroupMatrix.fromSections(type, rows, cols, spec, sections);
    }

    /** NF4 with an absmax scale per group (or per tensor), sections in an automatic arena. */
    public static NF4Matrix nf4(RowSource src, GroupSpec spec) {
        return nf4(src, spec, Arena.ofAuto());
    }

    public static NF4Matrix nf4(RowSource src, GroupSpec spec, Arena arena) {
        return nf4(src, spec, (r, gi, w, off, n, bits, u, uOff) -> GroupQuantizer.nf4(w, off, n, null, 0, u, uOff), arena);
    }

    /** NF4 whose codes {@code coder} chooses; a per-tensor spec always rounds to nearest. */
    public static NF4Matrix nf4(RowSource src, GroupSpec spec, GroupCoder coder, Arena arena) {
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g;
        Map<String, MemorySegment> sections = allocate(arena, QuantType.NF4.sections(rows, cols, spec));
        MemorySegment codes = sections.get(Section.CODES), scales = sections.get(Section.SCALES);
        float tensorScale = spec.perTensor() ? GroupQuantizer.toF16Up(absmax(src)) : 0f;
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[cols];
            byte[] packed = new byte[cols / 2];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    GroupQuantizer.Result q = spec.perTensor()
                            ? GroupQuantizer.nf4WithScale(w, gi * g, g, tensorScale, null, 0, u, gi * g)
                            : coder.code(r, gi, w, gi * g, g, 4, u, gi * g);
                    if (!spec.perTensor()) {
                        scales.set(F16, 2L * ((long) r * groups + gi), Float.floatToFloat16(q.scale()));
                    }
                }
                Packing.pack(4, u, 0, cols, packed, 0);
                MemorySegment.copy(packed, 0, codes, ValueLayout.JAVA_BYTE, (long) r * packed.length, packed.length);
            }
        });
        if (spec.perTensor()) {
            scales.set(F16, 0, Float.floatToFloat16(tensorScale));
        }
        return NF4Matrix.fromSections(rows, cols, spec, sections);
    }

    /** bitsandbytes FP4 with an absmax scale per group (per-tensor specs are refused). */
    public static FP4Matrix fp4(RowSource src, GroupSpec spec, Arena arena) {
        return fp4(src, spec, (r, gi, w, off, n, bits, u, uOff) -> GroupQuantizer.fp4(w, off, n, null, 0, u, uOff), arena);
    }

    /** FP4 whose codes {@code coder} chooses. */
    public static FP4Matrix fp4(RowSource src, GroupSpec spec, GroupCoder coder, Arena arena) {
        if (spec.perTensor()) {
            throw new EngineException("fp4 takes a scale per group, not per tensor");
        }
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g;
        Map<String, MemorySegment> sections = allocate(arena, QuantType.FP4.sections(rows, cols, spec));
        MemorySegment codes = sections.get(Section.CODES), scales = sections.get(Section.SCALES);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[cols];
            byte[] packed = new byte[cols / 2];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    scales.set(F16, 2L * ((long) r * groups + gi), Float.floatToFloat16(coder.code(r, gi, w, gi * g, g, 4, u, gi * g).scale()));
                }
                Packing.pack(4, u, 0, cols, packed, 0);
                MemorySegment.copy(packed, 0, codes, ValueLayout.JAVA_BYTE, (long) r * packed.length, packed.length);
            }
        });
        return FP4Matrix.fromSections(rows, cols, spec, sections);
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
            for (float v : w) {
                a = Math.max(a, Math.abs(v));
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
