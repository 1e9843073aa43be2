package io.nashswarm.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The 16-bit kernels' input: each value's integer, its split into halves, the block sums and the pairs, restated in scalar code. */
class SplitInputTest {
    /** Trial t's input: Gaussian over 80 binades, every fourth with a zero block, a constant one, ±MAX_VALUE and a tiny one. */
    private static float[] input(Random rnd, int trial, int off, int cols) {
        float[] x = new float[off + cols];
        double scale = Math.pow(10, rnd.nextInt(80) - 40);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        if (trial % 4 == 1) {
            java.util.Arrays.fill(x, off, off + 32, 0f);
            java.util.Arrays.fill(x, off + 32, off + 64, -3.5f);
            x[off + 64] = Float.MAX_VALUE;
            x[off + 65] = -Float.MAX_VALUE;
            for (int i = off + 96; i < off + 128; i++) {
                x[i] = Float.MIN_VALUE * (i % 7 - 3);
            }
        }
        return x;
    }

    /**
     * Block {@code blk}'s step and integers against {@code rint(x·qmax/max)} clamped to ±qmax (the kernel rounds x·inv in
     * float: at most one off where x·(qmax/max) is within float rounding of a half); returns the integers' sum.
     */
    private static int checkBlock(float[] x, int off, int blk, int qmax, float d, java.util.function.IntUnaryOperator got, String what) {
        float max = 0;
        for (int j = 0; j < 32; j++) {
            max = Math.max(max, Math.abs(x[off + 32 * blk + j]));
        }
        assertEquals(max / qmax, d, what + ": step of block " + blk);
        int total = 0;
        for (int j = 0; j < 32; j++) {
            int c = 32 * blk + j;
            double exact = max > 0 ? x[off + c] * (qmax / (double) max) : 0;
            int want = (int) Math.max(-qmax, Math.min(qmax, Math.rint(exact)));
            int v = got.applyAsInt(c);
            assertTrue(Math.abs(v) <= qmax, what + " column " + c + ": " + v + " beyond ±" + qmax);
            assertTrue(Math.abs(v - want) <= (Math.abs(Math.abs(exact - Math.floor(exact)) - 0.5) < 1e-4 ? 1 : 0),
                    what + " column " + c + ": " + v + " for " + exact);
            total += v;
        }
        return total;
    }

    @Test
    void integersSplitIntoHalvesWithinThirtyOne() {
        Random rnd = new Random(3);
        int cols = 256, off = 5;
        for (int trial = 0; trial < 40; trial++) {
            float[] x = input(rnd, trial, off, cols);
            SplitInput a = SplitInput.of(x, off, cols, true);
            for (int blk = 0; blk < cols / 32; blk++) {
                int total = checkBlock(x, off, blk, SplitInput.QMAX, a.d[blk], c -> SplitInput.SPLIT * a.hi[c] + a.lo[c], "trial " + trial);
                for (int c = 32 * blk; c < 32 * blk + 32; c++) {
                    assertTrue(Math.abs(a.hi[c]) <= 31 && Math.abs(a.lo[c]) <= 31, "halves " + a.hi[c] + ", " + a.lo[c]);
                }
                assertEquals(total, a.sum[blk], "sum of block " + blk);
            }
            for (int p = 0; p < cols / 2; p++) {
                assertEquals(a.hi[2 * p] & 0xFFFF | a.hi[2 * p + 1] << 16, a.hiPairs[p], "hi pair " + p);
                assertEquals(a.lo[2 * p] & 0xFFFF | a.lo[2 * p + 1] << 16, a.loPairs[p], "lo pair " + p);
            }
        }
        assertNull(SplitInput.of(new float[64], 0, 64).hiPairs, "pairs only when asked");
    }

