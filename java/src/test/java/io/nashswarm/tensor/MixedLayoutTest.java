package io.nashswarm.tensor;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link MixedLayout} alone, against a walk written from the format's statement ({@link MixedGroupMatrix}):
 * rows one after another, each storing its 8-bit groups, then its 4-bit, then its 2-bit groups; zeros in
 * three regions (all 8-bit zeros row after row, then 4-bit, then 2-bit).
 */
class MixedLayoutTest {
    /**
     * Random widths (counts differ between rows: offsets from per-row tables), each row a shuffle of row 0's widths, and
     * widths per group column (every row the same counts: offsets by multiplication).
     */
    @Test
    void spansMatchAWalkOfTheFormat() {
        for (int mode = 0; mode < 3; mode++) {
            spansMatchAWalk(mode);
        }
    }

    private static void spansMatchAWalk(int mode) {
        Random rnd = new Random(7);
        int rows = 13, groups = 37, g = 64;
        int[][] width = new int[rows][groups];
        int[] row0 = new int[groups];
        for (int gi = 0; gi < groups; gi++) {
            row0[gi] = rnd.nextInt(3);
        }
        MemorySegment map = Arena.ofAuto().allocate((rows * groups * 2 + 7) / 8);
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < groups; gi++) {
                int code = switch (mode) {
                    case 0 -> r == 3 ? 1 : rnd.nextInt(3); // row 3: 4-bit only (empty 8- and 2-bit spans)
                    case 1 -> row0[(gi + 5 * r) % groups]; // a rotation: the same counts, other places
                    default -> row0[gi];
                };
                width[r][gi] = new int[] {2, 4, 8}[code];
                long i = (long) r * groups + gi;
                byte b = map.get(ValueLayout.JAVA_BYTE, i >>> 2);
                map.set(ValueLayout.JAVA_BYTE, i >>> 2, (byte) (b | code << (2 * (i & 3))));
            }
        }
        MixedLayout layout = new MixedLayout(map, rows, groups, g);
        long codeByte = 0, scaleIndex = 0;
        long[] total = new long[3];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < 3; c++) {
                for (int gi = 0; gi < groups; gi++) {
                    total[c] += width[r][gi] == MixedLayout.BITS[c] ? 1 : 0;
                }
            }
        }
        long[] zeroAt = {0, 8 * total[0], 8 * total[0] + 4 * total[1]};
        for (int r = 0; r < rows; r++) {
            int first = 0;
            for (int c = 0; c < 3; c++) {
                int bits = MixedLayout.BITS[c], n = 0;
                for (int gi = 0; gi < groups; gi++) {
                    if (width[r][gi] == bits) {
                        assertEquals(first + n, layout.storedIndex(r, gi), "stored index of row " + r + " group " + gi);
                        assertEquals(bits, layout.width(r, gi));
                        n++;
                    }
                }
                MixedLayout.Span s = layout.span(r, c);
                assertEquals(new MixedLayout.Span(bits, first, n, codeByte, scaleIndex, zeroAt[c]), s, "row " + r + " class " + c);
                codeByte += (long) n * g * bits / 8;
                scaleIndex += n;
                zeroAt[c] += (long) n * bits;
                first += n;
            }
        }
        assertEquals(codeByte, layout.codeBytes());
        assertArrayEquals(total, new long[] {layout.groups(0), layout.groups(1), layout.groups(2)});
    }

    @Test
    void anInvalidWidthCodeNamesItsPlace() {
        MemorySegment map = Arena.ofAuto().allocate(2);
        map.set(ValueLayout.JAVA_BYTE, 1, (byte) (3 << 2)); // entry 5: row 1, group 1 of 4 groups per row
        EngineException e = assertThrows(EngineException.class, () -> new MixedLayout(map, 2, 4, 64));
        assertTrue(e.getMessage().contains("row 1, group 1"), e.getMessage());
    }
}
