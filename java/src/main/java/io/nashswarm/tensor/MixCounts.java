package io.nashswarm.tensor;

/**
 * How many groups of a {@link MixedGroupMatrix} have each width, and how many outliers it keeps: all
 * that its size depends on beyond shape and {@link GroupSpec}.
 */
public record MixCounts(long groups2, long groups4, long groups8, long outliers) {
    public MixCounts {
        if (groups2 < 0 || groups4 < 0 || groups8 < 0 || outliers < 0) {
            throw new IllegalArgumentException("negative count in " + groups2 + "/" + groups4 + "/" + groups8 + "/" + outliers);
        }
    }

    public long groups() {
        return groups2 + groups4 + groups8;
    }

    /** Sum of the code widths of all groups: bits of codes per weight position of a group. */
    public long widthSum() {
        return 2 * groups2 + 4 * groups4 + 8 * groups8;
    }

    /** Groups of the given width (2, 4 or 8). */
    public long groupsOfWidth(int bits) {
        return switch (bits) {
            case 2 -> groups2;
            case 4 -> groups4;
            case 8 -> groups8;
            default -> throw new IllegalArgumentException("no width " + bits + " in a mixed matrix (2, 4 or 8)");
        };
    }
}