    /** Q4_K's 8-bit input: the integers themselves, within ±127, with their block sums. */
    @Test
    void bytesAreRoundedPerBlockWithin127() {
        Random rnd = new Random(4);
        int cols = 256, off = 3;
        for (int trial = 0; trial < 40; trial++) {
            float[] x = input(rnd, trial, off, cols);
            SplitInput a = SplitInput.ofBytes(x, off, cols);
            assertNull(a.lo, "no low halves");
            for (int blk = 0; blk < cols / 32; blk++) {
                int total = checkBlock(x, off, blk, SplitInput.BYTE_QMAX, a.d[blk], c -> a.hi[c], "bytes, trial " + trial);
                assertEquals(total, a.sum[blk], "sum of block " + blk);
            }
            int terms = SplitInput.BYTE_TERMS;
            assertEquals(terms, a.quadStride);
            for (int s = 0; s < cols / 4; s++) { // the 4-bit kernels' broadcast pairs: low nibbles' columns, then high nibbles'
                int q = s / 8 * terms + 2 * (s % 8);
                assertEquals(a.hi[4 * s] & 0xFFFF | a.hi[4 * s + 2] << 16, a.quadTerms[q], "whole-byte pair of step " + s);
                assertEquals((a.hi[4 * s + 1] - 16 * a.hi[4 * s]) & 0xFFFF | (a.hi[4 * s + 3] - 16 * a.hi[4 * s + 2]) << 16, a.quadTerms[q + 1],
                        "high-nibble pair of step " + s);
            }
            for (int blk = 0; blk < cols / 32; blk++) { // after the block's 16 pairs: its step's bits and its sum
                assertEquals(Float.floatToRawIntBits(a.d[blk]), a.quadTerms[blk * terms + 16], "step of block " + blk);
                assertEquals(a.sum[blk], a.quadTerms[blk * terms + 17], "sum of block " + blk);
            }
        }
        assertNull(SplitInput.ofNineBits(new float[64], 0, 64).quadTerms, "quad terms only for the 4-bit kernels");
        assertEquals(SplitInput.ELEVEN_TERMS, SplitInput.ofElevenBits(new float[64], 0, 64).quadStride, "int4's 11-bit input has its corrections");
    }

    /** 9-bit inputs for the field tests: random, ±255 at random, all 255 or all −255, or −255, 0 and 255 (by trial). */
    private static short[] extremeInputs(Random rnd, int trial, int n) {
        short[] v = new short[n];
        for (int k = 0; k < n; k++) {
            v[k] = (short) switch (trial % 4) {
                case 0 -> rnd.nextInt(511) - 255;
                case 1 -> rnd.nextBoolean() ? 255 : -255;
                case 2 -> trial % 8 == 2 ? 255 : -255;
                default -> rnd.nextInt(3) * 255 - 255;
            };
        }
        return v;
    }

    /** Codes 0..max for the field tests: random, 0 or max at random, or the extreme that meets each input's sign (by trial). */
    private static byte[] extremeCodes(Random rnd, int trial, short[] v, int max) {
        byte[] u = new byte[v.length];
        for (int k = 0; k < u.length; k++) {
            u[k] = (byte) switch (trial % 3) {
                case 0 -> rnd.nextInt(max + 1);
                case 1 -> rnd.nextBoolean() ? 0 : max;
                default -> (v[k] > 0) == (trial % 2 == 0) ? max : 0;
            };
        }
        return u;
    }

