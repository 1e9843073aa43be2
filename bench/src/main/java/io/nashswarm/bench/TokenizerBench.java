package io.nashswarm.bench;

import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.tokenizer.Tokenizers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Encoding all of WikiText-2's raw test split (1.29 MB) with a freshly loaded tokenizer (empty word
 * cache), per tokenizer. Data comes from -Dnashswarm.data (default ../shared/data).
 * Run: java -jar bench/target/benchmarks.jar TokenizerBench
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TokenizerBench {
    @Param({"tokenizers/gpt2", "tokenizers/llama2/tokenizer.model", "tokenizers/llama2/tokenizer.bin",
            "models/aidreams260K/tok512.bin"})
    public String tokenizer;

    private Path data;
    private String text;
    private Tokenizer fresh;

    @Setup(Level.Trial)
    public void readText() throws IOException {
        data = Path.of(System.getProperty("nashswarm.data", "../shared/data"));
        text = Files.readString(data.resolve("text/wikitext-2-raw/wiki.test.raw"));
    }

    @Setup(Level.Invocation)
    public void loadTokenizer() {
        fresh = Tokenizers.load(data.resolve(tokenizer));
    }

    @Benchmark
    public int[] encodeWikiText() {
        return fresh.encode(text);
    }
}
