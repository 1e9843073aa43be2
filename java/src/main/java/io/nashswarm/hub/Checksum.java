package io.nashswarm.hub;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hash a repository listing promises for a file: SHA-256 of the content for LFS files, or the git
 * blob id (SHA-1 of {@code "blob <size>\0"} followed by the content) for small files kept in git.
 */
public final class Checksum {
    private final String name;
    private final String expected;
    private final String algorithm;
    private final byte[] prefix;

    private Checksum(String name, String expected, String algorithm, byte[] prefix) {
        this.name = name;
        this.expected = expected;
        this.algorithm = algorithm;
        this.prefix = prefix;
    }

    public static Checksum sha256(String hex) {
        return new Checksum("sha256", hex.toLowerCase(), "SHA-256", new byte[0]);
    }

    public static Checksum gitBlob(String hex, long size) {
        byte[] header = ("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII);
        return new Checksum("git blob sha1", hex.toLowerCase(), "SHA-1", header);
    }

    /** How messages call it: "sha256" or "git blob sha1". */
    public String name() {
        return name;
    }

    /** The hash the content must have, lowercase hex. */
    public String expected() {
        return expected;
    }

    /** A digest already fed with the prefix; feed it the file's bytes, then {@link #hex}. */
    public MessageDigest start() {
        try {
            MessageDigest d = MessageDigest.getInstance(algorithm);
            d.update(prefix);
            return d;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is a required JDK algorithm", e);
        }
    }

    public static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    @Override
    public String toString() {
        return name + " " + expected;
    }
}
