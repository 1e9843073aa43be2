package io.nashswarm.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link HugePages}: segments of every size come back zeroed, of the asked size, aligned, and writable to their last byte. */
class HugePagesTest {
    @Test
    void segmentsAreZeroAlignedAndWritable() {
        for (long bytes : new long[] {1, 4096, (1L << 21) - 1, 1L << 21, 3 * (1L << 20) + 7, 9L << 21}) {
            MemorySegment m = HugePages.allocate(bytes);
            assertEquals(bytes, m.byteSize(), "size of " + bytes);
            assertEquals(0, m.address() % 64, "alignment of " + bytes);
            for (long at : new long[] {0, bytes / 2, bytes - 1}) {
                assertEquals(0, m.get(ValueLayout.JAVA_BYTE, at), bytes + " bytes: byte " + at + " is not zero");
                m.set(ValueLayout.JAVA_BYTE, at, (byte) 7);
                assertEquals(7, m.get(ValueLayout.JAVA_BYTE, at));
            }
            if (bytes >= 1L << 21 && System.getProperty("os.name", "").startsWith("Linux")) {
                assertEquals(0, m.address() % (1L << 21), "a mapping of " + bytes + " starts on a 2 MiB boundary");
            }
        }
    }
}
