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
            long[] at = {0, bytes / 2, bytes - 1};
            for (long a : at) {
                assertEquals(0, m.get(ValueLayout.JAVA_BYTE, a), bytes + " bytes: byte " + a + " is not zero");
            }
            for (long a : at) {
                m.set(ValueLayout.JAVA_BYTE, a, (byte) 7);
                assertEquals(7, m.get(ValueLayout.JAVA_BYTE, a));
            }
            if (bytes >= 1L << 21 && System.getProperty("os.name", "").startsWith("Linux")) {
                assertEquals(0, m.address() % (1L << 21), "a mapping of " + bytes + " starts on a 2 MiB boundary");
            }
        }
    }
}
