package io.nashswarm.cli;

import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.nashswarm.cli.CliErrorsTest.assertCleanError;
import static org.junit.jupiter.api.Assertions.*;

/** {@code distortion-study} end to end on a tiny synthetic LLaMA (no tokenizer: calibration and held-out text sampled from it). */
class DistortionStudyCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesEveryColumnAndBothPlots() throws Exception {
        Path m = dir.resolve("tiny.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 42, m);
        Path out = dir.resolve("study");
        CliRun.Result r = CliRun.run("distortion-study", "-m", m.toString(), "--methods", "int8-g64,int2-g64,gptq-int2-g64",
                "--calib-tokens", "512", "--eval-tokens", "256", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out.resolve("distortion-study.md"));
        assertTrue(md.contains("| method | bits/weight | weight MSE | layer output MSE | logits MSE | KLD vs FP32 | top-1 agree |"), md);
        assertTrue(md.contains("| across methods, model: weight MSE vs held-out logits MSE | 3 |"), md);
        assertTrue(md.contains("| all methods × all matrices | 42 |"), md); // 3 methods × 2 layers × 7 body matrices
        assertTrue(md.contains("| gptq-int2-g64 | blk.0.ffn_down.weight |"), md);
        for (String f : new String[] {"distortion-scatter.png", "distortion-scatter.svg", "distortion-methods.png", "distortion-methods.svg"}) {
            assertTrue(Files.size(out.resolve(f)) > 1000, f);
        }
        Path none = dir.resolve("none");
        assertCleanError(CliRun.run("distortion-study", "-m", m.toString(), "--methods", "gptq-int3-g64", "--out", none.toString()),
                "unknown recipe 'gptq-int3-g64'");
        assertCleanError(CliRun.run("distortion-study", "-m", m.toString(), "--methods", "gptq-int4-g64", "--calib-tokens", "64", "--out",
                none.toString()), "rank-deficient");
        assertFalse(Files.exists(none), "nothing written on errors");
    }
}
