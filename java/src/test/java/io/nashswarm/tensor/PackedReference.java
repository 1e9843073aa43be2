package io.nashswarm.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Float64 reference products from {@code dequantizeRow}, written separately from the kernels.
 *
 * <p>Products of 4- and 2-bit codes in groups of a multiple of 64 go through integer kernels that
 * quantize the input per chunk of 64 values: {@code step = max|x| / qmax}, {@code q = round(x / step)},
 * with {@code qmax = 32767 / (4m)} and {@code m} the largest {@code |u − z|} (2^(bits−1) symmetric,
 * 2^bits − 1 asymmetric). This class restates that rule on its own and checks such products twice:
 * against the exact product within the error the rounding of the input can cause
 * ({@code Σ |ŵ|·step/2}), and against the product with the input rounded as the rule says, within float
 * rounding only; the second check pins the integer arithmetic down exactly.
 *
 * <p>Products of {@link IntGroupMatrix} 2- and 4-bit codes in such groups go through the table-lookup
 * kernels instead ({@link #assertLookupProduct}), checked the same two ways against this class's own
 * restatement of {@link LutInput}'s table quantization.
 */
final class PackedReference {
    private PackedReference() {}

    /** Relative tolerance against Σ|ŵ·x|: float32 accumulation over a few hundred terms plus the zero-point term. */
    static final double REL = 3e-5;
    static final int CHUNK = 64;
    /** The table-lookup kernels' largest table entry (12-bit tables). */
    static final int QMAX = 2047;

    static float[][] dequantize(WeightMatrix m) {
        float[][] w = new float[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, w[r], 0);
        }
        return w;
    }

    /**
     * Code width of the integer kernel that multiplies weight (r, c), or 0 when a float kernel does:
     * 4- and 2-bit codes whose groups are whole chunks of 64, a power-of-two number of them (or one group per row).
     */
    static int integerBits(WeightMatrix m, int r, int c) {
        if (!(m instanceof PackedMatrix pm)) {
            return 0;
        }
        int g = pm.spec().groupSize(), chunks = g / CHUNK;
        boolean fits = g % CHUNK == 0 && ((chunks & (chunks - 1)) == 0 || g == m.cols());
        int w = m instanceof IntGroupMatrix im ? im.bits() : m instanceof MixedGroupMatrix mm ? mm.width(r, c / g) : 8;
        return fits && w != 8 ? w : 0;
    }

    static int qmax(int bits, boolean symmetric) {
        int m = symmetric ? 1 << (bits - 1) : (1 << bits) - 1;
        return 32767 / (4 * m);
    }

    /** Largest |x| of the chunk of 64 holding column c of vector b. */
    static float chunkMax(float[] x, int base, int c) {
        int c0 = c / CHUNK * CHUNK;
        float max = 0;
        for (int i = c0; i < c0 + CHUNK; i++) {
            max = Math.max(max, Math.abs(x[base + i]));
        }
        return max;
    }

    /** Whether the table-lookup kernels compute this matrix's products. */
    static boolean lookup(WeightMatrix m) {
        if (columnParts(m)) {
            return true; // its 2-bit part on byte tables, its 8- and 4-bit parts on the 16-bit products (assertLookupProduct)
        }
        if (!(m instanceof IntGroupMatrix || m instanceof MixedGroupMatrix) || !LutKernels.NATIVE || byteRows(m)) {
            return false;
        }
        if (planeRows(m)) {
            return true;
        }
        int g = ((PackedMatrix) m).spec().groupSize(), chunks = g / CHUNK;
        boolean blocks32 = g == 32 && m.cols() % CHUNK == 0 && m instanceof IntGroupMatrix;
        return blocks32 || g % CHUNK == 0 && ((chunks & (chunks - 1)) == 0 || g == m.cols());
    }

    /**
     * The table-lookup rule, restated: per chunk of 64 inputs the step {@code t = max_a Σ_j|x_{4a+j}| / 2047},
     * per group of 4 the signed sums {@code T[idx] = Σ_j ±x_j} rounded to {@code q = rint(T/t)}, and per
     * chunk the row's {@code s·(t/2·Σ_k 2^k·Σ_a q[plane k's nibble] + (2^(b−1) − ½ − z)·Σx)}.
     * Checked against the exact product within {@code Σ_chunks |s|·4·(2^b − 1)·t} (each of the 16·b table
     * entries a chunk adds is off by at most t/2, weighted by 2^k/2), and against the rule within float rounding.
     * 8-bit tiles of mixed matrices take the 16-bit products' rule and bound instead ({@link #assertByteRowProduct}).
     * A mixed matrix of one width per group column ({@link #columnParts}) runs each width on its uniform kernel: 2-bit groups
     * on byte tables, 8-bit and 4-bit groups on the 16-bit products (4-bit: the input at 11 bits per block of 32).
     */
    static void assertLookupProduct(PackedMatrix m, float[] x, float[] y, int n, String what) {
        float[][] w = dequantize(m);
        int rows = m.rows(), cols = m.cols(), g = m.spec().groupSize();
        Codes v = Codes.of(m);
        boolean columns = columnParts(m), byteTables = planeRows(m) || columns; // 2-bit codes in groups of 64k take byte tables
        for (int b = 0; b < n; b++) {
            int base = b * cols;
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0, refQ = v.outliers(r, x, base), bound = 0;
                int part = Math.min(g, CHUNK); // groups of 32: two scales per chunk, each over its 8 groups of 4
                for (int c0 = 0; c0 < cols; c0 += CHUNK) {
                    float max = tableMax(x, base + c0);
                    for (int p0 = c0; p0 < c0 + CHUNK; p0 += part) {
                        int gi = p0 / g, bits = v.bits(r, gi), qmax = bits == 2 && byteTables ? LutInput.BYTE_QMAX : QMAX;
                        float t = max / qmax, inv = max > 0 && max < Float.POSITIVE_INFINITY ? qmax / max : 0f;
                        if (bits == 8 || bits == 4 && columns) { // the 16-bit products: the input rounded per block of 32 (assertByteRowProduct)
                            int pq = bits == 8 ? BYTE_ROWS_QMAX : SplitInput.ELEVEN_BIT_QMAX;
                            for (int b0 = p0; b0 < p0 + part; b0 += 32) {
                                float bmax = 0;
                                for (int c = b0; c < b0 + 32; c++) {
                                    bmax = Math.max(bmax, Math.abs(x[base + c]));
                                }
                                float d = bmax / pq, dinv = bmax > 0 ? pq / bmax : 0f;
                                for (int c = b0; c < b0 + 32; c++) {
                                    double xq = (double) d * (Float.isInfinite(dinv) ? Math.rint(x[base + c] * (pq / (double) bmax))
                                            : Math.rint(x[base + c] * dinv));
                                    double wq = v.scale(r, gi) * (v.code(r, c) - v.zero(r, gi)); // outliers: added exactly (refQ's start)
                                    ref += (double) w[r][c] * x[base + c];
                                    refQ += wq * xq;
                                    mag += Math.abs((double) w[r][c] * x[base + c]) + Math.abs(wq * xq);
                                    bound += Math.abs(wq) * d / 2;
                                }
                            }
                            continue;
                        }
                        long planeSum = 0;
                        double sumX = 0, absX = 0;
                        for (int o0 = p0; o0 < p0 + part; o0 += 4) {
                            int o = base + o0;
                            for (int k = 0; k < bits; k++) {
                                int idx = 0;
                                for (int j = 0; j < 4; j++) {
                                    idx |= ((v.code(r, o0 + j) >> k) & 1) << j;
                                }
                                planeSum += (1L << k) * entry(x, o, idx, inv, qmax / (double) max);
                            }
                        }
                        for (int c = p0; c < p0 + part; c++) {
                            ref += (double) w[r][c] * x[base + c];
                            mag += Math.abs((double) w[r][c] * x[base + c]);
                            sumX += x[base + c];
                            absX += Math.abs(x[base + c]);
                        }
                        double s = v.scale(r, gi), cz = (1 << (bits - 1)) - 0.5 - v.zero(r, gi);
                        refQ += s * ((double) t / 2 * planeSum + cz * sumX);
                        mag += Math.abs(s) * ((double) t / 2 * Math.abs(planeSum) + Math.abs(cz) * absX);
                        bound += Math.abs(s) * 4.0 * ((1 << bits) - 1) * t * part / CHUNK;
                    }
                }
                double got = y[b * rows + r];
                double tol = REL * mag + bound * (1 + 1e-6) + 1e-30;
                assertTrue(Math.abs(got - ref) <= tol,
                        what + ": vector " + b + " row " + r + ": got " + got + ", reference " + ref + " (table bound " + bound + ", tolerance " + tol + ")");
                assertTrue(Math.abs(got - refQ) <= REL * mag + 1e-30,
                        what + ": vector " + b + " row " + r + ": got " + got + ", reference by the table rule " + refQ + " (tolerance " + REL * mag + ")");
            }
        }
    }

    /**
     * The codes as the lookup kernels run them. A mixed matrix's group runs at its tile's width, the widest among the
     * group's 16-row block ({@link MixedPlanes}): a narrower code u and zero z of width w become u + 2^(B−1) − 2^(w−1),
     * z likewise (the same weight); its outliers are added exactly.
     */
    interface Codes {
        int bits(int r, int gi);
        int code(int r, int c);
        double scale(int r, int gi);
        int zero(int r, int gi);
        double outliers(int r, float[] x, int base);

        static Codes of(PackedMatrix pm) {
            if (pm instanceof IntGroupMatrix m) {
                return new Codes() {
                    public int bits(int r, int gi) { return m.bits(); }
                    public int code(int r, int c) { return m.code(r, c); }
                    public double scale(int r, int gi) { return m.scale(r, gi); }
                    public int zero(int r, int gi) { return m.zero(r, gi); }
                    public double outliers(int r, float[] x, int base) { return 0; }
                };
            }
            MixedGroupMatrix m = (MixedGroupMatrix) pm;
            int g = m.spec().groupSize();
            return new Codes() {
                public int bits(int r, int gi) {
                    int b = 0;
                    for (int i = r / 16 * 16; i < Math.min(m.rows(), r / 16 * 16 + 16); i++) {
                        b = Math.max(b, m.width(i, gi));
                    }
                    return b;
                }
                private int lift(int r, int gi) { return (1 << (bits(r, gi) - 1)) - (1 << (m.width(r, gi) - 1)); }
                public int code(int r, int c) { return m.code(r, c) + lift(r, c / g); }
                public double scale(int r, int gi) { return m.scale(r, gi); }
                public int zero(int r, int gi) { return m.zero(r, gi) + lift(r, gi); }
                public double outliers(int r, float[] x, int base) { return m.outlierProduct(r, x, base); }
            };
        }
    }

    /**
     * Checks rows r0..r1 of a ggml Q4_1, Q5_0 or Q5_1 matrix's lookup product with the input at {@code x[base..]}
     * ({@code y[yOff + r]}): codes shifted to unsigned in groups of 16 or 32 with fp16 scales and minimums, stored times one
     * power of two per matrix (the largest just under 2^15). Within the table bound (per group, |s|·4·(2^b − 1)·t·g/64) plus the effect of
     * the fp16 rounding of the scales and minimums (computed exactly) of the exact float64 product, and equal by the
     * table rule, restated with the rounded values, within float rounding.
     */
    static void assertGgmlLookupRows(GgmlBlockMatrix m, float[] x, int base, float[] y, int yOff, int r0, int r1, String what) {
        // the planes the kernel adds: 4, or 6 for 5-bit codes (plane 5 is 0)
        int bits = m.lookupBits() == 5 ? 6 : m.lookupBits() == 2 ? 2 : 4, off = m.lookupOffset();
        int qk = m.type().blockSize(), rows = m.rows(), cols = m.cols(), g = m.sub, per = qk / g, bytes = m.type().bytesPerBlock();
        double[][] sc = new double[rows][cols / g], mn = new double[rows][cols / g];
        int[][] u = new int[rows][cols];
        byte[] codes = new byte[qk];
        float[] bs = new float[per], bm = new float[per];
        float max = 0;
        for (int r = 0; r < rows; r++) {
            for (int blk = 0; blk < cols / qk; blk++) {
                m.decodeBlock(m.rowBytes * r + (long) bytes * blk, codes, bs, bm);
                for (int j = 0; j < per; j++) {
                    // codes u = code + off: w = s·code − min = s·u − (min + off·s)
                    sc[r][per * blk + j] = bs[j];
                    mn[r][per * blk + j] = (double) bm[j] + off * (double) bs[j];
                    max = Math.max(max, Math.max(Math.abs(bs[j]), Math.abs(bm[j] + off * bs[j])));
                }
                for (int i = 0; i < qk; i++) {
                    u[r][qk * blk + i] = codes[i] + off;
                }
            }
        }
        int k = 14 - Math.getExponent(max);
        for (int r = r0; r < r1; r++) {
            double[] s = new double[cols / g], mm = new double[cols / g];
            for (int gi = 0; gi < s.length; gi++) {
                s[gi] = Math.scalb((double) Float.float16ToFloat(Float.floatToFloat16((float) Math.scalb(sc[r][gi], k))), -k);
                mm[gi] = Math.scalb((double) Float.float16ToFloat(Float.floatToFloat16((float) (Math.scalb(mn[r][gi], k)))), -k);
            }
            assertGroupRow(bits, g, u[r], sc[r], mn[r], s, mm, x, base, y[yOff + r], what + " row " + r);
        }
    }

    /** One row of codes u (weights sc·u − mn per group of g) against its lookup product, the kernel using scales s and minimums mm. */
    private static void assertGroupRow(int bits, int g, int[] u, double[] sc, double[] mn, double[] s, double[] mm, float[] x, int base, float got, String what) {
        double ref = 0, refQ = 0, mag = 0, bound = 0;
        for (int c0 = 0; c0 < u.length; c0 += CHUNK) {
            float max = tableMax(x, base + c0);
            float t = max / QMAX, inv = max > 0 && max < Float.POSITIVE_INFINITY ? QMAX / max : 0f;
            for (int p0 = c0; p0 < c0 + CHUNK; p0 += g) {
                int gi = p0 / g;
                long planeSum = 0;
                double sumX = 0, absX = 0, absUX = 0;
                for (int o0 = p0; o0 < p0 + g; o0 += 4) {
                    for (int bit = 0; bit < bits; bit++) {
                        int idx = 0;
                        for (int j = 0; j < 4; j++) {
                            idx |= ((u[o0 + j] >> bit) & 1) << j;
                        }
                        planeSum += (1L << bit) * entry(x, base + o0, idx, inv, QMAX / (double) max);
                    }
                }
                for (int c = p0; c < p0 + g; c++) {
                    double xc = x[base + c], w = sc[gi] * u[c] - mn[gi];
                    ref += w * xc;
                    mag += Math.abs(w * xc);
                    sumX += xc;
                    absX += Math.abs(xc);
                    absUX += u[c] * Math.abs(xc);
                }
                double half = (1 << (bits - 1)) - 0.5;
                refQ += s[gi] * ((double) t / 2 * planeSum + half * sumX) - mm[gi] * sumX;
                mag += Math.abs(s[gi]) * ((double) t / 2 * Math.abs(planeSum) + half * absX) + Math.abs(mm[gi]) * absX;
                bound += Math.abs(s[gi]) * 4.0 * ((1 << bits) - 1) * t * g / CHUNK
                        + Math.abs(sc[gi] - s[gi]) * absUX + Math.abs(mn[gi] - mm[gi]) * absX;
            }
        }
        double tol = REL * mag + bound * (1 + 1e-6) + 1e-30;
        assertTrue(Math.abs(got - ref) <= tol, what + ": got " + got + ", reference " + ref + " (bound " + bound + ")");
        assertTrue(Math.abs(got - refQ) <= REL * mag + 1e-30, what + ": got " + got + ", by the table rule " + refQ);
    }

    /** The largest Σ_j |x_{o+4a+j}| over the chunk's 16 groups of 4 at {@code x[o..]}: QMAX times its table step. */
    private static float tableMax(float[] x, int o) {
        float max = 0;
        for (int a = 0; a < 16; a++, o += 4) {
            max = Math.max(max, Math.abs(x[o]) + Math.abs(x[o + 1]) + Math.abs(x[o + 2]) + Math.abs(x[o + 3]));
        }
        return max;
    }

    /** Quantized table entry {@code idx} of the group of 4 at {@code x[o..]}: float arithmetic as the rule states it. */
    private static int entry(float[] x, int o, int idx, float inv, double invTiny) {
        boolean flip = (idx & 8) != 0; // T[idx] = −T[15 − idx]
        int low = flip ? 15 - idx : idx;
        float e = sign(low, 0) * x[o] + sign(low, 1) * x[o + 1] + sign(low, 2) * x[o + 2] - x[o + 3];
        int q = (int) Math.rint(inv == Float.POSITIVE_INFINITY ? e * invTiny : e * inv);
        return flip ? -q : q;
    }

    private static float sign(int idx, int j) {
        return ((idx >> j) & 1) != 0 ? 1f : -1f;
    }

    /** The 16-bit product kernels' input integers: {@code v ≤} this per block of 32 ({@link SplitInput}). */
    static final int BYTE_ROWS_QMAX = 1984;

    /**
     * Whether the 16-bit product kernels ({@link ByteRowKernels}) compute this matrix's products: 8-bit codes in groups of
     * 32k columns, 4-bit codes in groups of 64k, ggml Q8_0, Q6_K, Q4_K and Q4_0.
     */
    /** Whether the 2-bit kernel with byte tables ({@link LutKernels#planeRows}: entries up to 127) computes this matrix's products. */
    static boolean planeRows(WeightMatrix m) {
        return m instanceof IntGroupMatrix im && im.bits() == 2 && im.spec().groupSize() % 64 == 0 && LutKernels.NATIVE;
    }

    /**
     * Whether a mixed matrix runs as one uniform matrix per width ({@link MixedColumns}): every group column has one width,
     * and each width present has its uniform kernel (8-bit: groups of 32k; 4- and 2-bit: 64k; 2-bit: 512-bit vectors).
     */
    static boolean columnParts(WeightMatrix m) {
        if (!(m instanceof MixedGroupMatrix mm)) {
            return false;
        }
        int g = mm.spec().groupSize(), gpr = m.cols() / g;
        boolean any8 = false, narrow = false, any2 = false;
        for (int gi = 0; gi < gpr; gi++) {
            int w0 = mm.width(0, gi);
            for (int r = 1; r < m.rows(); r++) {
                if (mm.width(r, gi) != w0) {
                    return false;
                }
            }
            any8 |= w0 == 8;
            narrow |= w0 != 8;
            any2 |= w0 == 2;
        }
        return !(any8 && g % 32 != 0 || narrow && g % 64 != 0 || any2 && !LutKernels.NATIVE);
    }

    static boolean byteRows(WeightMatrix m) {
        return m instanceof IntGroupMatrix im && (im.bits() == 8 && im.spec().groupSize() % 32 == 0 || im.bits() == 4 && im.spec().groupSize() % 64 == 0)
                || m.type() == QuantType.Q8_0 || m.type() == QuantType.Q6_K || m.type() == QuantType.Q5_K || m.type() == QuantType.Q4_K || m.type() == QuantType.Q4_0
                || m.type() == QuantType.Q3_K || m.type() == QuantType.Q2_K;
    }

    /**
     * The 16-bit product rule, restated: per block of 32 inputs the step {@code d = max|x| / 1984} (float), the integers
     * {@code v = rint(x·(1984 / max))} (float product), and the row's {@code Σ ŵ·d·v}. Checked against the exact
     * product within {@code Σ |ŵ|·d/2} (each value is off by at most half a step), and against the rule within float
     * rounding of the per-block terms.
     */
    static void assertByteRowProduct(WeightMatrix m, float[] x, int base, float[] y, int yOff, int r0, int r1, String what) {
        int qmax = m.type() == QuantType.Q4_K || m.type() == QuantType.Q4_0 ? SplitInput.BYTE_QMAX
                : m.type() == QuantType.Q6_K || m.type() == QuantType.Q5_K || m.type() == QuantType.Q3_K || m.type() == QuantType.Q2_K ? SplitInput.NINE_BIT_QMAX : m.type() == QuantType.INT4 ? SplitInput.ELEVEN_BIT_QMAX : BYTE_ROWS_QMAX;
        int cols = m.cols();
        float[] w = new float[cols];
        for (int r = r0; r < r1; r++) {
            m.dequantizeRow(r, w, 0);
            double ref = 0, refQ = 0, mag = 0, bound = 0;
            for (int c0 = 0; c0 < cols; c0 += 32) {
                float max = 0;
                for (int c = c0; c < c0 + 32; c++) {
                    max = Math.max(max, Math.abs(x[base + c]));
                }
                float d = max / qmax, inv = max > 0 ? qmax / max : 0f;
                for (int c = c0; c < c0 + 32; c++) {
                    double xq = (double) d * (Float.isInfinite(inv) ? Math.rint(x[base + c] * (qmax / (double) max)) : Math.rint(x[base + c] * inv));
                    ref += (double) w[c] * x[base + c];
                    refQ += (double) w[c] * xq;
                    mag += Math.abs((double) w[c] * x[base + c]);
                    bound += Math.abs((double) w[c]) * d / 2;
                }
            }
            double got = y[yOff + r], tol = REL * mag + bound * (1 + 1e-6) + 1e-30;
            assertTrue(Math.abs(got - ref) <= tol, what + ": row " + r + ": got " + got + ", reference " + ref + " (input bound " + bound + ")");
            assertTrue(Math.abs(got - refQ) <= REL * mag + 1e-30, what + ": row " + r + ": got " + got + ", by the 16-bit rule " + refQ);
        }
    }

    /** Checks {@code y[b·rows + r]} against Σ_c ŵ[r][c]·x[b·cols + c] for n vectors (see the class comment). */
    static void assertProduct(WeightMatrix m, float[] x, float[] y, int n, String what) {
        if (byteRows(m)) {
            for (int b = 0; b < n; b++) {
                assertByteRowProduct(m, x, b * m.cols(), y, b * m.rows(), 0, m.rows(), what + ": vector " + b);
            }
            return;
        }
        if (lookup(m)) {
            assertLookupProduct((PackedMatrix) m, x, y, n, what);
            return;
        }
        float[][] w = dequantize(m);
        int rows = m.rows(), cols = m.cols();
        boolean sym = !(m instanceof PackedMatrix pm) || !pm.spec().asymmetric();
        // Outlier corrections are added with the exact input, so dequantized weights times the rounded
        // input is not what the kernel computes there; the bound against the exact product still holds.
        boolean tight = !(m instanceof MixedGroupMatrix mm && mm.counts().outliers() > 0);
        for (int b = 0; b < n; b++) {
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0, inputError = 0, refQ = 0, magQ = 0;
                for (int c = 0; c < cols; c++) {
                    double xc = x[b * cols + c], xq = xc;
                    int bits = integerBits(m, r, c);
                    if (bits != 0) {
                        int qmax = qmax(bits, sym);
                        float max = chunkMax(x, b * cols, c);
                        float step = max / qmax;
                        float inv = max > 0 ? qmax / max : 0f;
                        xq = (double) step * Math.rint(x[b * cols + c] * inv);
                        inputError += Math.abs((double) w[r][c]) * step / 2 * (1 + 1e-6);
                    }
                    ref += (double) w[r][c] * xc;
                    mag += Math.abs((double) w[r][c] * xc);
                    refQ += (double) w[r][c] * xq;
                    magQ += Math.abs((double) w[r][c] * xq);
                }
                double got = y[b * rows + r];
                double tol = REL * mag + inputError + 1e-30;
                assertTrue(Math.abs(got - ref) <= tol,
                        what + ": vector " + b + " row " + r + ": got " + got + ", reference " + ref + " (tolerance " + tol + ")");
                double tolQ = REL * magQ + 1e-30;
                assertTrue(!tight || Math.abs(got - refQ) <= tolQ,
                        what + ": vector " + b + " row " + r + ": got " + got + ", reference with the rounded input " + refQ + " (tolerance " + tolQ + ")");
            }
        }
    }
}
