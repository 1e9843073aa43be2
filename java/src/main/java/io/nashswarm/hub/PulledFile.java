package io.nashswarm.hub;

/** One line of a pull's summary: a file and what happened to it. */
public record PulledFile(String path, long size, Status status) {

    public enum Status {
        /** Fetched from the first byte. */
        DOWNLOADED,
        /** Continued from a {@code .part} file left by an interrupted pull. */
        RESUMED,
        /** Already present with the right size and hash. */
        SKIPPED;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
