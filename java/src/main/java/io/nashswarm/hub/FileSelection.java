package io.nashswarm.hub;

import io.nashswarm.EngineException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Which files of a repository to download. By default the ones the engine reads, at the top of the
 * repository: the HF config and tokenizer files and the safetensors weights. {@code --include} patterns
 * replace that choice (e.g. one GGUF quantization). PyTorch pickles are never taken next to safetensors.
 *
 * @param files  the chosen files, in listing order
 * @param notes  what was left out and why, for the user
 */
public record FileSelection(List<RepoFile> files, List<String> notes) {

    /** Top-level files the engine (or its tokenizers) can use, besides the weights. */
    static final Set<String> ENGINE_FILES = Set.of(
            "config.json", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
            "vocab.json", "merges.txt");

    public static FileSelection choose(String repo, List<RepoFile> all, List<String> includes) {
        return includes.isEmpty() ? engineFiles(repo, all) : included(repo, all, includes);
    }

    private static FileSelection engineFiles(String repo, List<RepoFile> all) {
        List<String> notes = new ArrayList<>();
        List<RepoFile> top = all.stream().filter(f -> !f.path().contains("/")).toList();
        List<RepoFile> weights = top.stream().filter(f -> isSafetensors(f.path())).toList();
        if (weights.isEmpty()) {
            throw new EngineException(noWeights(repo, all));
        }
        // Mistral repos ship their weights twice: HF shards (listed in the index) and consolidated.safetensors.
        boolean sharded = top.stream().anyMatch(f -> f.path().endsWith(".safetensors.index.json"));
        List<RepoFile> duplicates = sharded && weights.size() > 1
                ? weights.stream().filter(f -> f.path().startsWith("consolidated")).toList()
                : List.of();
        if (!duplicates.isEmpty() && duplicates.size() < weights.size()) {
            notes.add("skipping the same weights in Mistral's own format: " + names(duplicates));
        } else {
            duplicates = List.of();
        }
        List<RepoFile> pickles = all.stream().filter(f -> isPickle(f.path())).toList();
        if (!pickles.isEmpty()) {
            notes.add("skipping PyTorch pickle files, the safetensors weights are used instead: " + names(pickles));
        }
        List<RepoFile> skip = duplicates;
        List<RepoFile> chosen = top.stream()
                .filter(f -> ENGINE_FILES.contains(f.path()) || isSafetensors(f.path())
                        || f.path().endsWith(".safetensors.index.json"))
                .filter(f -> !skip.contains(f))
                .toList();
        return new FileSelection(chosen, notes);
    }

    private static FileSelection included(String repo, List<RepoFile> all, List<String> includes) {
        List<Glob> globs = includes.stream().map(Glob::of).toList();
        List<RepoFile> chosen = all.stream().filter(f -> globs.stream().anyMatch(g -> g.matches(f.path()))).toList();
        if (chosen.isEmpty()) {
            throw new EngineException("no file of " + repo + " matches --include " + includes.stream()
                    .map(p -> "'" + p + "'").collect(Collectors.joining(" ")) + "; its files are: "
                    + sample(all, f -> true));
        }
        List<String> notes = new ArrayList<>();
        if (chosen.stream().anyMatch(f -> isSafetensors(f.path()))) {
            List<RepoFile> pickles = chosen.stream().filter(f -> isPickle(f.path())).toList();
            if (!pickles.isEmpty()) {
                notes.add("skipping PyTorch pickle files, safetensors weights are included: " + names(pickles));
                chosen = chosen.stream().filter(f -> !pickles.contains(f)).toList();
            }
        }
        return new FileSelection(chosen, notes);
    }

    private static String noWeights(String repo, List<RepoFile> all) {
        List<RepoFile> gguf = all.stream().filter(f -> lower(f.path()).endsWith(".gguf")).toList();
        if (!gguf.isEmpty()) {
            return repo + " has no safetensors weights but " + gguf.size() + " GGUF file(s): "
                    + sample(gguf, f -> true) + "; pick one with --include 'NAME.gguf'";
        }
        if (all.stream().anyMatch(f -> isPickle(f.path()))) {
            return repo + " has only PyTorch pickle weights (" + sample(all, f -> isPickle(f.path()))
                    + "), which the engine does not read; look for a safetensors or GGUF version of the model,"
                    + " or name files with --include";
        }
        return repo + " has no safetensors weights at its top level; its files are: " + sample(all, f -> true)
                + "; name the files to download with --include 'PATTERN'";
    }

    static boolean isSafetensors(String path) {
        return lower(path).endsWith(".safetensors");
    }

    /** Python pickles run code when loaded and the engine cannot read them. */
    static boolean isPickle(String path) {
        String p = lower(path);
        String name = p.substring(p.lastIndexOf('/') + 1);
        return (name.startsWith("pytorch_model") && name.endsWith(".bin"))
                || p.endsWith(".pt") || p.endsWith(".pth") || p.endsWith(".ckpt")
                || p.endsWith(".pkl") || p.endsWith(".pickle");
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    private static String names(List<RepoFile> files) {
        return sample(files, f -> true);
    }

    /** Up to 12 of the files, largest first, with sizes. */
    private static String sample(List<RepoFile> files, Predicate<RepoFile> keep) {
        List<RepoFile> shown = files.stream().filter(keep)
                .sorted(Comparator.comparingLong(RepoFile::size).reversed()).toList();
        String list = shown.stream().limit(12)
                .map(f -> f.path() + " (" + Sizes.human(f.size()) + ")")
                .collect(Collectors.joining(", "));
        return shown.size() > 12 ? list + " and " + (shown.size() - 12) + " more" : list;
    }
}
