package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static io.nashswarm.tensor.PackedKernels.LE;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_S2I;

/**
 * Products of signed byte codes ({@link ByteRows}) with an input quantized to 12-bit integers per block of 32 values,
 * each split into two halves ({@link SplitInput}: {@code v = 63·hi + lo}): per column, one load of a block's codes
 * widened to 16-bit lanes and one 16-bit multiply by each half (broadcast). The 16-bit products are summed eight
 * (8-bit codes) to a lane, then split into the low and high halves of 32-bit lanes
 * by shifts (the two halves of the block's rows) and added in 32 bits. Per block of 32 columns the integer sums
 * {@code 63·Σc·hi + Σc·lo} are converted to float once and scaled by the rows' scales times the input block's step.
 *
 * <h2>Accuracy</h2>
 * Integer sums are exact; the input is rounded to {@code d/2} per value, {@code d = max|x|/1984} of its block of 32,
 * so a row's product differs from the exact one by at most {@code Σ_c |ŵ_c|·d(c)/2}, plus float rounding of the
 * per-block terms. Q4_K takes its input as 8-bit integers ({@link SplitInput#ofBytes}, {@code d = max|x|/127}, one
 * multiply per column, as llama.cpp's K-quant kernels do): the step of its 4-bit codes, relative to their range, is 8.5
 * times that input's (1/15 against 1/127). Q6_K takes 9-bit integers ({@link SplitInput#ofNineBits}, {@code d =
 * max|x|/255}, one multiply per column): with 8-bit ones its logits on llama.cpp's own Q6_K file moved 3.3e-2 of the
 * largest logit from llama.cpp's (1.8e-2 with the 12-bit split input).
 *
 * <h2>The JIT</h2>
 * As in {@link LutKernels}: one method per row block and input, taking and returning no vector, no helper of our own
 * inside the loop. The short inner loops over a group's steps are written out: as loops of 4 or 8 trips, C2 split them
 * into pre, main and post loops with their own bounds arithmetic (seen with {@code -XX:CompileCommand=print}), and
 * Q4_0 ran 1.28x slower in cache (bench/results/byte-rows-stream-2026-12-03.md).
 */
