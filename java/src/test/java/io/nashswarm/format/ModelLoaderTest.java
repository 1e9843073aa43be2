package io.nashswarm.format;

import io.nashswarm.TestData;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ModelLoaderTest {
    @TempDir
    Path dir;

    @Test
    void formatsAreRecognisedByContentNotName() {
        Path hf = dir.resolve("hf");
        Path gguf = dir.resolve("model.bin");           // a GGUF file with a llama2.c-like name
        Path l2c = dir.resolve("model.gguf");           // a llama2.c file with a GGUF-like name
        try {
            Files.createDirectory(hf);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        HfCheckpoints.writeLlama(hf, new Random(1), SafetensorsDtype.F32, true);
        GgufModel.llama(2, true).write(gguf, io.nashswarm.tensor.QuantType.F32);
        Llama2cLoaderTest.write(l2c, 8, 12, 1, 2, 2, 5, 4, true, 3);
        assertEquals(Optional.of(ModelFormat.HUGGING_FACE), ModelFormat.detect(hf));
        assertEquals(Optional.of(ModelFormat.HUGGING_FACE), ModelFormat.detect(hf.resolve("model.safetensors")));
        assertEquals(Optional.of(ModelFormat.GGUF), ModelFormat.detect(gguf));
        assertEquals(Optional.of(ModelFormat.LLAMA2C), ModelFormat.detect(l2c));
        assertEquals(Optional.empty(), ModelFormat.detect(dir));
        try (LoadedModel a = ModelLoader.load(gguf, null); LoadedModel b = ModelLoader.load(l2c, null)) {
            assertEquals("gguf", a.format());
            assertEquals("llama2.c", b.format());
        }
    }

    @Test
    void missingPathAndEmptyDirectory() {
        Path nothing = dir.resolve("nothing");
        Fixtures.assertFormatError(nothing, "no such file or directory", () -> ModelLoader.load(nothing, null));
        Fixtures.assertFormatError(dir, "not a recognised model (expected a Hugging Face directory, a GGUF file, a llama2.c checkpoint or a packed .nsq file)",
                () -> ModelLoader.load(dir, null));
        Path empty = dir.resolve("empty.bin");
        Fixtures.writeBytes(empty, new byte[0]);
        Fixtures.assertFormatError(empty, "not a recognised model", () -> ModelLoader.load(empty, null));
    }

    @Test
    void explicitTokenizerThatDoesNotExist() {
        Path model = dir.resolve("m.bin");
        Llama2cLoaderTest.write(model, 8, 12, 1, 2, 2, 5, 4, true, 3);
        Path tok = dir.resolve("missing-tokenizer.bin");
        Fixtures.assertFormatError(tok, "no such tokenizer file or directory", () -> ModelLoader.load(model, tok));
    }

    @Test
    void llama2cTokenizerIsFoundBesideTheModel() throws Exception {
        Path model = dir.resolve("m.bin");
        Llama2cLoaderTest.write(model, 8, 12, 1, 2, 2, 5, 4, true, 3);
        assertEquals(Optional.empty(), ModelLoader.llama2cTokenizer(model));
        Files.writeString(dir.resolve("tok512.bin"), "x");
        assertEquals(Optional.of(dir.resolve("tok512.bin").toAbsolutePath()), ModelLoader.llama2cTokenizer(model));
        Files.writeString(dir.resolve("tok4096.bin"), "x");
        assertEquals(Optional.empty(), ModelLoader.llama2cTokenizer(model), "two candidates: ambiguous");
        Files.writeString(dir.resolve("tokenizer.bin"), "x");
        assertEquals(Optional.of(dir.resolve("tokenizer.bin").toAbsolutePath()), ModelLoader.llama2cTokenizer(model));
    }

    @Test
    void realAidreamsTokenizerIsTheOneBesideIt() {
        Path model = TestData.require("models/aidreams260K/aidreams260K.bin");
        assertEquals(Optional.of(model.resolveSibling("tok512.bin").toAbsolutePath()), ModelLoader.llama2cTokenizer(model));
    }

    /** Only the vocabulary size matters to the check. */
    private static io.nashswarm.tokenizer.Tokenizer tokenizerOf(int n) {
        return new io.nashswarm.tokenizer.Tokenizer() {
            public int vocabSize() { return n; }
            public int[] encode(String text) { throw new UnsupportedOperationException(); }
            public String decode(int[] ids) { throw new UnsupportedOperationException(); }
            public StreamDecoder streamDecoder() { throw new UnsupportedOperationException(); }
            public int bos() { return -1; }
            public int eos() { return -1; }
            public boolean addBos() { return false; }
            public String piece(int id) { throw new UnsupportedOperationException(); }
        };
    }

    @Test
    void tokenizerLargerThanTheModelIsRefused() {
        ModelLoader.checkVocabulary(tokenizerOf(512), "tok512.bin", 512);
        ModelLoader.checkVocabulary(tokenizerOf(50257), "gpt2", 50304);
        var e = assertThrows(io.nashswarm.EngineException.class, () -> ModelLoader.checkVocabulary(tokenizerOf(32000), "tokenizer.bin", 512));
        assertEquals("tokenizer tokenizer.bin has 32000 tokens but the model has 512", e.getMessage());
    }

    @Test
    void closingUnmapsTheWeights() {
        Path model = dir.resolve("m.bin");
        Llama2cLoaderTest.write(model, 8, 12, 1, 2, 2, 5, 4, true, 3);
        LoadedModel m = ModelLoader.load(model, null);
        var q = (io.nashswarm.tensor.F32Matrix) m.weights().matrix("blk.0.attn_q.weight");
        assertTrue(q.data().scope().isAlive());
        m.close();
        assertFalse(q.data().scope().isAlive());
    }
}
