package io.nashswarm.bench;

import io.nashswarm.quant.GroupCodec;
import io.nashswarm.quant.Gptq;
import io.nashswarm.quant.GroupQuantizer;
import io.nashswarm.quant.Hessian;
import io.nashswarm.quant.PairedInputs;
import io.nashswarm.quant.RowSource;
import io.nashswarm.util.Progress;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seconds GPTQ (int4, groups of 64) takes on the matrices of a Llama-3.2-1B-shaped model: per layer
 * q, k, v (2048 in, sharing one Hessian), o (2048 in), gate and up (2048 in, sharing one), down
 * (8192 in). Weights are Gaussian; each Hessian is that of synthetic calibration activations
 * {@code x = F·z + σ∘ε} (F: cols×32 factor loadings, z, ε standard normal, σ per channel), taken as its
 * exact expectation {@code 2·(F·Fᵀ + diag σ²)} rather than sampled, which would cost more than GPTQ.
 * With paired inputs (the recipes' default, {@link PairedInputs}; {@code -Dnashswarm.gptq.alpha=off} for the
 * published algorithm) each matrix first gets its targets from synthetic paired moments: that Hessian as H̃,
 * and C = H̃ less 1% of its mean diagonal on the diagonal (the quantized model's inputs carry independent
 * noise); the products cost the same for any C.
 *
 * <p>Usage: {@code GptqTiming [LAYERS]} (default 1), {@code GptqTiming sample ROWS} (see {@link #sample}),
 * {@code GptqTiming factor N…}; the search and polish as in {@link #options()}. {@code [LAYERS]} (default 1): quantizes that many layers, factorizing each
 * distinct Hessian once as {@code quantize} does, and prints the seconds per step and the total
 * extrapolated to 16 layers.
 */
public final class GptqTiming {
    private GptqTiming() {}

    record Shape(String name, int rows, int cols, String input) {}

    static final List<Shape> LAYER = List.of(
            new Shape("attn_q", 2048, 2048, "attn_in"), new Shape("attn_k", 512, 2048, "attn_in"), new Shape("attn_v", 512, 2048, "attn_in"),
            new Shape("attn_output", 2048, 2048, "attn_out"),
            new Shape("ffn_gate", 8192, 2048, "ffn_in"), new Shape("ffn_up", 8192, 2048, "ffn_in"),
            new Shape("ffn_down", 2048, 8192, "ffn_down"));

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** CPU seconds of this process so far (all threads). */
    static double cpu() {
        return OS.getProcessCpuTime() / 1e9;
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("factor")) {
            for (int i = 1; i < args.length; i++) {
                int n = Integer.parseInt(args[i]);
                Hessian h = syntheticHessian(n, n);
                long a = System.nanoTime();
                double c = cpu();
                Gptq.factor(h, options());
                System.out.printf("factor %d: %.2f s wall, %.2f s CPU%n", n, (System.nanoTime() - a) / 1e9, cpu() - c);
            }
            return;
        }
        if (args.length > 0 && args[0].equals("sample")) {
            sample(args.length > 1 ? Integer.parseInt(args[1]) : 256);
            return;
        }
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        long weightsPerLayer = LAYER.stream().mapToLong(s -> (long) s.rows() * s.cols()).sum();
        List<String> lines = new ArrayList<>();
        double factorSeconds = 0, sweepSeconds = 0, factorCpu = 0, sweepCpu = 0, targetSeconds = 0, targetCpu = 0;
        java.util.OptionalDouble alpha = PairedInputs.alpha();
        long t0 = System.nanoTime();
        try (Progress p = Progress.bar("gptq", layers * LAYER.stream().mapToLong(Shape::rows).sum(), "rows")) {
            for (int l = 0; l < layers; l++) {
                Gptq.Factor factor = null;
                PairedInputs.Moments moments = null;
                String input = null;
                for (Shape s : LAYER) {
                    if (!s.input().equals(input)) {
                        factor = null; // drop the previous factor before making the next (they can be 512 MB)
                        moments = null;
                        p.message("blk." + l + " " + s.input() + " Hessian");
                        Hessian h = syntheticHessian(s.cols(), 1000L * l + s.input().hashCode());
                        moments = alpha.isPresent() ? syntheticMoments(h) : null;
                        long a = System.nanoTime();
                        double c = cpu();
                        factor = Gptq.factor(h, options());
                        double sec = (System.nanoTime() - a) / 1e9, cs = cpu() - c;
                        factorSeconds += sec;
                        factorCpu += cs;
                        lines.add(String.format("| %d | factor %s (%d×%d) | %.2f | %.2f |", l, s.input(), s.cols(), s.cols(), sec, cs));
                        input = s.input();
                    }
                    p.message("blk." + l + " " + s.name());
                    RowSource w = gaussian(s.rows(), s.cols(), 7L * l + s.name().hashCode());
                    long a = System.nanoTime();
                    double c = cpu();
                    if (moments != null) {
                        w = moments.target(w, factor, alpha.getAsDouble());
                        double sec = (System.nanoTime() - a) / 1e9, cs = cpu() - c;
                        targetSeconds += sec;
                        targetCpu += cs;
                        lines.add(String.format("| %d | paired targets %s %d×%d | %.2f | %.2f |", l, s.name(), s.rows(), s.cols(), sec, cs));
                        a = System.nanoTime();
                        c = cpu();
                    }
                    Gptq.quantize(w, factor, GroupCodec.integer(false, GroupQuantizer.ScaleRule.MSE_SEARCH), 64, Gptq.Widths.uniform(4), p);
                    double sec = (System.nanoTime() - a) / 1e9, cs = cpu() - c;
                    sweepSeconds += sec;
                    sweepCpu += cs;
                    lines.add(String.format("| %d | GPTQ %s %d×%d | %.2f | %.2f |", l, s.name(), s.rows(), s.cols(), sec, cs));
                }
            }
        }
        double total = (System.nanoTime() - t0) / 1e9;
        System.out.println("| layer | step | wall s | CPU s |");
        System.out.println("|---:|---|---:|---:|");
        lines.forEach(System.out::println);
        System.out.printf("%nlayers run: %d (%d weights each), threads: %d%n", layers, weightsPerLayer, io.nashswarm.kernel.Parallel.threads());
        System.out.printf("factorizations: %.1f s wall, %.1f s CPU; paired targets (α %s): %.1f s wall, %.1f s CPU; GPTQ sweeps: %.1f s wall, %.1f s CPU; "
                + "wall with synthetic data: %.1f s%n", factorSeconds, factorCpu, alpha.isPresent() ? alpha.getAsDouble() : "off", targetSeconds, targetCpu,
                sweepSeconds, sweepCpu, total);
        double wall16 = (factorSeconds + targetSeconds + sweepSeconds) * 16 / layers, cpu16 = (factorCpu + targetCpu + sweepCpu) * 16 / layers;
        System.out.printf("extrapolated to 16 layers (× 16 / %d): %.0f s wall as measured; %.0f CPU s, i.e. %.0f s = %.1f min on %d otherwise idle cores%n",
                layers, wall16, cpu16, cpu16 / io.nashswarm.kernel.Parallel.threads(), cpu16 / io.nashswarm.kernel.Parallel.threads() / 60,
                io.nashswarm.kernel.Parallel.threads());
    }

    /**
     * For a machine too busy to run a whole layer: CPU seconds of one factorization per input width and
     * of the sweep over {@code rows} rows per width (the sweep is linear in rows), each printed as soon as
     * measured, then one layer and 16 layers extrapolated from them.
     */
    static void sample(int rows) {
        double[] factor = new double[2], sweep = new double[2], target = new double[2];
        int[] widths = {2048, 8192};
        java.util.OptionalDouble alpha = PairedInputs.alpha();
        for (int i = 0; i < 2; i++) {
            Hessian h = syntheticHessian(widths[i], widths[i]);
            double c = cpu();
            long a = System.nanoTime();
            Gptq.Factor f = Gptq.factor(h, options());
            factor[i] = cpu() - c;
            System.out.printf("factor %d×%d: %.2f CPU s (%.2f s wall)%n", widths[i], widths[i], factor[i], (System.nanoTime() - a) / 1e9);
            RowSource w = gaussian(rows, widths[i], i);
            if (alpha.isPresent()) {
                c = cpu();
                a = System.nanoTime();
                w = syntheticMoments(h).target(w, f, alpha.getAsDouble());
                target[i] = (cpu() - c) / rows;
                System.out.printf("paired targets %d rows × %d: %.2f CPU s (%.2f s wall), %.2f CPU ms per row%n", rows, widths[i], target[i] * rows,
                        (System.nanoTime() - a) / 1e9, 1e3 * target[i]);
            }
            h = null;
            c = cpu();
            a = System.nanoTime();
            Gptq.quantize(w, f, GroupCodec.integer(false, GroupQuantizer.ScaleRule.MSE_SEARCH), 64, Gptq.Widths.uniform(4), Progress.none());
            sweep[i] = (cpu() - c) / rows;
            System.out.printf("GPTQ sweep %d rows × %d: %.2f CPU s (%.2f s wall), %.2f CPU ms per row%n", rows, widths[i], sweep[i] * rows,
                    (System.nanoTime() - a) / 1e9, 1e3 * sweep[i]);
            System.out.flush();
        }
        long rows2048 = LAYER.stream().filter(s -> s.cols() == 2048).mapToLong(Shape::rows).sum();
        long rows8192 = LAYER.stream().filter(s -> s.cols() == 8192).mapToLong(Shape::rows).sum();
        double layer = 3 * factor[0] + factor[1] + rows2048 * (sweep[0] + target[0]) + rows8192 * (sweep[1] + target[1]);
        int threads = io.nashswarm.kernel.Parallel.threads();
        System.out.printf("one layer (3 factorizations of 2048, 1 of 8192; %d rows of 2048, %d rows of 8192), extrapolated: %.0f CPU s%n",
                rows2048, rows8192, layer);
        System.out.printf("16 layers: %.0f CPU s = %.1f min on %d otherwise idle cores (CPU s / cores; the work splits evenly by rows)%n",
                16 * layer, 16 * layer / threads / 60, threads);
    }

    /**
     * The recipes' options, with the group-parameter search named by {@code -Dgptq.search=CODEC|WEIGHTED|SWEPT}
     * (default: the recipes') so that searches can be timed against each other; polish by
     * {@code -D}{@value Gptq#POLISH_PROPERTY}.
     */
    static Gptq.Options options() {
        Gptq.Options d = Gptq.Options.defaults();
        String search = System.getProperty("gptq.search");
        return search == null ? d : new Gptq.Options(d.damp(), d.actOrder(), d.blockSize(), Gptq.ScaleSearch.valueOf(search), d.polish());
    }

    static Hessian syntheticHessian(int cols, long seed) {
        Random rnd = new Random(seed);
        int k = 32;
        double[][] f = new double[cols][k];
        double[] sigma2 = new double[cols];
        for (int c = 0; c < cols; c++) {
            for (int j = 0; j < k; j++) {
                f[c][j] = rnd.nextGaussian() * 0.3;
            }
            double s = 0.05 + Math.abs(rnd.nextGaussian());
            sigma2[c] = s * s;
        }
        double[] h = new double[cols * cols];
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = 0;
                for (int t = 0; t < k; t++) {
                    v += f[i][t] * f[j][t];
                }
                if (i == j) {
                    v += sigma2[i];
                }
                h[i * cols + j] = 2 * v;
                h[j * cols + i] = 2 * v;
            }
        }
        return new Hessian(cols, Long.MAX_VALUE, h);
    }

    /** Paired moments with H̃ = h and C = h less 1% of its mean diagonal on the diagonal (see the class comment). */
    static PairedInputs.Moments syntheticMoments(Hessian h) {
        int n = h.cols();
        double[] c = h.h().clone();
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += c[i * n + i] / n;
        }
        for (int i = 0; i < n; i++) {
            c[i * n + i] -= 0.01 * mean;
        }
        return new PairedInputs.Moments(h, c);
    }

    static RowSource gaussian(int rows, int cols, long seed) {
        return new RowSource() {
            @Override public int rows() { return rows; }
            @Override public int cols() { return cols; }
            @Override public void row(int r, float[] out) {
                Random rnd = new Random(seed * 1_000_003L + r);
                for (int c = 0; c < cols; c++) {
                    out[c] = (float) (rnd.nextGaussian() * 0.02);
                }
            }
        };
    }
}
