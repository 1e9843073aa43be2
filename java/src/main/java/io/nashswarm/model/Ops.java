package io.nashswarm.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise and small reductions of the forward pass (norms, softmax, activations, head dot
 * products). They act on float[] activations with offsets, so batched rows share one buffer.
 */
final class Ops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

    private Ops() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int up = S.loopBound(n); i < up; i += S.length()) {
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** Positions per tile of the CPU cache's transposed keys ({@link #scores}): one float vector's lanes. */
    static final int KEY_TILE = S.length();

    /**
     * Attention scores of one head: {@code scores[s0 + j] = scale · q[qOff ..+ n) · k_j} for j < count, the keys
     * transposed in tiles of {@link #KEY_TILE} positions ({@code k_j[i]} at {@code kOff + (j/T)·T·n + i·T + j%T}). A
     * tile's scores are one vector of sums, each query element broadcast and multiplied into a row of the tile, four sums
     * over i mod 4 added at the end: no lane reductions (keys side by side took one reduction per score, a third of
     * attention's time). The last tile's lanes past {@code count} are computed and not stored.
     */
    static void scores(float[] q, int qOff, float[] k, int kOff, int n, int count, float scale, float[] scores, int s0) {
        int t = KEY_TILE;
        for (int j = 0; j < count; j += t) {
            int base = kOff + j * n;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int i = 0;
            for (; i + 4 <= n; i += 4) {
                int at = base + i * t;
                a0 = FloatVector.fromArray(S, k, at).fma(FloatVector.broadcast(S, q[qOff + i]), a0);
                a1 = FloatVector.fromArray(S, k, at + t).fma(FloatVector.broadcast(S, q[qOff + i + 1]), a1);
                a2 = FloatVector.fromArray(S, k, at + 2 * t).fma(FloatVector.broadcast(S, q[qOff + i + 2]), a2);
                a3 = FloatVector.fromArray(S, k, at + 3 * t).fma(FloatVector.broadcast(S, q[qOff + i + 3]), a3);
            }
            for (; i < n; i++) {
                a0 = FloatVector.fromArray(S, k, base + i * t).fma(FloatVector.broadcast(S, q[qOff + i]), a0);
            }
            storeTile(a0.add(a1).add(a2.add(a3)).mul(scale), scores, s0, j, count);
        }
    }

    /** One tile's scores into {@code scores[s0 + j ..]}, the lanes past {@code count} not stored. */
    private static void storeTile(FloatVector sum, float[] scores, int s0, int j, int count) {
        if (j + KEY_TILE <= count) {
            sum.intoArray(scores, s0 + j);
        } else {
            sum.intoArray(scores, s0 + j, S.indexInRange(j, count));
        }
    }

    /**
     * {@link #scores} over keys stored as IEEE halves ({@link #halfScaled}); the same tiles, two sums instead of four: with
     * four widenings per step C2 boxed the vectors (five times the young collections in a 448-token decode, 0.95x).
     */
    static void scores(float[] q, int qOff, short[] k, int kOff, int n, int count, float scale, float[] scores, int s0) {
        int t = KEY_TILE;
        float s = scale * HALF_RESCALE;
        for (int j = 0; j < count; j += t) {
            int base = kOff + j * n;
            FloatVector a0 = FloatVector.zero(S), a1 = a0;
            int i = 0;
            for (; i + 2 <= n; i += 2) {
                int at = base + i * t;
                a0 = halfScaled(k, at).fma(FloatVector.broadcast(S, q[qOff + i]), a0);
                a1 = halfScaled(k, at + t).fma(FloatVector.broadcast(S, q[qOff + i + 1]), a1);
            }
            for (; i < n; i++) {
                a0 = halfScaled(k, base + i * t).fma(FloatVector.broadcast(S, q[qOff + i]), a0);
            }
            storeTile(a0.add(a1).mul(s), scores, s0, j, count);
        }
    }

    /** {@link #mix} over values stored as IEEE halves ({@link #halfScaled}). */
    static void mix(float[] p, int p0, int count, short[] v, int vOff, int n, float[] out, int o) {
        int i = 0, l = S.length();
        for (; i + 2 * l <= n; i += 2 * l) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0;
            for (int j = 0, at = vOff + i; j < count; j++, at += n) {
                FloatVector w = FloatVector.broadcast(S, p[p0 + j]);
                a0 = halfScaled(v, at).fma(w, a0);
                a1 = halfScaled(v, at + l).fma(w, a1);
            }
            a0.mul(HALF_RESCALE).intoArray(out, o + i);
            a1.mul(HALF_RESCALE).intoArray(out, o + i + l);
        }
        for (; i < n; i++) {
            float a = 0f;
            for (int j = 0; j < count; j++) {
                a += p[p0 + j] * Float.float16ToFloat(v[vOff + j * n + i]);
            }
            out[o + i] = a;
        }
    }

    private static final VectorSpecies<Short> HALVES = VectorSpecies.of(short.class, VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    /** What {@link #halfScaled}'s values are multiplied by to be the halves' values: 2^112. */
    private static final float HALF_RESCALE = 0x1p112f;

    /**
     * S's length of finite IEEE halves at {@code at}, as floats 2^-112 times their values: sign-extended to ints and
     * shifted up 13 bits, a half's exponent and mantissa sit in a float's low exponent bits and its mantissa, and the mask
     * keeps the sign and clears the three bits the extension shifted in. Three operations instead of rebiasing each
     * exponent (subnormal halves come out as float subnormals, right too); the caller multiplies its sums by 2^112 once.
     * The cache refuses halves that are not finite.
     */
    private static FloatVector halfScaled(short[] h, int at) {
        IntVector x = (IntVector) ShortVector.fromArray(HALVES, h, at).castShape(INTS, 0);
        return x.lanewise(VectorOperators.LSHL, 13).and(0x8fff_ffff).reinterpretAsFloats();
    }

    /** The largest magnitude that rounds to a finite IEEE half: 65520 and above round to infinity (65504 is the largest half). */
    private static final float HALF_LIMIT = 65520f;

    /** Whether every {@code x[off ..+ n)} rounds to a finite IEEE half (|x| < 65520; NaN does not). */
    static boolean fitHalves(float[] x, int off, int n) {
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            if (!FloatVector.fromArray(S, x, off + i).abs().compare(VectorOperators.LT, HALF_LIMIT).allTrue()) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (!(Math.abs(x[off + i]) < HALF_LIMIT)) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code h[hOff ..+ n)} = {@code x[off ..+ n)} rounded to IEEE halves. A plain loop on purpose: C2 turns it into
     * vector conversions (vcvtps2ph), 0.14 ns a value here against 0.5 for the same loop with a range check inside.
     */
    static void toHalves(float[] x, int off, short[] h, int hOff, int n) {
        for (int i = 0; i < n; i++) {
            h[hOff + i] = Float.floatToFloat16(x[off + i]);
        }
    }


    /**
     * One head's attention output: {@code out[o ..+ n) = Σ_j p[p0 + j] · v[vOff + j·n ..+ n)} for j < count, the values
     * side by side. The sums stay in registers, four vectors at a time, over all positions (an {@link #axpy} per
     * position loads and stores them each time); each lane adds its terms in the same order as axpy does.
     */
    static void mix(float[] p, int p0, int count, float[] v, int vOff, int n, float[] out, int o) {
        int i = 0, l = S.length();
        for (; i + 4 * l <= n; i += 4 * l) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0, at = vOff + i; j < count; j++, at += n) {
                FloatVector w = FloatVector.broadcast(S, p[p0 + j]);
                a0 = FloatVector.fromArray(S, v, at).fma(w, a0);
                a1 = FloatVector.fromArray(S, v, at + l).fma(w, a1);
                a2 = FloatVector.fromArray(S, v, at + 2 * l).fma(w, a2);
                a3 = FloatVector.fromArray(S, v, at + 3 * l).fma(w, a3);
            }
            a0.intoArray(out, o + i);
            a1.intoArray(out, o + i + l);
            a2.intoArray(out, o + i + 2 * l);
            a3.intoArray(out, o + i + 3 * l);
        }
        for (; i + l <= n; i += l) {
            FloatVector a0 = FloatVector.zero(S);
            for (int j = 0, at = vOff + i; j < count; j++, at += n) {
                a0 = FloatVector.fromArray(S, v, at).fma(FloatVector.broadcast(S, p[p0 + j]), a0);
            }
            a0.intoArray(out, o + i);
        }
        for (; i < n; i++) {
            float a = 0f;
            for (int j = 0; j < count; j++) {
                a += p[p0 + j] * v[vOff + j * n + i];
            }
            out[o + i] = a;
        }
    }

    /** y[yOff..] += a · x[xOff..] */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, a);
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** y += x, element-wise over n. */
    static void add(float[] y, int yOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, y, yOff + i).add(FloatVector.fromArray(S, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /** RMSNorm as LLaMA (and llama2.c) define it: o = w · x / sqrt(mean(x²) + eps). */
    static void rmsnorm(float[] out, int oOff, float[] x, int xOff, float[] w, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n) / n + eps;
        float inv = (float) (1.0 / Math.sqrt(ss));
        for (int i = 0; i < n; i++) {
            out[oOff + i] = w[i] * (inv * x[xOff + i]);
        }
    }

    /**
     * LayerNorm (GPT-2): o = (x − mean) / sqrt(var + eps) · w + b, variance without Bessel correction. Two passes in vectors
     * (the mean, then the squares of the differences from it, which keeps the variance free of cancellation); the scalar
     * double sums before took 1.7 µs per 768 values, a chain of dependent adds, 3% of a GPT-2 124M token.
     */
    static void layernorm(float[] out, int oOff, float[] x, int xOff, float[] w, float[] b, int n, float eps) {
        int i = 0, up = S.loopBound(n);
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        for (; i + S.length() < up; i += 2 * S.length()) {
            a0 = a0.add(FloatVector.fromArray(S, x, xOff + i));
            a1 = a1.add(FloatVector.fromArray(S, x, xOff + i + S.length()));
        }
        for (; i < up; i += S.length()) {
            a0 = a0.add(FloatVector.fromArray(S, x, xOff + i));
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += x[xOff + i];
        }
        float m = sum / n;
        FloatVector mv = FloatVector.broadcast(S, m);
        a0 = FloatVector.zero(S);
        a1 = a0;
        for (i = 0; i + S.length() < up; i += 2 * S.length()) {
            FloatVector d0 = FloatVector.fromArray(S, x, xOff + i).sub(mv), d1 = FloatVector.fromArray(S, x, xOff + i + S.length()).sub(mv);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
        }
        for (; i < up; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, x, xOff + i).sub(mv);
            a0 = d.fma(d, a0);
        }
        float var = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = x[xOff + i] - m;
            var += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(var / n + eps));
        FloatVector iv = FloatVector.broadcast(S, inv);
        for (i = 0; i < up; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).sub(mv).mul(iv).fma(FloatVector.fromArray(S, w, i), FloatVector.fromArray(S, b, i))
                    .intoArray(out, oOff + i);
        }
        for (; i < n; i++) {
            out[oOff + i] = (x[xOff + i] - m) * inv * w[i] + b[i];
        }
    }

    /** In-place softmax over x[off..off+n). */
    static void softmax(float[] x, int off, int n) {
        // In vectors (the Vector API's EXP, SVML on x86): the scalar Math.exp took a third of attention's time at 256
        // positions (about 5.6 ns per score, against scores and mix from memory at 3-4 ns).
        int i = 0, up = S.loopBound(n);
        float max = Float.NEGATIVE_INFINITY;
        if (up > 0) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < up; i += S.length()) {
                m = m.max(FloatVector.fromArray(S, x, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector acc = FloatVector.zero(S);
        for (i = 0; i < up; i += S.length()) {
            FloatVector e = FloatVector.fromArray(S, x, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (i = 0; i < up; i += S.length()) {
            FloatVector.fromArray(S, x, off + i).mul(inv).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /**
     * GPT-2's tanh approximation of GELU, in place. In vectors (the Vector API's TANH, SVML on x86), with the scalar
     * loop's operations in its order: a decode step of llama-1b spent 3% of its time in the scalar SwiGLU below.
     */
    static void geluTanh(float[] x, int off, int n) {
        int i = off;
        for (int up = off + S.loopBound(n); i < up; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            FloatVector t = v.mul(0.044715f).mul(v).mul(v).add(v).mul(SQRT_2_OVER_PI).lanewise(VectorOperators.TANH);
            v.mul(0.5f).mul(t.add(1f)).intoArray(x, i);
        }
        for (; i < off + n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1f + (float) Math.tanh(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v)));
        }
    }

    /** SwiGLU: g = silu(g) · u, in place in g; in vectors as {@link #geluTanh}. */
    static void swiglu(float[] g, float[] u, int off, int n) {
        int i = off;
        for (int up = off + S.loopBound(n); i < up; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, g, i);
            v.div(v.neg().lanewise(VectorOperators.EXP).add(1f)).mul(FloatVector.fromArray(S, u, i)).intoArray(g, i);
        }
        for (; i < off + n; i++) {
            float v = g[i];
            g[i] = v / (1f + (float) Math.exp(-v)) * u[i];
        }
    }

    /** Adds bias b (length n) to each of the {@code rows} rows of x (row stride n). */
    static void addBias(float[] x, float[] b, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            add(x, r * n, b, 0, n);
        }
    }

    /**
     * Rotates each of the {@code heads} heads of the row at {@code off} for position {@code pos}, with
     * cos/sin tables laid out [pos][headSize/2]. INTERLEAVED rotates (2j, 2j+1); ROTATE_HALF rotates
     * (j, j+half). The style only sets where a pair's second element sits, so it is decided once.
     */
    static void rope(float[] v, int off, int heads, int hs, int pos, RopeStyle style, float[] cos, float[] sin) {
        int half = hs / 2;
        int t = pos * half;
        boolean interleaved = style == RopeStyle.INTERLEAVED;
        int step = interleaved ? 2 : 1, partner = interleaved ? 1 : half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * hs;
            for (int j = 0; j < half; j++) {
                int a = base + step * j, c = a + partner;
                float cs = cos[t + j], sn = sin[t + j];
                float v0 = v[a], v1 = v[c];
                v[a] = v0 * cs - v1 * sn;
                v[c] = v0 * sn + v1 * cs;
            }
        }
    }
}