    /**
     * Q6_K's terms ({@link SplitInput#sixTerms}) against its words ({@link ByteRows#sixFields}), as the kernel uses them:
     * per word, bias + field·m0 + Σ (field >>> p_k)·m_k in 16-bit arithmetic, the low field read unsigned less 2^15, the
     * high one signed, sum over the three words to {@code Σ (u − 32)·v} exactly, for random and extreme codes and inputs.
     */
    @Test
    void sixBitTermsGiveExactSubBlockSums() {
        Random rnd = new Random(11);
        int[][] shifts = {{0, 6, 12}, {0, 6, 12}, {0, 6, 12, 14}};
        for (int trial = 0; trial < 2000; trial++) {
            short[] v = extremeInputs(rnd, trial, 16);
            byte[] u = extremeCodes(rnd, trial, v, 63);
            int[] t = new int[SplitInput.SIX_TERMS];
            SplitInput.sixTerms(v, 0, t, 0);
            short[] f = new short[6];
            ByteRows.sixFields(u, 0, f);
            long want = 0, got = 0;
            for (int k = 0; k < 16; k++) {
                want += (long) (u[k] - 32) * v[k];
                assertEquals(u[k], ByteRows.sixCode(f, k), "field layout round trip, code " + k);
            }
            for (int w = 0, x = 0; w < 3; x += shifts[w].length + 1, w++) {
                for (int half = 0; half < 2; half++) {
                    int field = f[2 * w + half] & 0xFFFF, sum = t[x] >> 16 * half;
                    for (int k = 0; k < shifts[w].length; k++) {
                        sum += (field >>> shifts[w][k]) * (t[x + 1 + k] >> 16 * half);
                    }
                    got += half == 0 ? (sum & 0xFFFF) - (1 << 15) : (short) sum;
                }
            }
            assertEquals(want, got, "sub-block sum, trial " + trial);
        }
    }

    /**
     * Q5_K's terms ({@link SplitInput#fiveTerms}) against its fields ({@link ByteRows#fiveFields}), as the kernel uses them:
     * 2^15 in the low half + Σ over the five words of field·m0 + Σ (field >>> 5k)·m_k in 16-bit arithmetic, each half read
     * (the low one less its 2^15), gives the sub-block's {@code Σ u·v} exactly, for random and extreme codes and inputs.
     */
    @Test
    void fiveBitTermsGiveExactSubBlockSums() {
        Random rnd = new Random(17);
        for (int trial = 0; trial < 2000; trial++) {
            short[] v = extremeInputs(rnd, trial, 32);
            byte[] u = extremeCodes(rnd, trial, v, 31);
            int[] t = new int[SplitInput.FIVE_TERMS];
            SplitInput.fiveTerms(v, 0, t, 0);
            long want = 0, got = 0;
            for (int half = 0; half < 2; half++) {
                short[] f = new short[5];
                ByteRows.fiveFields(u, 16 * half, f);
                for (int k = 0; k < 16; k++) {
                    want += (long) u[16 * half + k] * v[16 * half + k];
                    assertEquals(u[16 * half + k], ByteRows.fiveCode(f, k), "field layout round trip, code " + k);
                }
                for (int w = 0; w < 5; w++) {
                    int field = f[w] & 0xFFFF, sum = half == 0 ? 1 << 15 : 0;
                    for (int k = 0; k < 4; k++) {
                        sum += (field >>> 5 * k) * (t[4 * w + k] >> 16 * half);
                    }
                    int end = sum & 0xFFFF, at = 16 * half;
                    long share = (long) u[at + 3 * w] * v[at + 3 * w] + (long) u[at + 3 * w + 1] * v[at + 3 * w + 1]
                            + (long) u[at + 3 * w + 2] * v[at + 3 * w + 2] + (long) ((u[at + 15] >> w & 1) << w) * v[at + 15];
                    // what the kernel reads back: the low field less its bias (it must end non-negative), the high one signed
                    int read = half == 0 ? end - (1 << 15) : (short) end;
                    assertEquals(share, read, "word " + w + " half " + half + " within 16 bits, trial " + trial);
                    got += read;
                }
            }
            assertEquals(want, got, "sub-block sum, trial " + trial);
        }
    }

