package io.nashswarm.hub;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ChecksumTest {
    private static String digest(Checksum c, String content) {
        MessageDigest d = c.start();
        d.update(content.getBytes(StandardCharsets.UTF_8));
        return Checksum.hex(d);
    }

    @Test
    void gitBlobIdMatchesGitHashObject() {
        // `printf 'hello world\n' | git hash-object --stdin` prints this id (git's documented example).
        Checksum c = Checksum.gitBlob("3B18E512DBA79E4C8300DD08AEB37F8E728B8DAD", 12);
        assertEquals("3b18e512dba79e4c8300dd08aeb37f8e728b8dad", c.expected());
        assertEquals(c.expected(), digest(c, "hello world\n"));
    }

    @Test
    void sha256MatchesTheFips180Example() {
        Checksum c = Checksum.sha256("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertEquals(c.expected(), digest(c, "abc"));
    }
}
