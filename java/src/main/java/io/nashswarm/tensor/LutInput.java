package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One input vector as the table-lookup kernels read it ({@link LutKernels}): per group of 4 activations
 * {@code x_0..x_3} (columns {@code 4a..4a+3}), the 16 signed partial sums
 * {@code T[idx] = Σ_j (bit j of idx ? +x_j : −x_j)}, quantized to 12-bit integers ({@code |q| ≤ }{@value #QMAX})
 * with one step per chunk of {@value #CHUNK} activations. Built once per product and shared by every row.
 *
 * <h2>Layout</h2>
 * Group {@code a} (counted over the whole input) takes 32 bytes at {@code 32a}: the low bytes of its 16
 * entries as int16, then their high bytes. A byte shuffle whose index lanes alternate {@code idx} and
 * {@code idx + 16} so reads a 16-bit entry per 16-bit lane. The array has 32 spare bytes at the end (a
 * kernel reads 64 bytes from any group).
 *
 * <h2>Why 12 bits</h2>
 * int8 tables (step {@code max/127}) moved aidreams260K's greedy int4 text after 10–15 tokens (see
 * README › Kernels). Entries up to 2047 still let a kernel add 16 of them (a plane's chunk) in 16-bit lanes
 * ({@code 16·2047 < 2^15}), and the shuffle reads both bytes of an entry at once, so the finer table costs
 * no extra lookups.
 *
 * <h2>Byte tables</h2>
 * {@link #ofBytes} quantizes the same entries to {@code |q| ≤ }{@value #BYTE_QMAX} (step {@code max/127}) and stores
 * them biased by 128 as unsigned bytes, 16 per group ({@link #bytes}), for the 2-bit kernel {@link
 * LutKernels#planeRows}. The bound below holds with that step: 16 times the 12-bit tables'.
 *
 * <h2>Quantization and its error</h2>
 * Chunk {@code c}'s step is {@code t_c = max_a Σ_j |x_{4a+j}| / QMAX}: the largest entry of any of its
 * tables maps to ±QMAX, and every entry is {@code t_c·q} with {@code q = round(T/t_c)}, so it is off by at
 * most {@code t_c/2}. The kernels add, per bit plane, one entry per group: 16 per chunk, so a plane's
 * partial sum is off by at most {@code 8·t_c}, and a {@code b}-bit code's
 * {@code ½·Σ_k 2^k·(plane k's sum)} by at most {@code 4·(2^b − 1)·t_c}. A row's product is therefore off
 * by at most {@code Σ_c |s_c|·4·(2^b − 1)·t_c} ({@code s_c} the scale of chunk c's group), plus float
 * rounding (PackedReference.assertLookupProduct checks it). The chunk sums {@link #sum}, which carry the zero-point term, are
 * exact floats. Non-finite inputs give a non-finite step, and so non-finite products. Entries are
 * {@code rint(T·(QMAX/max))} with {@code T} summed in float as {@code ±x_0 ± x_1 ± x_2 ± x_3} (entries 8..15 are
 * then exactly the negations of 7..0), the product in float, or in double where {@code QMAX/max} overflows a float.
 */
final class LutInput {
    /** Activations per table step: 16 groups of 4. */
    static final int CHUNK = 64;
    /** The largest quantized table entry. */
    static final int QMAX = 2047;
    /** The largest entry of the byte tables ({@link #ofBytes}). */
    static final int BYTE_QMAX = 127;
    /** Bytes per group of 4 activations: 16 low bytes, 16 high bytes. */
    static final int GROUP_BYTES = 32;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    private static final float ROUND = 0x1.8p23f;
    /**
     * The sign of x_j in entry idx (bit j of idx), for j = 0..3. Entries 8..15 are computed, not negated from
     * 7..0: float addition and round-half-even are symmetric in sign, so they come out as exactly −T[15 − idx].
     */
    private static final FloatVector SIGN0 = signs(0), SIGN1 = signs(1), SIGN2 = signs(2), SIGN3 = signs(3);

    /** 32 bytes per group of 4 columns, group after group, and 32 spare; null for {@link #ofBytes}. */
    final byte[] table;
    /**
     * {@link #ofBytes}: per group of 4 columns, its 16 entries {@code q + 128} ({@code |q| ≤ }{@value #BYTE_QMAX}) as
     * unsigned bytes, group after group, and 48 spare; else null. The kernel loads 64 bytes from a group's entries: a
     * 64-byte permute indexes them with 0..15 in every lane, so the next groups' entries in its upper lanes are never read.
     * Not four copies per group: a 64-byte table per 4 columns (32 KiB for 2048 columns) halved the kernel's speed from
     * DRAM, the table's lines competing with the streamed weights for the core's outstanding misses.
     */
    final byte[] bytes;
    /** Per chunk: {@code t_c / 2} (the kernels' sums count each plane's ±x twice). */
    final float[] half;
    /** Per chunk: the exact sum of its activations. */
    final float[] sum;
    /** Per half chunk (32 activations), for codes in groups of 32 (ggml blocks): its chunk's {@link #half}, and its own sum. */
    final float[] half32, sum32;

    private LutInput(int chunks, boolean byteTables) {
        table = byteTables ? null : new byte[chunks * 16 * GROUP_BYTES + GROUP_BYTES];
        bytes = byteTables ? new byte[chunks * 16 * 16 + 48] : null;
        half = new float[chunks];
        sum = new float[chunks];
        half32 = new float[2 * chunks];
        sum32 = new float[2 * chunks];
    }

    private static FloatVector signs(int j) {
        float[] s = new float[16];
        for (int idx = 0; idx < 16; idx++) {
            s[idx] = ((idx >> j) & 1) != 0 ? 1f : -1f;
        }
        return FloatVector.fromArray(F, s, 0);
    }

    /** Entry {@code idx} (as an int) of group {@code a} (for tests). */
    int entry(int a, int idx) {
        return (table[GROUP_BYTES * a + idx] & 0xFF) | table[GROUP_BYTES * a + 16 + idx] << 8;
    }

    /** Stores entry idx of group a: two bytes of a 12-bit table, or one biased byte. */
    private void put(int a, int idx, int q) {
        if (bytes != null) {
            bytes[16 * a + idx] = (byte) (q + 128);
        } else {
            table[GROUP_BYTES * a + idx] = (byte) q;
            table[GROUP_BYTES * a + 16 + idx] = (byte) (q >> 8);
        }
    }

    /** Tables of {@code x[off .. off + cols)}, {@code cols} a multiple of {@value #CHUNK}. */
    static LutInput of(float[] x, int off, int cols) {
        return build(x, off, cols, false, null);
    }

    /**
     * Byte tables of {@code x[off .. off + cols)} ({@link #bytes}: entries up to {@value #BYTE_QMAX}, so 16 times the
     * error of {@link #of}'s), for the 2-bit kernel ({@link LutKernels#planeRows}).
     */
    static LutInput ofBytes(float[] x, int off, int cols) {
        return build(x, off, cols, true, null);
    }

    /** As {@link #of} ({@code byteTables} false) or {@link #ofBytes}, into {@code reuse}'s arrays where it has this kind and room for its chunks. */
    static LutInput of(float[] x, int off, int cols, boolean byteTables, LutInput reuse) {
        return build(x, off, cols, byteTables, reuse);
    }

    /** The 12-bit tables or the byte tables. */
    private static LutInput build(float[] x, int off, int cols, boolean byteTables, LutInput reuse) {
        int chunks = cols / CHUNK, qmax = byteTables ? BYTE_QMAX : QMAX;
        LutInput in = reuse != null && reuse.half.length >= chunks && (reuse.bytes != null) == byteTables ? reuse // its first chunks
                : new LutInput(chunks, byteTables);
        for (int c = 0; c < chunks; c++) {
            int base = off + c * CHUNK;
            // in vectors, 16 values a quarter: each group of four's Σ|x| in all its lanes (lanes i ^ 1, then i ^ 2, added),
            // and the quarters' sums (the scalar loop's serial max, sums and quarter stores took a third of the time)
            FloatVector v0 = FloatVector.fromArray(F, x, base), v1 = FloatVector.fromArray(F, x, base + 16),
                    v2 = FloatVector.fromArray(F, x, base + 32), v3 = FloatVector.fromArray(F, x, base + 48);
            FloatVector m = groupSums(v0.abs()).max(groupSums(v1.abs())).max(groupSums(v2.abs())).max(groupSums(v3.abs()));
            float max = m.reduceLanes(VectorOperators.MAX);
            float q0 = sum(v0), q1 = sum(v1), q2 = sum(v2), q3 = sum(v3);
            float total = (q0 + q1) + (q2 + q3);
            float h = max / qmax / 2;
            in.half[c] = in.half32[2 * c] = in.half32[2 * c + 1] = h;
            in.sum[c] = total;
            in.sum32[2 * c] = q0 + q1;
            in.sum32[2 * c + 1] = q2 + q3;
            float inv = max > 0 && max < Float.POSITIVE_INFINITY ? qmax / max : 0f;
            if (inv == Float.POSITIVE_INFINITY) {
                in.tinyChunk(x, base, qmax / (double) max, 16 * c);
                continue;
            }
            for (int a = 0; a < 16; a++) {
                int o = base + 4 * a;
                // the 16 entries, rounded half to even through the float adder (|T·inv| ≤ QMAX); low bytes, then high bytes
                FloatVector e = SIGN0.mul(x[o]).add(SIGN1.mul(x[o + 1])).add(SIGN2.mul(x[o + 2])).add(SIGN3.mul(x[o + 3])).mul(inv);
                IntVector q = (IntVector) e.add(ROUND).sub(ROUND).convert(VectorOperators.F2I, 0);
                if (byteTables) {
                    ((ByteVector) q.add(128).convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(in.bytes, 16 * (c * 16 + a));
                    continue;
                }
                int t = GROUP_BYTES * (c * 16 + a);
                q.convertShape(VectorOperators.I2B, BYTES, 0).reinterpretAsBytes().intoArray(in.table, t);
                q.lanewise(VectorOperators.ASHR, 8).convertShape(VectorOperators.I2B, BYTES, 0).reinterpretAsBytes().intoArray(in.table, t + 16);
            }
        }
        return in;
    }

    /** Lane i: the sum of its group of four lanes (4·(i / 4) .. + 3). */
    private static FloatVector groupSums(FloatVector v) {
        FloatVector p = v.add(v.rearrange(NEXT_1));
        return p.add(p.rearrange(NEXT_2));
    }

    /**
     * The sum of v's 16 lanes in a fixed order (pairs, then fours, eights, sixteen): {@code reduceLanes(ADD)}'s order is
     * the JIT's choice, and a batch's tables must equal the same inputs' tables built one at a time, bit for bit.
     */
    private static float sum(FloatVector v) {
        FloatVector p = groupSums(v);
        p = p.add(p.rearrange(NEXT_4));
        return p.add(p.rearrange(NEXT_8)).lane(0);
    }

    private static final jdk.incubator.vector.VectorShuffle<Float> NEXT_1 = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> i ^ 1),
            NEXT_2 = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> i ^ 2), NEXT_4 = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> i ^ 4),
            NEXT_8 = jdk.incubator.vector.VectorShuffle.fromOp(F, i -> i ^ 8);

    /** A chunk whose QMAX/max overflows a float (max below 1.7e-35): the same entries, scaled in double. */
    private void tinyChunk(float[] x, int base, double inv, int group) {
        for (int a = 0; a < 16; a++) {
            int o = base + 4 * a;
            for (int idx = 0; idx < 16; idx++) {
                float e = 0f;
                for (int j = 0; j < 4; j++) {
                    e += ((idx >> j) & 1) != 0 ? x[o + j] : -x[o + j];
                }
                put(group + a, idx, (int) Math.rint(e * inv));
            }
        }
    }
}
