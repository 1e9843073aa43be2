package io.nashswarm.fuzz;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fuzzer's fixed-seed sample in CI: 300 corrupt variants of real inputs (a smaller corpus than
 * {@code scripts/fuzz}: one packed file per storage family), each through inspect, generate and perplexity.
 * Any internal error, unnamed error, stack trace, out-of-memory, allocation over the bound or hang fails it;
 * the message lists the cases with what reproduces them.
 */
class FuzzTest {
    @TempDir
    Path dir;

    @Test
    void threeHundredCorruptInputsEndInACleanErrorOrARun() throws Exception {
        Corpus corpus = Corpus.build(dir.resolve("corpus"), true);
        List<Integer> ids = IntStream.range(0, 300).boxed().toList();
        List<Fuzz.Result> results = Fuzz.runAll(corpus, 1, dir.resolve("cases"), ids, null);
        String summary = Fuzz.summary(results, 1, "scripts/fuzz (with the sample corpus: Corpus.build(dir, true))");
        System.out.println(summary);
        assertEquals(300, results.size());
        assertTrue(results.stream().noneMatch(r -> r.outcome().failure()), summary);
        assertTrue(results.stream().anyMatch(r -> r.outcome().kind().equals(Fuzz.CLEAN_ERROR)), "some variants must be refused: " + summary);
        assertTrue(results.stream().map(Fuzz.Result::format).distinct().count() >= Math.min(8, corpus.seeds.size()), "inputs covered: " + summary);
    }
}
