package io.nashswarm.hub;

/**
 * One file of a repository revision, as the Hub's tree listing describes it.
 *
 * @param path      path inside the repository, '/'-separated, already checked to stay inside it
 * @param size      bytes
 * @param checksum  what the content must hash to, or null when the listing gave none
 */
public record RepoFile(String path, long size, Checksum checksum) {

    /** The last path segment. */
    public String name() {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
