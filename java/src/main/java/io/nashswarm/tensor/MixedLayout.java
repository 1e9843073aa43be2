package io.nashswarm.tensor;

import io.nashswarm.EngineException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where the groups of a mixed-precision matrix lie ({@link MixedGroupMatrix} states the format): the
 * width map, and per row the offsets of its codes, scales and zeros. Index maths only, no kernels, so it can
 * be tested alone and a GPU kernel can compute the same offsets.
 *
 * <p>A row stores its groups by width class: 8-bit groups, then 4-bit, then 2-bit ({@link #BITS}), each
 * class in ascending group order. {@link #span} gives one class's run of one row as a {@link Span}.
 */
public final class MixedLayout {
    /** Code width of each class, in stored order. */
    static final int[] BITS = {8, 4, 2};
    /** Class of each map value (0 = 2-bit, 1 = 4-bit, 2 = 8-bit). */
    private static final int[] CLASS_OF_MAP = {2, 1, 0};

    final int rows, groupsPerRow, groupSize;
    private final MemorySegment map;
    /**
     * Byte offset of each row's codes (rows + 1 entries), and per class the groups of that class in the rows before each
     * row; both null when every row has the same number of groups of each class (the target-bpw allocators' widths per
     * group column), whose offsets are then multiples of {@link #rowCount} and {@link #rowCodeBytes}: 32 bytes of heap per
     * row less (20 MB at Llama-3.2-1B's shapes).
     */
    private final long[] codeOff;
    private final long[][] before;
    /** Row 0's groups of each class and code bytes (every row's, when {@link #codeOff} is null). */
    private final int[] rowCount = new int[3];
    private final long rowCodeBytes;
    /** Bit offset of each class's region of the zeros section. */
    private final long[] zeroRegion = new long[3];

    /**
     * One width class's run of groups within a row.
     *
     * @param bits       code width
     * @param first      index of its first group among the row's groups in stored order
     * @param groups     number of groups
     * @param codeOff    byte offset of its codes in the codes section
     * @param scaleIndex index of its first group's scale (and of the row's stored order) in the scales section
     * @param zeroBit    bit offset of its first group's zero in the zeros section (asymmetric matrices)
     */
    public record Span(int bits, int first, int groups, long codeOff, long scaleIndex, long zeroBit) {}

    /**
     * Reads the map of a {@code rows × groupsPerRow} matrix once: checks every width code and counts.
     *
     * @throws EngineException on a width code 3
     */
    public MixedLayout(MemorySegment map, int rows, int groupsPerRow, int groupSize) {
        this.map = map;
        this.rows = rows;
        this.groupsPerRow = groupsPerRow;
        this.groupSize = groupSize;
        long[] codeOff = new long[rows + 1];
        long[][] before = new long[3][rows + 1];
        boolean sameCounts = true;
        for (int r = 0; r < rows; r++) {
            long widthSum = 0;
            int[] count = new int[3];
            for (int gi = 0; gi < groupsPerRow; gi++) {
                long i = (long) r * groupsPerRow + gi;
                int w = (map.get(ValueLayout.JAVA_BYTE, i >>> 2) >>> (2 * (int) (i & 3))) & 3;
                if (w == 3) {
                    throw new EngineException("mixed matrix map: invalid width code 3 at row " + r + ", group " + gi + " (0=2-bit, 1=4-bit, 2=8-bit)");
                }
                count[CLASS_OF_MAP[w]]++;
            }
            for (int c = 0; c < 3; c++) {
                before[c][r + 1] = before[c][r] + count[c];
                widthSum += (long) BITS[c] * count[c];
            }
            codeOff[r + 1] = codeOff[r] + widthSum * groupSize / 8;
            for (int c = 0; c < 3; c++) {
                if (r == 0) {
                    rowCount[c] = count[c];
                }
                sameCounts &= count[c] == rowCount[c];
            }
        }
        this.rowCodeBytes = rows == 0 ? 0 : codeOff[1];
        this.codeOff = sameCounts ? null : codeOff;
        this.before = sameCounts ? null : before;
        for (int c = 1; c < 3; c++) {
            zeroRegion[c] = zeroRegion[c - 1] + BITS[c - 1] * groups(c - 1);
        }
    }

    /** Groups of width class {@code c} in the whole matrix. */
    public long groups(int c) {
        return before(c, rows);
    }

    /** Groups of class c in the rows before row r. */
    private long before(int c, int r) {
        return before == null ? (long) r * rowCount[c] : before[c][r];
    }

    /** Byte offset of row r's codes. */
    private long codeOff(int r) {
        return codeOff == null ? r * rowCodeBytes : codeOff[r];
    }

    /** Total code bytes. */
    public long codeBytes() {
        return codeOff(rows);
    }

    /** Groups of class {@code c} in row {@code r}. */
    public int count(int r, int c) {
        return before == null ? rowCount[c] : (int) (before[c][r + 1] - before[c][r]);
    }

    /** Row r's run of width class {@code c} (0: 8-bit, 1: 4-bit, 2: 2-bit). */
    public Span span(int r, int c) {
        int first = 0;
        long code = codeOff(r);
        for (int k = 0; k < c; k++) {
            int n = count(r, k);
            first += n;
            code += (long) n * groupSize * BITS[k] / 8;
        }
        return new Span(BITS[c], first, count(r, c), code, (long) r * groupsPerRow + first, zeroRegion[c] + BITS[c] * before(c, r));
    }

    /** Width (2, 4 or 8) of group {@code gi} of row {@code r}. */
    public int width(int r, int gi) {
        return BITS[widthClass(r, gi)];
    }

    /** Width class of group {@code gi} of row {@code r}. */
    public int widthClass(int r, int gi) {
        long i = (long) r * groupsPerRow + gi;
        return CLASS_OF_MAP[(map.get(ValueLayout.JAVA_BYTE, i >>> 2) >>> (2 * (int) (i & 3))) & 3];
    }

    /** Position of group gi among row r's groups in stored order. */
    public int storedIndex(int r, int gi) {
        int c = widthClass(r, gi), at = 0;
        for (int j = 0; j < groupsPerRow; j++) {
            int cj = widthClass(r, j);
            if (cj < c || (cj == c && j < gi)) {
                at++;
            }
        }
        return at;
    }
}
