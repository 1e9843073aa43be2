package io.nashswarm.hub;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileSelectionTest {
    private static List<RepoFile> repo(String... paths) {
        return Arrays.stream(paths).map(p -> new RepoFile(p, 1000L + p.length(), null)).toList();
    }

    private static List<String> paths(FileSelection s) {
        return s.files().stream().map(RepoFile::path).toList();
    }

    @Test
    void byDefaultTakesConfigTokenizerAndSafetensorsAtTheTopLevel() {
        List<RepoFile> llama = repo(".gitattributes", "README.md", "LICENSE", "config.json",
                "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json",
                "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                "original/consolidated.00.pth", "original/params.json", "onnx/model.safetensors");
        FileSelection s = FileSelection.choose("meta/llama", llama, List.of());
        assertEquals(List.of("config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors", "model.safetensors.index.json", "special_tokens_map.json",
                "tokenizer.json", "tokenizer.model", "tokenizer_config.json"), paths(s));
        assertEquals(1, s.notes().size());
        assertTrue(s.notes().getFirst().contains("pytorch_model-00001-of-00002.bin")
                && s.notes().getFirst().contains("original/consolidated.00.pth"), s.notes().toString());
    }

    @Test
    void gpt2StyleVocabAndMergesAreTaken() {
        FileSelection s = FileSelection.choose("gpt2", repo("config.json", "merges.txt", "vocab.json",
                "model.safetensors", "tf_model.h5", "flax_model.msgpack", "64-8bits.tflite"), List.of());
        assertEquals(List.of("config.json", "merges.txt", "vocab.json", "model.safetensors"), paths(s));
        assertTrue(s.notes().isEmpty());
    }

    @Test
    void mistralsConsolidatedCopyIsSkippedNextToTheShards() {
        FileSelection s = FileSelection.choose("mistral", repo("config.json", "consolidated.safetensors",
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"), List.of());
        assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"), paths(s));
        assertTrue(s.notes().getFirst().contains("consolidated.safetensors"));
    }

    @Test
    void aGgufRepositoryAsksForAnInclude() {
        EngineException e = assertThrows(EngineException.class, () -> FileSelection.choose("x/y-GGUF",
                repo("README.md", "y.Q4_0.gguf", "y.Q8_0.gguf"), List.of()));
        assertTrue(e.getMessage().contains("x/y-GGUF has no safetensors weights but 2 GGUF file(s)"), e.getMessage());
        assertTrue(e.getMessage().contains("y.Q4_0.gguf") && e.getMessage().contains("--include"), e.getMessage());
    }

    @Test
    void aPickleOnlyRepositoryIsRefusedWithAReason() {
        EngineException e = assertThrows(EngineException.class, () -> FileSelection.choose("old/bert",
                repo("config.json", "pytorch_model.bin", "vocab.json"), List.of()));
        assertTrue(e.getMessage().contains("only PyTorch pickle weights (pytorch_model.bin"), e.getMessage());
    }

    @Test
    void includeReplacesTheDefaultButStillDropsPicklesNextToSafetensors() {
        List<RepoFile> all = repo("config.json", "model.safetensors", "pytorch_model.bin", "README.md");
        FileSelection s = FileSelection.choose("r", all, List.of("*"));
        assertEquals(List.of("config.json", "model.safetensors", "README.md"), paths(s));
        assertTrue(s.notes().getFirst().contains("pytorch_model.bin"));
    }

    @Test
    void includeCanTakeFilesTheDefaultNeverWould() {
        List<RepoFile> all = repo("stories15M.bin", "stories15M.pt", "tok512.bin", "config.json");
        assertEquals(List.of("stories15M.bin", "tok512.bin"), paths(FileSelection.choose("karpathy/tinyllamas",
                all, List.of("*.bin"))));
        assertEquals(List.of("stories15M.pt"), paths(FileSelection.choose("karpathy/tinyllamas",
                all, List.of("*.pt"))), "a pickle asked for by name, with no safetensors beside it, is taken");
    }

    @Test
    void anIncludeThatMatchesNothingListsWhatIsThere() {
        EngineException e = assertThrows(EngineException.class, () -> FileSelection.choose("r",
                repo("a.Q4_0.gguf", "config.json"), List.of("*q4_k_m*")));
        assertTrue(e.getMessage().contains("no file of r matches --include '*q4_k_m*'"), e.getMessage());
        assertTrue(e.getMessage().contains("a.Q4_0.gguf"), e.getMessage());
    }

    @Test
    void sizesAreWrittenForPeople() {
        assertEquals("1023 B", Sizes.human(1023));
        assertEquals("1.00 KiB", Sizes.human(1024));
        assertEquals("1.50 MiB", Sizes.human(3 << 19));
        assertEquals("4.40 GiB", Sizes.human(4_724_464_026L));
    }
}