final class ByteRowKernels {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED;
    private static final VectorShape HALF_SHAPE = VectorShape.forBitSize(S.vectorBitSize() / 2);
    /** A block's codes for one column, widened to {@link #S}. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, HALF_SHAPE);
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Half a block's fp16 scales (widened to {@link #I}), zeros and sub-scales. */
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, HALF_SHAPE);
    private static final VectorSpecies<Byte> Z = VectorSpecies.of(byte.class, VectorShape.forBitSize(S.vectorBitSize() / 4));
    private static final int ROWS = ByteRows.ROWS, HALF = ROWS / 2, QUAD = ByteRows.QUAD_ROWS;

    private ByteRowKernels() {}

    /** {@code y[b·w.rows + r] = row r · input b} for rows r0..r1 and inputs b < n; each row block's codes are read from memory once. */
    static void products(ByteRows w, float[] x, int n, float[] y, int r0, int r1) {
        if (n >= panelBatch(w.kind, w.group)) {
            PanelProducts.Source panels = switch (w.kind) {
                case GROUPS -> (r, c0, c1, panel) -> groupPanel(w, r, c0, c1, panel);
                case NIBBLE_GROUPS -> (r, c0, c1, panel) -> nibblePanel(w, r, c0, c1, panel);
                case NIBBLE_SUPER_BLOCKS -> (r, c0, c1, panel) -> nibbleSuperPanel(w, r, c0, c1, panel);
                case SIX_BIT_SUPER_BLOCKS -> (r, c0, c1, panel) -> sixFieldPanel(w, r, c0, c1, panel);
                case FIVE_BIT_SUPER_BLOCKS -> (r, c0, c1, panel) -> fiveFieldPanel(w, r, c0, c1, panel);
                case THREE_BIT_SUPER_BLOCKS, TWO_BIT_SUPER_BLOCKS -> throw new AssertionError(w.kind + " has no panels");
            };
            PanelProducts.products(panels, w.rows, w.cols, x, n, y, r0, r1);
            return;
        }
        ThreadInputs mine = ThreadInputs.mine();
        SplitInput[] in = n == 1 ? mine.oneSplit : new SplitInput[n];
        ThreadInputs.Maker<SplitInput> make = switch (w.kind) {
            case GROUPS -> (v, o, c, r) -> SplitInput.of(v, o, c, false, r);
            case SIX_BIT_SUPER_BLOCKS -> SplitInput::ofNineBits;
            case FIVE_BIT_SUPER_BLOCKS -> SplitInput::ofFiveBitTerms;
            case THREE_BIT_SUPER_BLOCKS -> SplitInput::ofThreeBitTerms;
            case TWO_BIT_SUPER_BLOCKS -> SplitInput::ofTwoBitTerms;
            case NIBBLE_SUPER_BLOCKS -> SplitInput::ofBytes;
            case NIBBLE_GROUPS -> w.group == 32 ? SplitInput::ofBytes : SplitInput::ofElevenBits;
        };
        for (int b = 0; b < n; b++) { // at batch 1 (decode) into the thread's last input of this kind and width (ThreadInputs)
            in[b] = ThreadInputs.input((long) w.kind.ordinal() << 32 | w.group, x, b * w.cols, w.cols, n, make);
        }
        float[] acc = mine.acc(ROWS);
        int br = w.blockRows;
        for (int rb = r0 / br; rb * br < r1; rb++) {
            for (int b = 0; b < n; b++) {
                SplitInput a = in[b];
                long at = rb * w.blockBytes;
                switch (w.kind) {
                    case GROUPS -> groups(w.data, at, w.cols, w.group, w.run, w.withZeros, a.hi, a.lo, a.d, a.sum, acc);
                    case SIX_BIT_SUPER_BLOCKS -> superBlocks(w.data, at, w.cols, a.sixTerms, acc);
                    case FIVE_BIT_SUPER_BLOCKS -> fiveBits(w.data, at, w.cols, a.fiveTerms, a.d, a.sum, acc);
                    case THREE_BIT_SUPER_BLOCKS -> threeBits(w.data, at, w.cols, a.threeTerms, a.d, acc);
                    case TWO_BIT_SUPER_BLOCKS -> twoBits(w.data, at, w.cols, a.twoTerms, a.d, acc);
                    case NIBBLE_SUPER_BLOCKS -> nibbles(w.data, at, w.cols, a.quadTerms, acc);
                    case NIBBLE_GROUPS -> {
                        if (w.group == 32) {
                            nibbleGroups(w.data, at, w.cols, a.quadTerms, acc);
                        } else {
                            nibblePairs(w.data, at, w.cols, w.group, w.withZeros, a.quadTerms, acc);
                        }
                    }
                }
                for (int i = Math.max(0, r0 - rb * br); i < br && rb * br + i < r1; i++) {
                    y[b * w.rows + rb * br + i] = acc[i];
                }
            }
        }
    }

    /**
     * The smallest batch of int4 g64k products that takes {@link PanelProducts}' float panels: the panel's decoding is paid
     * once per batch, so small batches stay on the 16-bit kernels (int4 1024x2048 on one thread, GMAC/s, 16-bit against
     * panels: n = 8 62 against 38, 16 65 against 57, 64 62 against 80; bench/results/panel-products-2026-12-05.md).
     */
    static final int PANEL_BATCH = 32;

    /**
     * The smallest batch of this layout that takes the panels: {@link #PANEL_BATCH}, or 8 for bytes (int8, Q8_0) and Q4_0,
     * whose 16-bit batch kernels are slower (1024x2048, one thread, n = 8: Q8_0 24 against 38 GMAC/s, Q4_0 37 against 52);
     * never for Q3_K and Q2_K, which have no panel decoder.
     */
    static int panelBatch(ByteRows.Kind kind, int group) {
        return switch (kind) {
            case GROUPS -> 8;
            case NIBBLE_GROUPS -> group == 32 ? 8 : PANEL_BATCH;
            case NIBBLE_SUPER_BLOCKS, SIX_BIT_SUPER_BLOCKS, FIVE_BIT_SUPER_BLOCKS -> PANEL_BATCH;
            case THREE_BIT_SUPER_BLOCKS, TWO_BIT_SUPER_BLOCKS -> Integer.MAX_VALUE;
        };
    }

    /** Zeros for the panel half at {@code lane} (rows past the matrix's last block) in its {@code cols} columns. */
    private static void clearHalf(float[] panel, int cols, int lane) {
        for (int c = 0; c < cols; c++) {
            java.util.Arrays.fill(panel, c * PanelProducts.ROWS + lane, c * PanelProducts.ROWS + lane + QUAD, 0f);
        }
    }

    /**
     * {@link PanelProducts}' panel from nibble groups (Q4_0, int4 g64k): rows [r, r + PanelProducts.ROWS), two blocks of
     * {@link #QUAD} rows (a block past the matrix's last gives zeros), × columns [c0, c1), as floats {@code s·(q − 8 − z)}
     * ({@code z} the stored zero, or 0). Per four columns one load of the block's two bytes per row, then per column a
     * shift, a mask, a conversion, the zero's subtraction and the scale's multiply.
     */
    static void nibblePanel(ByteRows w, int r, int c0, int c1, float[] panel) {
        int pr = PanelProducts.ROWS, group = w.group;
        long gb = ByteRows.nibbleGroupBytes(group, w.withZeros);
        for (int half = 0; half < 2; half++) {
            int rb = r / QUAD + half, lane = half * QUAD;
            if (rb >= w.blocks) {
                clearHalf(panel, c1 - c0, lane);
                continue;
            }
            long blk = rb * w.blockBytes;
            FloatVector s = FloatVector.zero(F), z = s;
            for (int c = c0, gi = -1; c < c1; c += 4) {
                if (c / group != gi) { // the group's scales and zeros 8 + z
                    gi = c / group;
                    long sg = blk + gi * gb + (long) group / 2 * QUAD;
                    s = Vectors.f16(w.data, sg);
                    z = FloatVector.broadcast(F, 8f);
                    if (w.withZeros) {
                        z = z.add((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, sg + 2 * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0));
                    }
                }
                IntVector v = (IntVector) ShortVector.fromMemorySegment(H, w.data, blk + gi * gb + (long) (c % group) * (QUAD / 2), LE)
                        .convertShape(ZERO_EXTEND_S2I, I, 0);
                int at = (c - c0) * pr + lane;
                // q − (8 + z) is an exact small integer, so each weight is rounded once, in the multiply
                ((FloatVector) v.and(0xF).convert(I2F, 0)).sub(z).mul(s).intoArray(panel, at);
                ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).sub(z).mul(s).intoArray(panel, at + pr);
                ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).sub(z).mul(s).intoArray(panel, at + 2 * pr);
                ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).sub(z).mul(s).intoArray(panel, at + 3 * pr);
            }
        }
    }

    /**
     * {@link PanelProducts}' panel from Q4_K's nibble super-blocks ({@link #nibbles}' layout): as {@link #nibblePanel}, each
     * weight {@code fma(q, d·scale, −dmin·min)} per sub-block of 32, as Q4_K's dequantization computes it.
     */
    static void nibbleSuperPanel(ByteRows w, int r, int c0, int c1, float[] panel) {
        int pr = PanelProducts.ROWS;
        for (int half = 0; half < 2; half++) {
            int rb = r / QUAD + half, lane = half * QUAD;
            if (rb >= w.blocks) {
                clearHalf(panel, c1 - c0, lane);
                continue;
            }
            long blk = rb * w.blockBytes, at = 0;
            FloatVector s = FloatVector.zero(F), mn = s;
            for (int c = c0; c < c1; c += 4) {
                if (c % 32 == 0 || c == c0) { // the sub-block's d·scale and −dmin·min
                    long sb = blk + (long) (c / ByteRows.SUPER) * ByteRows.SUPER_BYTES;
                    at = sb + 8 * QUAD + (long) (c % ByteRows.SUPER / 32) * ByteRows.SUB_BYTES;
                    s = FloatVector.fromMemorySegment(F, w.data, sb, LE)
                            .mul((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, at + 16 * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0));
                    mn = FloatVector.fromMemorySegment(F, w.data, sb + 4 * QUAD, LE)
                            .mul((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, at + 17 * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0)).neg();
                }
                IntVector v = (IntVector) ShortVector.fromMemorySegment(H, w.data, at + (long) (c % 32 / 4) * ROWS, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                int o = (c - c0) * pr + lane;
                ((FloatVector) v.and(0xF).convert(I2F, 0)).fma(s, mn).intoArray(panel, o);
                ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).fma(s, mn).intoArray(panel, o + pr);
                ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).fma(s, mn).intoArray(panel, o + 2 * pr);
                ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).fma(s, mn).intoArray(panel, o + 3 * pr);
            }
        }
    }

    /**
     * {@link PanelProducts}' panel from Q6_K's code fields ({@link ByteRows#SIX_SUB_BYTES}, {@link ByteRows#sixCode}): per
     * sub-block of 16 columns the block's three words per row, each code taken out by shifts and masks (four of them a
     * nibble and two high bits), written out (through a helper taking the vectors, C2 boxed them: 3–50 GMAC/s), then as
     * Q6_K's dequantization rounds it, {@code (u − 32)·(d·sub)}.
     */
    static void sixFieldPanel(ByteRows w, int r, int c0, int c1, float[] panel) {
        int pr = PanelProducts.ROWS;
        for (int half = 0; half < 2; half++) {
            int rb = r / QUAD + half, lane = half * QUAD;
            if (rb >= w.blocks) {
                clearHalf(panel, c1 - c0, lane);
                continue;
            }
            for (int c = c0; c < c1; c += ByteRows.SUB) {
                long sb = rb * w.blockBytes + (long) (c / ByteRows.SUPER) * ByteRows.SIX_SUPER_BYTES;
                // d·sub per 16 columns
                FloatVector s = FloatVector.fromMemorySegment(F, w.data, sb, LE).mul((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data,
                        sb + (4 + c % ByteRows.SUPER / 16) * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0));
                long at = w.sixAt(rb, c);
                IntVector w0 = IntVector.fromMemorySegment(I, w.data, at, LE), w1 = IntVector.fromMemorySegment(I, w.data, at + 4 * QUAD, LE),
                        w2 = IntVector.fromMemorySegment(I, w.data, at + 8 * QUAD, LE);
                int o = (c - c0) * pr + lane;
                FloatVector q;
                // codes 0..15 of the sub-block (ByteRows.sixFields): words 0 and 1 hold u0 u1 n6 | u2 u3 n7 and u8 u9 n14 |
                // u10 u11 n15, word 2 u4 u5 h6 h14 | u12 u13 h7 h15
                q = (FloatVector) w0.and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o);
                q = (FloatVector) w0.lanewise(LSHR, 6).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + pr);
                q = (FloatVector) w0.lanewise(LSHR, 16).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 2 * pr);
                q = (FloatVector) w0.lanewise(LSHR, 22).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 3 * pr);
                q = (FloatVector) w2.and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 4 * pr);
                q = (FloatVector) w2.lanewise(LSHR, 6).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 5 * pr);
                q = (FloatVector) w0.lanewise(LSHR, 12).and(15).or(w2.lanewise(LSHR, 12).and(3).lanewise(LSHL, 4)).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 6 * pr);
                q = (FloatVector) w0.lanewise(LSHR, 28).and(15).or(w2.lanewise(LSHR, 28).and(3).lanewise(LSHL, 4)).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 7 * pr);
                q = (FloatVector) w1.and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 8 * pr);
                q = (FloatVector) w1.lanewise(LSHR, 6).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 9 * pr);
                q = (FloatVector) w1.lanewise(LSHR, 16).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 10 * pr);
                q = (FloatVector) w1.lanewise(LSHR, 22).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 11 * pr);
                q = (FloatVector) w2.lanewise(LSHR, 16).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 12 * pr);
                q = (FloatVector) w2.lanewise(LSHR, 22).and(63).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 13 * pr);
                q = (FloatVector) w1.lanewise(LSHR, 12).and(15).or(w2.lanewise(LSHR, 14).and(3).lanewise(LSHL, 4)).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 14 * pr);
                q = (FloatVector) w1.lanewise(LSHR, 28).and(15).or(w2.lanewise(LSHR, 30).and(3).lanewise(LSHL, 4)).convert(I2F, 0);
                q.sub(32f).mul(s).intoArray(panel, o + 15 * pr);
            }
        }
    }

    /**
     * {@link PanelProducts}' panel from Q5_K's code fields ({@link ByteRows#FIVE_STEP_BYTES}, {@link ByteRows#fiveCode}): per
     * sub-block of 32 columns the block's five words per row, each code taken out by a shift and a mask (the sixteenth of
     * each half gathered from the words' top bits), then as Q5_K's dequantization rounds it, {@code fma(u, d·scale,
     * −dmin·min)}.
     */
    static void fiveFieldPanel(ByteRows w, int r, int c0, int c1, float[] panel) {
        int pr = PanelProducts.ROWS;
        for (int half = 0; half < 2; half++) {
            int rb = r / QUAD + half, lane = half * QUAD;
            if (rb >= w.blocks) {
                clearHalf(panel, c1 - c0, lane);
                continue;
            }
            for (int c = c0; c < c1; c += 32) {
                long sb = rb * w.blockBytes + (long) (c / ByteRows.SUPER) * ByteRows.FIVE_SUPER_BYTES;
                int k = c % ByteRows.SUPER / 32;
                // d·scale and −dmin·min per 32
                FloatVector s = FloatVector.fromMemorySegment(F, w.data, sb, LE)
                        .mul((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, sb + (8 + k) * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0));
                FloatVector mn = FloatVector.fromMemorySegment(F, w.data, sb + 4 * QUAD, LE)
                        .mul((FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, sb + (16 + k) * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0)).neg();
                long at = w.fiveAt(rb, c);
                int o = (c - c0) * pr + lane;
                IntVector low15 = IntVector.zero(I), high15 = low15;
                for (int f = 0; f < 5; f++) { // word f: codes 3f .. 3f + 2 of each half at bits 0, 5, 10 (16 higher), bit f of code 15 at bit 15
                    IntVector v = IntVector.fromMemorySegment(I, w.data, at + 4L * f * QUAD, LE);
                    for (int j = 0; j < 3; j++) {
                        int col = 3 * f + j;
                        ((FloatVector) v.lanewise(LSHR, 5 * j).and(31).convert(I2F, 0)).fma(s, mn).intoArray(panel, o + col * pr);
                        ((FloatVector) v.lanewise(LSHR, 16 + 5 * j).and(31).convert(I2F, 0)).fma(s, mn).intoArray(panel, o + (16 + col) * pr);
                    }
                    low15 = low15.or(v.lanewise(LSHR, 15).and(1).lanewise(LSHL, f));
                    high15 = high15.or(v.lanewise(LSHR, 31).lanewise(LSHL, f));
                }
                ((FloatVector) low15.convert(I2F, 0)).fma(s, mn).intoArray(panel, o + 15 * pr);
                ((FloatVector) high15.convert(I2F, 0)).fma(s, mn).intoArray(panel, o + 31 * pr);
            }
        }
    }

    /**
     * {@link PanelProducts}' panel from byte groups (int8 g32k, Q8_0): rows [r, r + PanelProducts.ROWS), one block of
     * {@link #ROWS} rows, × columns [c0, c1), as floats {@code s·(c − z)} ({@code c} and {@code z} the stored signed bytes;
     * z = 0 without zeros). Per column one load of the block's bytes as 16-bit lanes, whose low bytes are the block's first
     * half of rows and high bytes its second ({@link ByteRows#row}), sign-extended by shifts.
     */
    static void groupPanel(ByteRows w, int r, int c0, int c1, float[] panel) {
        int pr = PanelProducts.ROWS, group = w.group, run = w.run;
        long runBytes = ByteRows.runBytes(run, group, w.withZeros), blk = (long) (r / ROWS) * w.blockBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, z0 = s0, z1 = s0;
        for (int c = c0, g = -1; c < c1; c++) {
            long g0 = blk + (long) (c / run) * runBytes;
            int inRun = c % run;
            if (c / group != g) { // the group's scales, rows 0..HALF and HALF..ROWS, and zeros
                g = c / group;
                int j = inRun / group;
                long sg = g0 + (long) run * ROWS + (long) j * 2 * ROWS;
                s0 = Vectors.f16(w.data, sg);
                s1 = Vectors.f16(w.data, sg + 2 * HALF);
                if (w.withZeros) {
                    long zg = g0 + (long) run * ROWS + (long) (run / group) * 2 * ROWS + (long) j * ROWS;
                    z0 = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, zg, LE).convertShape(B2I, I, 0)).convert(I2F, 0);
                    z1 = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, w.data, zg + HALF, LE).convertShape(B2I, I, 0)).convert(I2F, 0);
                }
            }
            IntVector v = (IntVector) ShortVector.fromMemorySegment(H, w.data, g0 + (long) inRun * ROWS, LE).convertShape(VectorOperators.S2I, I, 0);
            int at = (c - c0) * pr;
            // c − z is an exact small integer, so each weight is rounded once, in the multiply
            ((FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convert(I2F, 0)).sub(z0).mul(s0).intoArray(panel, at);
            ((FloatVector) v.lanewise(ASHR, 8).convert(I2F, 0)).sub(z1).mul(s1).intoArray(panel, at + HALF);
        }
    }

    /**
     * Codes in groups of 32k columns with fp16 scales (and zeros), in one stream of runs ({@link ByteRows#runBytes}):
     * acc[0..ROWS) = the block's rows times the input, eight columns per step (written out, see the class comment).
     */
    private static void groups(MemorySegment m, long base, int cols, int group, int run, boolean zeros, short[] hi, short[] lo, float[] d,
                               int[] sum, float[] acc) {
        FloatVector first = FloatVector.zero(F), second = first;
        IntVector eh = IntVector.zero(I), oh = eh, el = eh, ol = eh;
        long rb = ByteRows.runBytes(run, group, zeros), g0 = base; // the current run's offset
        int k = run / group;
        for (int c = 0, inRun = 0; c < cols; c += 8) {
            long at = g0 + (long) inRun * ROWS;
            ShortVector ck, ph, pl;
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at, LE).convertShape(B2S, S, 0);
            ph = ck.mul(hi[c]);
            pl = ck.mul(lo[c]);
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 1L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 1]));
            pl = pl.add(ck.mul(lo[c + 1]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 2L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 2]));
            pl = pl.add(ck.mul(lo[c + 2]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 3L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 3]));
            pl = pl.add(ck.mul(lo[c + 3]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 4L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 4]));
            pl = pl.add(ck.mul(lo[c + 4]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 5L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 5]));
            pl = pl.add(ck.mul(lo[c + 5]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 6L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 6]));
            pl = pl.add(ck.mul(lo[c + 6]));
            ck = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 7L * ROWS, LE).convertShape(B2S, S, 0);
            ph = ph.add(ck.mul(hi[c + 7]));
            pl = pl.add(ck.mul(lo[c + 7]));
            IntVector p = ph.reinterpretAsInts(), l = pl.reinterpretAsInts();
            eh = eh.add(p.lanewise(LSHL, 16).lanewise(ASHR, 16));
            oh = oh.add(p.lanewise(ASHR, 16));
            el = el.add(l.lanewise(LSHL, 16).lanewise(ASHR, 16));
            ol = ol.add(l.lanewise(ASHR, 16));
            if ((c & 31) == 24) { // the end of a block of 32: scale its sums
                int blk = c >> 5;
                IntVector e = eh.lanewise(LSHL, 6).sub(eh).add(el), o = oh.lanewise(LSHL, 6).sub(oh).add(ol); // 63·hi + lo
                int j = (inRun - 24) / group; // this block's group within the run
                long sg = g0 + (long) run * ROWS + (long) j * 2 * ROWS;
                if (zeros) { // Σ (c − z)·v = Σ c·v − z·Σ v
                    long zg = g0 + (long) run * ROWS + (long) k * 2 * ROWS + (long) j * ROWS;
                    e = e.sub(((IntVector) ByteVector.fromMemorySegment(Z, m, zg, LE).convertShape(B2I, I, 0)).mul(sum[blk]));
                    o = o.sub(((IntVector) ByteVector.fromMemorySegment(Z, m, zg + HALF, LE).convertShape(B2I, I, 0)).mul(sum[blk]));
                }
                // fp16 → float, written out for both halves (a helper, compiled on its own first, was not inlined and boxed):
                // magnitude bits << 13 read as a float, times 2^112 (exact, subnormals too); exponent 31 (inf, NaN) gets 255
                IntVector h = (IntVector) ShortVector.fromMemorySegment(H, m, sg, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                IntVector mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                FloatVector s0 = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
                h = (IntVector) ShortVector.fromMemorySegment(H, m, sg + 2 * HALF, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                FloatVector s1 = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
                FloatVector step = FloatVector.broadcast(F, d[blk]);
                first = ((FloatVector) e.convert(I2F, 0)).fma(s0.mul(step), first);
                second = ((FloatVector) o.convert(I2F, 0)).fma(s1.mul(step), second);
                eh = IntVector.zero(I);
                oh = eh;
                el = eh;
                ol = eh;
            }
            inRun += 8;
            if (inRun == run) {
                inRun = 0;
                g0 += rb;
            }
        }
        first.intoArray(acc, 0);
        second.intoArray(acc, HALF);
    }

    /**
     * Q6_K's super-blocks ({@link ByteRows#SIX_SUB_BYTES}: per row and sub-block of 16 columns three words of two 16-bit
     * fields holding whole codes {@code u = code + 32}, low nibbles and high bits; int8 sub-scales per 16 columns, float
     * scales per 256) with the input as 9-bit integers ({@link SplitInput#ofNineBits}): acc[0..QUAD_ROWS) = the block's
     * rows times the input, one sub-block per step. Each word is loaded whole (no widening) and multiplied by a broadcast
     * pair of terms ({@link SplitInput#sixTerms}) once as it is and once per further field shifted down to it (16-bit
     * logical shifts, which leave the fields above in place: the terms take them out again), from a bias that makes the
     * two fields end at their share of {@code Σ (u − 32)·v}, within 16 bits however they wrapped on the way. The low
     * fields, biased by 2^15, end non-negative, so the 32-bit words are summed whole beside their arithmetic high halves
     * (as in nibblePairs). Against one 16-bit lane per row with a code assembled from a nibble and high bits per column
     * (the layout before), this needs no widening loads and half the bit operations per weight; a sub-block's integer
     * sum (at most 16·32·255) times its sub-scale (at most 128) stays below 2^31.
     */
    private static void superBlocks(MemorySegment m, long base, int cols, int[] t, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        // running offsets: the super-block, the sub-block's words, its sub-scales (computed from c they took a multiply and
        // shifts per step: 124 against 103 instructions per 256 weights, 1.04-1.12x the time in cache, before the step
        // moved into t; Q5_K's loop ran slower with running offsets and keeps computing them)
        long sb = base, at = sb + 20 * QUAD, sc = sb + 4 * QUAD;
        for (int c = 0, x = 0; c < cols; c += 16, x += SplitInput.SIX_TERMS) {
            // the three words written out (as a loop, C2 split its trips into pre, main and post loops)
            ShortVector z;
            IntVector p, ps, hs;
            z = ShortVector.fromMemorySegment(S, m, at, LE);
            p = IntVector.broadcast(I, t[x]).reinterpretAsShorts()
                    .add(z.mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts())).reinterpretAsInts();
            ps = p;
            hs = p.lanewise(ASHR, 16);
            z = ShortVector.fromMemorySegment(S, m, at + 4L * QUAD, LE);
            p = IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()
                    .add(z.mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            z = ShortVector.fromMemorySegment(S, m, at + 8L * QUAD, LE);
            p = IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()
                    .add(z.mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 14).mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            // the row's sum: its high fields' Σ hs plus its low fields' Σ p − 2^16·Σ hs − 3·2^15 (their bias), mod 2^32
            IntVector e = ps.sub(hs.lanewise(LSHL, 16)).add(hs).sub(3 << 15)
                    .mul((IntVector) ByteVector.fromMemorySegment(Z, m, sc, LE).convertShape(B2I, I, 0));
            total = ((FloatVector) e.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb, LE).mul(IntVector.broadcast(I, t[x + SplitInput.SIX_STEP]).reinterpretAsFloats()), total);
            at += ByteRows.SIX_SUB_BYTES;
            sc += QUAD;
            if (((c + 16) & 255) == 0) { // the next super-block
                sb += ByteRows.SIX_SUPER_BYTES;
                at = sb + 20 * QUAD;
                sc = sb + 4 * QUAD;
            }
        }
        total.intoArray(acc, 0);
    }

    /**
     * Q5_K's super-blocks ({@link ByteRows#FIVE_SUPER_BYTES}: per sub-block of 32 columns five words whose low and high
     * fields hold three codes 0..31 and a bit of a sixteenth of its first and second 16 columns; a scale and a minimum 0..63
     * per 32, float {@code d} and {@code dmin} per 256) with the input as 9-bit integers ({@link SplitInput#ofFiveBitTerms}):
     * acc[0..QUAD_ROWS) = the block's rows times the input, one sub-block per step. As in {@link #superBlocks}, each word
     * times a broadcast pair of terms as it is and shifted down to each further field, from 2^15 in its low half: each field
     * ends at its share of {@code Σ u·v} (within (3·31 + 16)·255 < 2^15), the low one non-negative, so the words are summed
     * whole beside their arithmetic high halves. {@code Σ w·v = d·scale·Σ u·v − dmin·min·Σ v}; the integer sum times the
     * scale stays within 32·31·255·63 < 2^31. Against Q6_K's six fields per 16 (before): 5 bits a code instead of 6, and
     * 20 multiplies per 32 codes instead of 19.
     */
    private static void fiveBits(MemorySegment m, long base, int cols, int[] t, float[] d, int[] sum, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        ShortVector bias = IntVector.broadcast(I, 1 << 15).reinterpretAsShorts();
        for (int c = 0, x = 0; c < cols; c += 32, x += SplitInput.FIVE_TERMS) {
            long sb = base + (long) (c >> 8) * ByteRows.FIVE_SUPER_BYTES, at = sb + 24 * QUAD + (long) ((c >> 5) & 7) * ByteRows.FIVE_STEP_BYTES;
            int k = (c >> 5) & 7, blk = c >> 5;
            // the five words written out (as a loop, C2 split its trips into pre, main and post loops)
            ShortVector z;
            IntVector p, ps, hs;
            z = ShortVector.fromMemorySegment(S, m, at + 0L * QUAD, LE);
            p = bias.add(z.mul(IntVector.broadcast(I, t[x + 0]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 5).mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts())).reinterpretAsInts();
            ps = p;
            hs = p.lanewise(ASHR, 16);
            z = ShortVector.fromMemorySegment(S, m, at + 4L * QUAD, LE);
            p = bias.add(z.mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 5).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            z = ShortVector.fromMemorySegment(S, m, at + 8L * QUAD, LE);
            p = bias.add(z.mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 5).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            z = ShortVector.fromMemorySegment(S, m, at + 12L * QUAD, LE);
            p = bias.add(z.mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 5).mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            z = ShortVector.fromMemorySegment(S, m, at + 16L * QUAD, LE);
            p = bias.add(z.mul(IntVector.broadcast(I, t[x + 16]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 5).mul(IntVector.broadcast(I, t[x + 17]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 18]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 19]).reinterpretAsShorts())).reinterpretAsInts();
            ps = ps.add(p);
            hs = hs.add(p.lanewise(ASHR, 16));
            // Σ u·v: the high fields' Σ hs plus the low fields' Σ p − 2^16·Σ hs − 5·2^15 (their bias), mod 2^32
            IntVector e = ps.sub(hs.lanewise(LSHL, 16)).add(hs).sub(5 << 15)
                    .mul((IntVector) ByteVector.fromMemorySegment(Z, m, sb + (8 + k) * QUAD, LE).convertShape(B2I, I, 0));
            FloatVector mins = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(Z, m, sb + (16 + k) * QUAD, LE).convertShape(B2I, I, 0)).convert(I2F, 0);
            total = ((FloatVector) e.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb, LE).mul(d[blk]), total);
            total = mins.fma(FloatVector.fromMemorySegment(F, m, sb + 4L * QUAD, LE).mul(-d[blk] * sum[blk]), total);
        }
        total.intoArray(acc, 0);
    }

    /**
     * Q3_K's super-blocks ({@link ByteRows#THREE_SUPER_BYTES}: per row and step of 32 columns three words whose low and high
     * fields each hold five codes {@code u = code + 4} and a bit of a sixteenth, the low fields the step's first sub-block
     * of 16, the high fields its second; int8 sub-scales per 16, float scales per 256) with the input as 9-bit integers
     * ({@link SplitInput#ofThreeBitTerms}): acc[0..QUAD_ROWS) = the block's rows times the input, one step of 32 per
     * iteration. As in {@link #superBlocks}, each word times a broadcast pair of terms as it is and shifted down to each
     * further field; the three words sum in 16 bits from the bias {@code −4·Σ v} to {@code Σ (u − 4)·v} per sub-block
     * (within 16·4·255 < 2^15), whose two halves are then the two sub-blocks' sums, each times its sub-scale.
     */
    private static void threeBits(MemorySegment m, long base, int cols, int[] t, float[] d, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        for (int c = 0, x = 0; c < cols; c += 32, x += SplitInput.THREE_TERMS) {
            long sb = base + (long) (c >> 8) * ByteRows.THREE_SUPER_BYTES, at = sb + 20 * QUAD + (long) ((c >> 5) & 7) * ByteRows.THREE_STEP_BYTES;
            int k = (c >> 4) & 15;
            // the three words written out (as a loop, C2 split its trips into pre, main and post loops)
            ShortVector z, p = IntVector.broadcast(I, t[x]).reinterpretAsShorts();
            z = ShortVector.fromMemorySegment(S, m, at + 0L * QUAD, LE);
            p = p.add(z.mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 3).mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 9).mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()));
            z = ShortVector.fromMemorySegment(S, m, at + 4L * QUAD, LE);
            p = p.add(z.mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 3).mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 9).mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()));
            z = ShortVector.fromMemorySegment(S, m, at + 8L * QUAD, LE);
            p = p.add(z.mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 3).mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 9).mul(IntVector.broadcast(I, t[x + 16]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 17]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 15).mul(IntVector.broadcast(I, t[x + 18]).reinterpretAsShorts()));
            IntVector q = p.reinterpretAsInts();
            IntVector e = q.lanewise(LSHL, 16).lanewise(ASHR, 16)
                    .mul((IntVector) ByteVector.fromMemorySegment(Z, m, sb + (4 + k) * QUAD, LE).convertShape(B2I, I, 0))
                    .add(q.lanewise(ASHR, 16).mul((IntVector) ByteVector.fromMemorySegment(Z, m, sb + (5 + k) * QUAD, LE).convertShape(B2I, I, 0)));
            total = ((FloatVector) e.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb, LE).mul(d[c >> 5]), total);
        }
        total.intoArray(acc, 0);
    }

    /**
     * Q2_K's super-blocks ({@link ByteRows#TWO_SUPER_BYTES}: per row and step of 32 columns two words whose low and high
     * fields each hold eight codes 0..3 of the step's first and second sub-block of 16; a byte of 4-bit scale and minimum
     * per sub-block, float {@code d} and {@code dmin} per 256) with the input as 9-bit integers ({@link
     * SplitInput#ofTwoBitTerms}): acc[0..QUAD_ROWS) = the block's rows times the input, one step of 32 per iteration. As
     * in {@link #threeBits}: the two words sum in 16 bits to {@code Σ u·v} per sub-block (within 16·3·255 < 2^15), then
     * {@code Σ w·v = d·Σ scale·Σ u·v − dmin·Σ min·Σ v} over the two sub-blocks.
     */
    private static void twoBits(MemorySegment m, long base, int cols, int[] t, float[] d, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        for (int c = 0, x = 0; c < cols; c += 32, x += SplitInput.TWO_TERMS) {
            long sb = base + (long) (c >> 8) * ByteRows.TWO_SUPER_BYTES, at = sb + 24 * QUAD + (long) ((c >> 5) & 7) * ByteRows.TWO_STEP_BYTES;
            int k = (c >> 4) & 15;
            // the two words written out (as a loop, C2 split its trips into pre, main and post loops)
            ShortVector z, p;
            z = ShortVector.fromMemorySegment(S, m, at + 0L * QUAD, LE);
            p = z.mul(IntVector.broadcast(I, t[x + 0]).reinterpretAsShorts())
                    .add(z.lanewise(LSHR, 2).mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 8).mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 14).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts()));
            z = ShortVector.fromMemorySegment(S, m, at + 4L * QUAD, LE);
            p = p.add(z.mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 2).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 6).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 8).mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 10).mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 12).mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 14).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts()));
            IntVector q = p.reinterpretAsInts();
            IntVector s0 = (IntVector) ByteVector.fromMemorySegment(Z, m, sb + (8 + k) * QUAD, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector s1 = (IntVector) ByteVector.fromMemorySegment(Z, m, sb + (9 + k) * QUAD, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector e = q.lanewise(LSHL, 16).lanewise(ASHR, 16).mul(s0.and(15)).add(q.lanewise(ASHR, 16).mul(s1.and(15)));
            int sums = t[x + 16];
            IntVector mins = s0.lanewise(LSHR, 4).mul((short) sums).add(s1.lanewise(LSHR, 4).mul(sums >> 16));
            float step = d[c >> 5];
            total = ((FloatVector) e.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb, LE).mul(step), total);
            total = ((FloatVector) mins.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb + 4L * QUAD, LE).mul(-step), total);
        }
        total.intoArray(acc, 0);
    }

    /**
     * Q4_0's nibbles ({@link ByteRows#QUAD_ROWS} rows a block, codes 0..15, per four columns two bytes per row; an fp16
     * scale per group of 32, zero 8) with the input as 8-bit integers ({@link SplitInput#ofBytes}, as llama.cpp's q8_0):
     * acc[0..QUAD_ROWS) = the block's rows times the input, one group per step. Per four columns one load of the block's
     * bytes widened to 16-bit lanes: the whole bytes (columns 4s and 4s + 2 in the low nibbles of a row's two lanes) and
     * their high nibbles (4s + 1 and 4s + 3) each take one multiply by a broadcast pair of inputs ({@link
     * SplitInput#quadTerms}, folded so that the low nibbles need no mask): a 32-bit broadcast is a plain load where a 16-bit
     * one also takes a shuffle. {@code Σ w·v = d·(Σ code·v − 8·Σ v)}; a group's sixteen products end within each 16-bit
     * lane (16·15·127 < 2^15, exact however they wrapped), whose two halves are then added in 32 bits. The steps
     * are {@link #nibbles}' too; one method for both, with the epilogue chosen per group, ran Q4_0 8–10% slower in L2.
     */
    private static void nibbleGroups(MemorySegment m, long base, int cols, int[] t, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        for (int c = 0; c < cols; c += 32) {
            long at = base + (long) (c >> 5) * ByteRows.SUB_BYTES;
            // the eight steps written out: as a loop, C2 split its eight trips into pre, main and post loops
            int x = (c >> 5) * SplitInput.BYTE_TERMS; // the block's quads, step and sum (SplitInput.quadTerms)
            ShortVector z, ph;
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = z.mul(IntVector.broadcast(I, t[x + 0]).reinterpretAsShorts())
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 1L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 2L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 3L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 4L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 5L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 6L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 7L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts()));
            IntVector p = ph.reinterpretAsInts();
            IntVector e = p.lanewise(LSHL, 16).lanewise(ASHR, 16).add(p.lanewise(ASHR, 16)).sub(8 * t[x + SplitInput.BYTE_SUM]);
            // fp16 → float as in groups
            IntVector h = (IntVector) ShortVector.fromMemorySegment(H, m, at + 16 * QUAD, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            IntVector mag = h.and(0x7FFF).lanewise(LSHL, 13);
            mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
            FloatVector s0 = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
            total = ((FloatVector) e.convert(I2F, 0)).fma(s0.mul(IntVector.broadcast(I, t[x + SplitInput.BYTE_STEP]).reinterpretAsFloats()), total);
        }
        total.intoArray(acc, 0);
    }

    /**
     * 4-bit codes in nibble groups of 64k columns ({@link ByteRows#ofNibbleGroups}, the code layout of {@link
     * #nibbleGroups}; per group an fp16 scale per row and, with zeros, the rows' {@code z − 8}) with the input as 11-bit
     * integers ({@link SplitInput#ofElevenBits}): acc[0..QUAD_ROWS) = the block's rows times the input, 32 columns per
     * step. Per four columns one load of the block's bytes widened to 16-bit lanes; the whole byte and its high nibble
     * (a 16-bit shift, one instruction with its count in a register; a 32-bit shift and a mask took three, C2 reloading
     * the mask each time: 24.2 against 21.8 instructions per 64 weights in the loop) each take one multiply by a
     * broadcast pair of inputs (the quads of {@link SplitInput#quadTerms}, which hold all the step reads of the input:
     * 19.9 instructions per 64 weights against 21.8 from four arrays). Every two steps the 16-bit lanes start from
     * {@code −8·Σ v} of their columns (its corrections), so that they end at {@code Σ (c − 8)·v}, at most 4·8·1023 <
     * 2^15 however they wrapped on the way; the low lane biased by 2^15 ends non-negative, so the 32-bit lanes {@code p = 2^16·hi + lo
     * + 2^15} are summed whole beside their arithmetic high halves, and a sub-block's sum is {@code Σ hi + (Σ p − 2^16·Σ hi
     * − 4·2^15)} (mod 2^32, exact since it fits). Each sub-block then takes its zero's term {@code (z − 8)·Σ v} in
     * integers and the input block's step in float, each group its scale: {@code Σ w·v = s·Σ d·Σ (c − z)·v}. Why 11
     * bits: with 8-, 9- or 10-bit inputs greedy text on aidreams260K int4 g64 left the exact kernels' within 13–55 tokens
     * (TableLookupPerplexityTest asks 110).
     */
    private static void nibblePairs(MemorySegment m, long base, int cols, int group, boolean zeros, int[] t, float[] acc) {
        FloatVector total = FloatVector.zero(F), part = total;
        long gb = ByteRows.nibbleGroupBytes(group, zeros), g0 = base; // the current group's offset
        for (int c = 0, inGroup = 0; c < cols; c += 32) {
            long at = g0 + (long) inGroup * (QUAD / 2), sg = g0 + (long) group * (QUAD / 2); // the group's scales, then zeros
            // the eight steps written out: as a loop, C2 split its trips into pre, main and post loops
            int x = (c >> 5) * SplitInput.ELEVEN_TERMS, w = x + SplitInput.QUAD_CORRECTIONS, blk = x + SplitInput.ELEVEN_STEP; // the block's quads, corrections, step and sum (SplitInput.quadTerms)
            ShortVector z, ph;
            IntVector p, hs, ps;
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = IntVector.broadcast(I, t[w + 0]).reinterpretAsShorts().add(z.mul(IntVector.broadcast(I, t[x + 0]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 1L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            p = ph.add(z.mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts())).reinterpretAsInts();
            hs = p.lanewise(ASHR, 16);
            ps = p;
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 2L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = IntVector.broadcast(I, t[w + 1]).reinterpretAsShorts().add(z.mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 3L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            p = ph.add(z.mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts())).reinterpretAsInts();
            hs = hs.add(p.lanewise(ASHR, 16));
            ps = ps.add(p);
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 4L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = IntVector.broadcast(I, t[w + 2]).reinterpretAsShorts().add(z.mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 5L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            p = ph.add(z.mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts())).reinterpretAsInts();
            hs = hs.add(p.lanewise(ASHR, 16));
            ps = ps.add(p);
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 6L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = IntVector.broadcast(I, t[w + 3]).reinterpretAsShorts().add(z.mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 7L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            p = ph.add(z.mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts())).reinterpretAsInts();
            hs = hs.add(p.lanewise(ASHR, 16));
            ps = ps.add(p);
            // the low halves' sum: Σ p − 2^16·Σ high halves − 4·2^15 (their bias), mod 2^32
            IntVector e = hs.add(ps).sub(hs.lanewise(LSHL, 16)).sub(4 << 15);
            if (zeros) {
                e = e.sub(((IntVector) ByteVector.fromMemorySegment(Z, m, sg + 2 * QUAD, LE).convertShape(B2I, I, 0)).mul(t[blk + 1]));
            }
            part = ((FloatVector) e.convert(I2F, 0)).fma(IntVector.broadcast(I, t[blk]).reinterpretAsFloats(), part);
            inGroup += 32;
            if (inGroup == group) { // the end of a group: scale it
                // fp16 → float as in groups
                IntVector h = (IntVector) ShortVector.fromMemorySegment(H, m, sg, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                IntVector mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                FloatVector s0 = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
                total = part.fma(s0, total);
                part = FloatVector.zero(F);
                inGroup = 0;
                g0 += gb;
            }
        }
        total.intoArray(acc, 0);
    }

    /**
     * Q4_K's nibbles in the layout of {@link #nibbleGroups} (sub-blocks of 32 with a scale and a minimum 0..63; float
     * {@code d} and {@code dmin} per 256) with the input as 8-bit integers ({@link SplitInput#ofBytes}): acc[0..QUAD_ROWS)
     * = the block's rows times the input, one sub-block per step. {@code Σ w·v = d·sub·Σ code·v − dmin·min·Σ v}; a
     * sub-block's integer sum times its scale fits 32 bits (32·15·127·63).
     */
    private static void nibbles(MemorySegment m, long base, int cols, int[] t, float[] acc) {
        FloatVector total = FloatVector.zero(F);
        long sb = base, at = sb + 8 * QUAD; // running offsets as in superBlocks: the super-block, the step's codes (168 -> 159 instructions per 512 weights)
        for (int c = 0; c < cols; c += 32) {
            // the eight steps written out: as a loop, C2 split its eight trips into pre, main and post loops
            int x = (c >> 5) * SplitInput.BYTE_TERMS; // the block's quads, step and sum (SplitInput.quadTerms)
            ShortVector z, ph;
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = z.mul(IntVector.broadcast(I, t[x + 0]).reinterpretAsShorts())
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 1]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 1L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 2]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 3]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 2L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 4]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 5]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 3L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 6]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 7]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 4L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 8]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 9]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 5L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 10]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 11]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 6L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 12]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 13]).reinterpretAsShorts()));
            z = (ShortVector) ByteVector.fromMemorySegment(B, m, at + 7L * ROWS, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
            ph = ph.add(z.mul(IntVector.broadcast(I, t[x + 14]).reinterpretAsShorts()))
                    .add(z.lanewise(LSHR, 4).mul(IntVector.broadcast(I, t[x + 15]).reinterpretAsShorts()));
            IntVector p = ph.reinterpretAsInts();
            IntVector e = p.lanewise(LSHL, 16).lanewise(ASHR, 16).add(p.lanewise(ASHR, 16))
                    .mul((IntVector) ByteVector.fromMemorySegment(Z, m, at + 16 * QUAD, LE).convertShape(B2I, I, 0));
            IntVector me = ((IntVector) ByteVector.fromMemorySegment(Z, m, at + 17 * QUAD, LE).convertShape(B2I, I, 0)).mul(t[x + SplitInput.BYTE_SUM]);
            FloatVector step = IntVector.broadcast(I, t[x + SplitInput.BYTE_STEP]).reinterpretAsFloats();
            total = ((FloatVector) e.convert(I2F, 0)).fma(FloatVector.fromMemorySegment(F, m, sb, LE).mul(step), total)
                    .sub(((FloatVector) me.convert(I2F, 0)).mul(FloatVector.fromMemorySegment(F, m, sb + 4 * QUAD, LE).mul(step)));
            at += ByteRows.SUB_BYTES;
            if (((c + 32) & 255) == 0) { // the next super-block
                sb += ByteRows.SUPER_BYTES;
                at = sb + 8 * QUAD;
            }
        }
        total.intoArray(acc, 0);
    }

    private static final VectorSpecies<Byte> PAIR_CODES = ByteVector.SPECIES_256, TILE_ZEROS = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> PAIRS = ShortVector.SPECIES_512, TILE_SCALES = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> TILE_ROWS = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> TILE_SUMS = FloatVector.SPECIES_512;

    /**
     * The 8-bit tiles of a mixed matrix's row block ({@link MixedPlanes}: 16 rows; per listed chunk of 64 columns, per
     * pair of columns 32 signed codes, row i's at bytes 2i and 2i + 1; per chunk 16 fp16 scales and, with zeros, 16
     * unsigned zeros): {@code acc[i] = row i · input} over the chunks {@code list[from .. from + count)}, the k-th's
     * codes at {@code co + 1024·k}, its scales and zeros at entry {@code from + k}. One broadcast of a column pair's
     * input halves ({@link SplitInput#hiPairs}) multiplies all 16 rows' two columns; the even and odd 16-bit lanes of a
     * 32-bit lane are one row's two columns, so splitting them by shifts and adding gives the row's sum. Eight products
     * per 16-bit lane before widening (8·128·31 < 2^15). One step of the loop is a quarter chunk (8 pairs, written out);
     * with the pairs as nested loops it ran 1.4x slower in cache and the same from DRAM (all-8-bit 2048x2048,
     * bench/results/mixed-tiles-2026-12-04.md). 512-bit vectors: mixed matrices take this path only there.
     */
    static void tiles(MemorySegment codes, long co, int[] list, int from, int count, MemorySegment scales, MemorySegment zeros,
                      int[] hiPairs, int[] loPairs, float[] d, int[] sum, float[] acc) {
        FloatVector total = FloatVector.zero(TILE_SUMS), part = total;
        IntVector eh = IntVector.zero(TILE_ROWS), el = eh;
        for (int q = 0; q < 4 * count; q++) { // quarters of a chunk: 16 columns, 8 column pairs
            int k = q >> 2, c = list[from + k], p = 32 * c + 8 * (q & 3);
            long at = co + 256L * q, e = from + k;
            // the eight pairs written out (as a loop, C2 split its trips into pre, main and post loops)
            ShortVector cq, ph, pl;
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 0L, LE).convertShape(B2S, PAIRS, 0);
            ph = cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 0]).reinterpretAsShorts());
            pl = cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 0]).reinterpretAsShorts());
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 32L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 1]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 1]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 64L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 2]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 2]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 96L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 3]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 3]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 128L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 4]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 4]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 160L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 5]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 5]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 192L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 6]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 6]).reinterpretAsShorts()));
            cq = (ShortVector) ByteVector.fromMemorySegment(PAIR_CODES, codes, at + 224L, LE).convertShape(B2S, PAIRS, 0);
            ph = ph.add(cq.mul(IntVector.broadcast(TILE_ROWS, hiPairs[p + 7]).reinterpretAsShorts()));
            pl = pl.add(cq.mul(IntVector.broadcast(TILE_ROWS, loPairs[p + 7]).reinterpretAsShorts()));
            IntVector a = ph.reinterpretAsInts(), b = pl.reinterpretAsInts();
            eh = eh.add(a.lanewise(LSHL, 16).lanewise(ASHR, 16)).add(a.lanewise(ASHR, 16));
            el = el.add(b.lanewise(LSHL, 16).lanewise(ASHR, 16)).add(b.lanewise(ASHR, 16));
            if ((q & 1) == 1) { // the end of a block of 32 columns
                int blk = 2 * c + ((q >> 1) & 1);
                IntVector v = eh.lanewise(LSHL, 6).sub(eh).add(el); // 63·hi + lo
                if (zeros != null) { // Σ (c − (z − 128))·v, the codes stored minus 128
                    IntVector z = (IntVector) ByteVector.fromMemorySegment(TILE_ZEROS, zeros, 16L * e, LE).convertShape(ZERO_EXTEND_B2I, TILE_ROWS, 0);
                    v = v.sub(z.sub(128).mul(sum[blk]));
                }
                part = ((FloatVector) v.convert(I2F, 0)).fma(FloatVector.broadcast(TILE_SUMS, d[blk]), part);
                eh = IntVector.zero(TILE_ROWS);
                el = eh;
            }
            if ((q & 3) == 3) { // the end of a chunk: its rows' scales (fp16 → float as in groups)
                IntVector h = (IntVector) ShortVector.fromMemorySegment(TILE_SCALES, scales, 32L * e, LE).convertShape(ZERO_EXTEND_S2I, TILE_ROWS, 0);
                IntVector m = h.and(0x7FFF).lanewise(LSHL, 13);
                m = m.blend(m.or(0x70000000), m.compare(VectorOperators.GE, 0x0F800000));
                FloatVector sc = m.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
                total = part.fma(sc, total);
                part = FloatVector.zero(TILE_SUMS);
            }
        }
        total.intoArray(acc, 0);
    }
}