    /**
     * Q3_K's terms ({@link SplitInput#threeTerms}) against its fields ({@link ByteRows#threeFields}), as the kernel uses
     * them: bias + Σ over the three words of field·m0 + Σ (field >>> 3k)·m_k in 16-bit arithmetic, each half read signed,
     * gives its sub-block's {@code Σ (u − 4)·v} exactly, for random and extreme codes and inputs.
     */
    @Test
    void threeBitTermsGiveExactSubBlockSums() {
        Random rnd = new Random(13);
        for (int trial = 0; trial < 2000; trial++) {
            short[] v = extremeInputs(rnd, trial, 32);
            byte[] u = extremeCodes(rnd, trial, v, 7);
            int[] t = new int[SplitInput.THREE_TERMS];
            SplitInput.threeTerms(v, 0, t, 0);
            for (int half = 0; half < 2; half++) {
                short[] f = new short[3];
                ByteRows.threeFields(u, 16 * half, f);
                long want = 0;
                for (int k = 0; k < 16; k++) {
                    want += (long) (u[16 * half + k] - 4) * v[16 * half + k];
                    assertEquals(u[16 * half + k], ByteRows.threeCode(f, k), "field layout round trip, code " + k);
                }
                int sum = t[0] >> 16 * half;
                for (int w = 0; w < 3; w++) {
                    int field = f[w] & 0xFFFF;
                    for (int k = 0; k < 6; k++) {
                        sum += (field >>> 3 * k) * (t[1 + 6 * w + k] >> 16 * half);
                    }
                }
                assertEquals(want, (short) sum, "sub-block " + half + " sum, trial " + trial);
            }
        }
    }

    /**
     * Q2_K's terms ({@link SplitInput#twoTerms}) against its fields ({@link ByteRows#twoFields}), as the kernel uses them:
     * Σ over the two words of field·m0 + Σ (field >>> 2j)·m_j in 16-bit arithmetic, each half read signed, gives its
     * sub-block's {@code Σ u·v} exactly, and the last term the sub-blocks' {@code Σ v}, for random and extreme inputs.
     */
    @Test
    void twoBitTermsGiveExactSubBlockSums() {
        Random rnd = new Random(17);
        for (int trial = 0; trial < 2000; trial++) {
            short[] v = extremeInputs(rnd, trial, 32);
            byte[] u = extremeCodes(rnd, trial, v, 3);
            int[] t = new int[SplitInput.TWO_TERMS];
            SplitInput.twoTerms(v, 0, t, 0);
            for (int half = 0; half < 2; half++) {
                short[] f = new short[2];
                ByteRows.twoFields(u, 16 * half, f);
                long want = 0, sumV = 0;
                for (int k = 0; k < 16; k++) {
                    want += (long) u[16 * half + k] * v[16 * half + k];
                    sumV += v[16 * half + k];
                }
                int sum = 0;
                for (int w = 0; w < 2; w++) {
                    int field = f[w] & 0xFFFF;
                    for (int j = 0; j < 8; j++) {
                        assertEquals(u[16 * half + 8 * w + j], field >> 2 * j & 3, "field layout, code " + (8 * w + j));
                        sum += (field >>> 2 * j) * (t[8 * w + j] >> 16 * half);
                    }
                }
                assertEquals(want, (short) sum, "sub-block " + half + " sum, trial " + trial);
                assertEquals(sumV, (short) (t[16] >> 16 * half), "sub-block " + half + " input sum, trial " + trial);
            }
        }
    }

