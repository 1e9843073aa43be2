package io.nashswarm.cli;

import io.nashswarm.TestData;
import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.nashswarm.cli.CliErrorsTest.assertCleanError;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code quantize}: argument errors, and the whole in-memory pipeline through {@code --dry-run} (the
 * file writer belongs to another work item; nothing here depends on it).
 */
class QuantizeCommandTest {
    @TempDir
    Path dir;

    /** A tiny synthetic GGUF LLaMA (dim 64, hidden 128, no tokenizer), written fresh for each test. */
    private Path model() {
        Path p = dir.resolve("tiny.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 42, p);
        return p;
    }

    @Test
    void argumentErrorsAreOneClearLine() {
        String m = model().toString(), out = dir.resolve("o.nsq").toString();
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "int3"), "unknown recipe 'int3'", "nash-swarm", "target-bpw");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "gptq-int3-g64"), "unknown recipe 'gptq-int3-g64'", "gptq-int4");
        assertFalse(java.nio.file.Files.exists(java.nio.file.Path.of(out)), "nothing written");
        assertCleanError(CliRun.run("quantize", "-m", m, "--recipe", "int4"), "-o/--output is required", "--dry-run");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "nf4", "--asym"), "--asym does not apply", "nf4");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "nash-swarm", "--nash-split", "10/20/60"), "adding up to 100");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "nash-swarm", "--nash-split", "10-20-70"), "10/20/70");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "int4", "--outliers", "0.5%"), "--outliers applies to the mixed");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "nash-swarm", "--outliers", "lots"), "--outliers", "0.5%");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "int4", "--embed-type", "q5_k"), "--embed-type", "q5_k");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "int4", "--fallback", "bf16"), "--fallback must be f16 or f32");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "int4", "--group", "48"), "--group must be a positive multiple of 32");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", out, "--recipe", "nash-swarm", "--swarm-radius", "-1"), "--swarm-radius");
        Path nowhere = dir.resolve("no/such/dir/o.nsq");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", nowhere.toString(), "--recipe", "int4"), "does not exist");
        assertCleanError(CliRun.run("quantize", "-m", m, "-o", dir.toString(), "--recipe", "int4"), "is a directory");
        assertCleanError(CliRun.run("quantize", "-m", m, "--dry-run", "--recipe", "target-bpw", "--bpw", "1.5"),
                "not achievable", "every mixed group at 2 bits");
        Path missing = dir.resolve("calib.txt");
        assertCleanError(CliRun.run("quantize", "-m", m, "--dry-run", "--recipe", "target-bpw-calib", "--calib-file", missing.toString()),
                missing.toString(), "no such file");
        assertCleanError(CliRun.run("quantize", "-m", m, "--dry-run", "--recipe", "nash-swarm-calib", "--calib-fraction", "0"), "--calib-fraction");
        assertFalse(Files.exists(Path.of(out)), "nothing written on errors");
    }

    @Test
    void calibrationNeedsATokenizer() throws Exception {
        Path text = dir.resolve("calib.txt");
        Files.writeString(text, "one line\nanother line\n");
        assertCleanError(CliRun.run("quantize", "-m", model().toString(), "--dry-run", "--recipe", "nash-swarm-calib",
                "--calib-file", text.toString()), "no tokenizer");
    }

    @Test
    void dryRunPrintsTheSummaryAndWritesNothing() {
        Path out = dir.resolve("tiny.nsq");
        CliRun.Result r = CliRun.run("quantize", "-m", model().toString(), "-o", out.toString(), "--recipe", "nash-swarm", "--dry-run");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| tensor | role | method | shape | storage | bytes | bits/weight |"), r.out());
        assertTrue(r.out().contains("| blk.0.ffn_down.weight | matrix | nash-swarm | 64x128 | mixed g64 sym |"), r.out());
        assertTrue(r.out().contains("token_embd.weight = output.weight | embedding+head (tied) | embed-type | 256x64 | int8 g64 sym"), r.out());
        assertTrue(r.out().contains("recipe nash-swarm-10/20/70-g64: "), r.out());
        assertTrue(r.out().contains("dry run: nothing written"), r.out());
        assertFalse(Files.exists(out));
        // The target recipe reports its allocation.
        CliRun.Result t = CliRun.run("quantize", "-m", model().toString(), "--recipe", "target-bpw", "--bpw", "5", "--dry-run");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("allocation: budget"), t.out());
    }

    @Test
    void calibratedDryRunOnTheRealTinyModelStatesTheSplit() {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        TestData.require(io.nashswarm.quant.DataSplit.WIKITEXT);
        CliRun.Result r = CliRun.run("quantize", "-m", bin.toString(), "--recipe", "target-bpw-calib", "--bpw", "6.5",
                "--calib-tokens", "256", "--dry-run");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("calibration: wiki.test.raw lines 1–435 (calibration) / 436–4358 (evaluation); 256 of "), r.out());
        // ffn_down has rows of 172: stored padded to 192 with zero weights, counted, and said so.
        assertTrue(r.out().contains("| blk.0.ffn_down.weight | matrix | target-bpw-calib | 64x172 | mixed g64 sym (rows padded to 192) |"), r.out());
        assertTrue(r.out().contains("rows of 172 padded to 192 with zero weights (counted)"), r.out());
        assertTrue(r.out().contains("(5120 stored weights are zero padding of rows to a multiple of 32, counted in the bytes)"), r.out());
        assertTrue(r.out().matches("(?s).*= 6\\.\\d{4} bits/weight.*"), r.out());
    }
}
