package io.nashswarm.model;

import io.nashswarm.EngineException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from logits: greedy at temperature 0, else softmax(logits / T) restricted
 * to the top-k tokens and then to the smallest set whose probability reaches top-p.
 */
public final class Sampler {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    /**
     * @param topK 0 disables top-k; @param topP 1 disables nucleus sampling
     */
    public Sampler(float temperature, int topK, float topP, long seed) {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new EngineException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new EngineException("top-k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new EngineException("top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public static Sampler greedy() {
        return new Sampler(0f, 0, 1f, 0);
    }

    /** Whether this sampler always takes the largest logit (temperature 0), so a backend may pick it where the logits are. */
    public boolean isGreedy() {
        return temperature == 0f;
    }

    public int sample(float[] logits) {
        if (isGreedy()) {
            return argmax(logits);
        }
        int n = logits.length;
        // Candidate ids by logit, descending; only the first k matter when top-k is on.
        int k = topK == 0 ? n : Math.min(topK, n);
        int[] order = largest(logits, k);
        double max = logits[order[0]];
        double[] p = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        // Nucleus: keep the smallest prefix whose mass reaches topP.
        int keep = k;
        if (topP < 1f) {
            double acc = 0;
            for (int i = 0; i < k; i++) {
                acc += p[i] / sum;
                if (acc >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= p[i];
            if (r <= 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /**
     * The ids of the {@code k} largest logits, largest first, equal ones by id: the first k of a stable sort by {@link
     * Float#compare}, descending. Each logit and its id are one long ({@link #rank}), so the k largest are a heap of k
     * longs over one pass, then a sort of k (all n when k is n). A boxed sort of all the ids took about 10 ms a token at
     * GPT-2's 50257 logits, five times the decode step, so generate's default sampling (top-k 40) ran at a fifth of greedy's
     * speed.
     */
    static int[] largest(float[] logits, int k) {
        int n = logits.length;
        long[] keys;
        if (k >= n) {
            keys = new long[n];
            for (int i = 0; i < n; i++) {
                keys[i] = rank(logits[i], i);
            }
        } else {
            keys = new long[k]; // a min-heap: keys[0] is the smallest of the k largest so far
            for (int i = 0; i < n; i++) {
                long key = rank(logits[i], i);
                if (i < k) {
                    int c = i;
                    for (int parent; c > 0 && keys[parent = (c - 1) / 2] > key; c = parent) {
                        keys[c] = keys[parent];
                    }
                    keys[c] = key;
                } else if (key > keys[0]) {
                    int c = 0;
                    for (int child; (child = 2 * c + 1) < k; c = child) {
                        if (child + 1 < k && keys[child + 1] < keys[child]) {
                            child++;
                        }
                        if (keys[child] >= key) {
                            break;
                        }
                        keys[c] = keys[child];
                    }
                    keys[c] = key;
                }
            }
        }
        Arrays.sort(keys);
        int[] ids = new int[keys.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) (0xFFFF_FFFFL - (keys[keys.length - 1 - i] & 0xFFFF_FFFFL));
        }
        return ids;
    }

    /**
     * A long that orders as the logit does under {@link Float#compare} (its bits, negative ones' magnitude bits flipped:
     * -0 below +0, NaN above +inf), then by lower id: the logit's order in the high half, {@code 2^32 − 1 − id} in the low.
     */
    private static long rank(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        return (long) (bits ^ ((bits >> 31) & 0x7FFF_FFFF)) << 32 | (0xFFFF_FFFFL - id);
    }

    /** Index of the largest logit; the first on ties (as llama2.c's sample_argmax). */
    public static int argmax(float[] logits) {
        return argmax(logits, logits.length);
    }

    /**
     * The same over the first {@code n} logits: the largest in vectors, then the first index that holds it (a scalar scan
     * of GPT-2's 50257 logits, one dependent compare each, took 17 µs a token). With a NaN among them the scalar scan
     * decides, which skips NaNs after the first logit.
     */
    public static int argmax(float[] logits, int n) {
        int i = 0, up = F.loopBound(n);
        float max = Float.NEGATIVE_INFINITY;
        if (up > 0) {
            FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0;
            for (; i + F.length() < up; i += 2 * F.length()) {
                m0 = m0.max(FloatVector.fromArray(F, logits, i));
                m1 = m1.max(FloatVector.fromArray(F, logits, i + F.length()));
            }
            for (; i < up; i += F.length()) {
                m0 = m0.max(FloatVector.fromArray(F, logits, i));
            }
            max = m0.max(m1).reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, logits[i]);
        }
        if (!Float.isNaN(max)) {
            for (i = 0; i < up; i += F.length()) {
                VectorMask<Float> hit = FloatVector.fromArray(F, logits, i).eq(max);
                if (hit.anyTrue()) {
                    return i + hit.firstTrue();
                }
            }
            for (; i < n; i++) {
                if (logits[i] == max) {
                    return i;
                }
            }
        }
        int best = 0;
        for (i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