    /** int4's 11-bit input with its quads and its per-eight-column corrections; Q6_K's 9-bit input with its terms. */
    @Test
    void elevenAndNineBitInputsCarryTheirCorrections() {
        Random rnd = new Random(5);
        int cols = 256, off = 1;
        for (int trial = 0; trial < 40; trial++) {
            float[] x = input(rnd, trial, off, cols);
            SplitInput e = SplitInput.ofElevenBits(x, off, cols), n = SplitInput.ofNineBits(x, off, cols);
            for (int blk = 0; blk < cols / 32; blk++) {
                assertEquals(checkBlock(x, off, blk, SplitInput.ELEVEN_BIT_QMAX, e.d[blk], c -> e.hi[c], "eleven, trial " + trial), e.sum[blk]);
                checkBlock(x, off, blk, SplitInput.NINE_BIT_QMAX, n.d[blk], c -> n.hi[c], "nine, trial " + trial);
            }
            short[] v = e.hi, u = n.hi;
            int[] et = e.quadTerms;
            int terms = SplitInput.ELEVEN_TERMS;
            for (int s = 0; s < cols / 4; s++) { // per block of 32 columns: 16 quads, 4 corrections, the step's bits, the sum
                int q = s / 8 * terms + 2 * (s % 8);
                assertEquals(v[4 * s] & 0xFFFF | v[4 * s + 2] << 16, et[q], "whole-byte pair of step " + s);
                assertEquals((v[4 * s + 1] - 16 * v[4 * s]) & 0xFFFF | (v[4 * s + 3] - 16 * v[4 * s + 2]) << 16, et[q + 1], "high pair " + s);
            }
            for (int blk = 0; blk < cols / 32; blk++) {
                assertEquals(Float.floatToRawIntBits(e.d[blk]), et[blk * terms + 20], "step of block " + blk);
                assertEquals(e.sum[blk], et[blk * terms + 21], "sum of block " + blk);
            }
            for (int s = 0; s < cols / 16; s++) {
                int[] t = new int[SplitInput.SIX_TERMS];
                SplitInput.sixTerms(u, 16 * s, t, 0);
                t[SplitInput.SIX_STEP] = Float.floatToRawIntBits(n.d[s / 2]); // after the terms, the input block's step
                assertArrayEquals(t, java.util.Arrays.copyOfRange(n.sixTerms, s * t.length, (s + 1) * t.length), "Q6_K terms of sub-block " + s);
            }
            for (int t = 0; t < cols / 8; t++) {
                int lo = -8 * (v[8 * t] + v[8 * t + 1] + v[8 * t + 4] + v[8 * t + 5]), hi = -8 * (v[8 * t + 2] + v[8 * t + 3] + v[8 * t + 6] + v[8 * t + 7]);
                assertEquals((lo + (1 << 15)) & 0xFFFF | hi << 16, et[t / 4 * terms + 16 + t % 4], "int4 correction of columns " + 8 * t);
            }
        }
    }

    /** An input quantized into another's arrays (decode reuses a thread's last input) equals one quantized afresh. */
    @Test
    void reusedArraysHoldNothingOfTheLastInput() {
        Random rnd = new Random(11);
        int cols = 256;
        for (int trial = 0; trial < 8; trial++) {
            float[] a = input(rnd, trial, 0, cols), b = input(rnd, trial + 1, 0, cols);
            SplitInput[][] pairs = {
                    {SplitInput.of(b, 0, cols, true), SplitInput.of(b, 0, cols, true, SplitInput.of(a, 0, cols, true))},
                    {SplitInput.ofBytes(b, 0, cols), SplitInput.ofBytes(b, 0, cols, SplitInput.ofBytes(a, 0, cols))},
                    {SplitInput.ofNineBits(b, 0, cols), SplitInput.ofNineBits(b, 0, cols, SplitInput.ofNineBits(a, 0, cols))},
                    {SplitInput.ofElevenBits(b, 0, cols), SplitInput.ofElevenBits(b, 0, cols, SplitInput.ofElevenBits(a, 0, cols))},
                    // a different shape is not reused
                    {SplitInput.ofBytes(b, 0, cols), SplitInput.ofBytes(b, 0, cols, SplitInput.ofBytes(a, 0, cols / 2))},
            };
            for (SplitInput[] p : pairs) {
                SplitInput fresh = p[0], reused = p[1];
                assertArrayEquals(fresh.hi, reused.hi);
                assertArrayEquals(fresh.lo, reused.lo);
                assertArrayEquals(fresh.d, reused.d);
                assertArrayEquals(fresh.sum, reused.sum);
                assertArrayEquals(fresh.hiPairs, reused.hiPairs);
                assertArrayEquals(fresh.loPairs, reused.loPairs);
                assertArrayEquals(fresh.quadTerms, reused.quadTerms);
                assertArrayEquals(fresh.sixTerms, reused.sixTerms);
            }
        }
    }
}
