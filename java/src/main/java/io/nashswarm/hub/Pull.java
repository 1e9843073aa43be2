package io.nashswarm.hub;

import io.nashswarm.util.Progress;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * Downloads a model repository (or the {@code --include}d part of it) into a folder, like
 * {@code huggingface-cli download REPO --local-dir DIR}: list, choose, then fetch each file that is not
 * already complete. Running it again after an interruption resumes where it stopped.
 */
public final class Pull {
    private final HubClient client;
    private final Consumer<String> notes;

    /** @param notes  receives one-line remarks for the user (skipped pickles, restarted downloads) */
    public Pull(HubClient client, Consumer<String> notes) {
        this.client = client;
        this.notes = notes;
    }

    /**
     * @param includes  patterns that replace the default choice of files (empty: the engine's files)
     * @param progress  makes a progress display for the given number of bytes still to download
     * @return one entry per chosen file, in listing order
     */
    public List<PulledFile> run(String repo, String revision, List<String> includes, Path dir,
                                LongFunction<Progress> progress) {
        HubClient.checkRepoId(repo);
        FileSelection chosen = FileSelection.choose(repo, client.listFiles(repo, revision), includes);
        chosen.notes().forEach(notes);
        FileFetcher fetcher = new FileFetcher(client, repo, revision, dir, notes);

        Set<String> missing = new HashSet<>();
        long remaining = 0;
        for (RepoFile f : chosen.files()) {
            if (!fetcher.isComplete(f)) {
                missing.add(f.path());
                remaining += f.size() - fetcher.partialBytes(f);
            }
        }
        List<PulledFile> done = new ArrayList<>();
        try (Progress bar = missing.isEmpty() ? Progress.none() : progress.apply(remaining)) {
            for (RepoFile f : chosen.files()) {
                if (missing.contains(f.path())) {
                    bar.message(f.name());
                    done.add(fetcher.fetch(f, bar));
                } else {
                    done.add(new PulledFile(f.path(), f.size(), PulledFile.Status.SKIPPED));
                }
            }
        }
        return done;
    }
}
