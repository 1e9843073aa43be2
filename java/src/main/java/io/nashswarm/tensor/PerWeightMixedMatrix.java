package io.nashswarm.tensor;

import io.nashswarm.EngineException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Mixed precision by WEIGHT ({@link QuantType#PERWEIGHT}): every weight has its own code width from
 * {2, 4, 8}, as the Nash-Swarm seeds described it. It exists to show, with every byte counted, why
 * per-weight mixing does not pay: the width map alone costs 2 bits per weight, so a 10/20/70 split
 * (3.0 bits of codes) lands near 5.75 bits/weight at g64 instead of 3.
 *
 * <p>{@code w = s_{g,b}·(u − 2^(b−1))}: symmetric codes; each group has one fp16 scale per width,
 * covering only the weights of that width (so the small 2-bit weights are not coded on the 8-bit
 * weights' range).
 *
 * <h2>Sections (see {@link QuantType#sections}; there the counts are weights per width)</h2>
 * <ul>
 *   <li>{@code map}: the width of weight {@code i = row·cols + col}, 2 bits at bit {@code 2i} (LSB
 *       first): 0 = 2-bit, 1 = 4-bit, 2 = 8-bit (3 is invalid).</li>
 *   <li>{@code codes}: three regions, each a stream over all weights of one width in row-major order:
 *       first the 8-bit codes (one unsigned byte each), then the 4-bit codes (two per byte, low nibble
 *       first), then the 2-bit codes (four per byte, LSB first). Each region starts on a byte.</li>
 *   <li>{@code scales}: fp16, three per group in row-major (row, group) order: the 2-bit, 4-bit and
 *       8-bit weights' scale (0 for a width the group does not use).</li>
 * </ul>
 * Where each row starts in each region follows from the map; it is recomputed on load (24 bytes of
 * heap per row), not stored.
 *
 * <h2>Kernel</h2>
 * A product decodes one row at a time into a row-sized scratch buffer and dots it with the input(s);
 * the matrix is never expanded as a whole. Decoding is branchy scalar work per weight: that, too, is
 * part of the price of per-weight widths.
 */
public final class PerWeightMixedMatrix extends PackedMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int[] WIDTH = {2, 4, 8};

    private final MemorySegment map, codes, scales;
    private final MixCounts counts;
    /** Weights of each width in the rows before r (8, 4, 2 bits). */
    private final long[] pre8, pre4, pre2;
    /** Byte offsets of the 4-bit and 2-bit regions in codes. */
    private final long region4, region2;

    private PerWeightMixedMatrix(int rows, int cols, GroupSpec spec, MixCounts counts, Map<String, MemorySegment> sections,
                                 long[] pre8, long[] pre4, long[] pre2) {
        super(QuantType.PERWEIGHT, rows, cols, spec, counts, sections);
        this.counts = counts;
        this.map = sections().get(Section.MAP);
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.pre8 = pre8;
        this.pre4 = pre4;
        this.pre2 = pre2;
        this.region4 = counts.groups8();
        this.region2 = region4 + QuantType.ceilDiv(counts.groups4(), 2);
    }

    /**
     * Wraps existing sections without copying. Reads the map once to validate it and to find where each
     * row starts in each code region; every section size is checked before codes are touched.
     *
     * @throws EngineException on an invalid width code, a wrong section size or an unsupported spec
     */
    public static PerWeightMixedMatrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.PERWEIGHT, rows, cols);
        spec.check(QuantType.PERWEIGHT, cols);
        MemorySegment map = sections.get(Section.MAP);
        long mapBytes = QuantType.ceilDiv((long) rows * cols * 2, 8);
        if (map == null || map.byteSize() != mapBytes) {
            throw new EngineException("perweight " + rows + "x" + cols + " " + spec + ": section 'map' "
                    + (map == null ? "is missing" : "has " + map.byteSize() + " bytes, expected " + mapBytes));
        }
        long[] pre8 = new long[rows + 1], pre4 = new long[rows + 1], pre2 = new long[rows + 1];
        for (int r = 0; r < rows; r++) {
            long[] n = new long[4];
            for (int c = 0; c < cols; c++) {
                n[widthCode(map, (long) r * cols + c)]++;
            }
            if (n[3] != 0) {
                throw new EngineException("perweight matrix map: invalid width code 3 in row " + r + " (0=2-bit, 1=4-bit, 2=8-bit)");
            }
            pre2[r + 1] = pre2[r] + n[0];
            pre4[r + 1] = pre4[r] + n[1];
            pre8[r + 1] = pre8[r] + n[2];
        }
        MixCounts counts = new MixCounts(pre2[rows], pre4[rows], pre8[rows], 0);
        return new PerWeightMixedMatrix(rows, cols, spec, counts, sections, pre8, pre4, pre2);
    }

    private static int widthCode(MemorySegment map, long i) {
        return (map.get(ValueLayout.JAVA_BYTE, i >>> 2) >>> (2 * (int) (i & 3))) & 3;
    }

    /** Weights per width (groups2/4/8 of the record count weights here). */
    @Override
    public MixCounts counts() {
        return counts;
    }

    /** Width (2, 4 or 8) of weight (r, c). */
    public int width(int r, int c) {
        return WIDTH[widthCode(map, (long) r * cols + c)];
    }

    /** Scale of the {@code bits}-bit weights of group {@code gi} of row {@code r} (0 if it has none). */
    public float scale(int r, int gi, int bits) {
        int k = bits == 2 ? 0 : bits == 4 ? 1 : 2;
        return PackedKernels.f16(scales, 2 * (3 * ((long) r * groupsPerRow + gi) + k));
    }

    @Override
    boolean needsGroupSums() {
        return false;
    }

    @Override
    Object scratch() {
        return new float[cols];
    }

    @Override
    boolean decodesOncePerTile() {
        return true;
    }

    @Override
    Input prepare(float[] x, int off) {
        return new Input(x, off, null, null, null);
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        float[] w = (float[]) scratch;
        dequantizeRow(r, w, 0);
        return dot(w, in.x(), in.off());
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        float[] w = (float[]) scratch;
        dequantizeRow(r, w, 0);
        for (int t = 0; t < 4; t++) {
            out[t] = dot(w, x, xb[t]);
        }
    }

    private float dot(float[] w, float[] x, int xBase) {
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        for (int end = F.loopBound(cols); c < end; c += F.length()) {
            acc = FloatVector.fromArray(F, w, c).fma(FloatVector.fromArray(F, x, xBase + c), acc);
        }
        float y = acc.reduceLanes(VectorOperators.ADD);
        for (; c < cols; c++) {
            y += w[c] * x[xBase + c];
        }
        return y;
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        long i8 = pre8[r], i4 = pre4[r], i2 = pre2[r];
        long mapIndex = (long) r * cols;
        for (int gi = 0; gi < groupsPerRow; gi++) {
            float s2 = scale(r, gi, 2), s4 = scale(r, gi, 4), s8 = scale(r, gi, 8);
            for (int c = gi * g, end = c + g; c < end; c++) {
                float v;
                switch (widthCode(map, mapIndex + c)) {
                    case 2 -> v = s8 * ((codes.get(ValueLayout.JAVA_BYTE, i8++) & 0xFF) - 128);
                    case 1 -> {
                        int b = codes.get(ValueLayout.JAVA_BYTE, region4 + (i4 >>> 1)) & 0xFF;
                        v = s4 * (((b >>> (4 * (int) (i4 & 1))) & 15) - 8);
                        i4++;
                    }
                    default -> {
                        int b = codes.get(ValueLayout.JAVA_BYTE, region2 + (i2 >>> 2)) & 0xFF;
                        v = s2 * (((b >>> (2 * (int) (i2 & 3))) & 3) - 2);
                        i2++;
                    }
                }
                out[off + c] = v;
            }
        }
    }
}
