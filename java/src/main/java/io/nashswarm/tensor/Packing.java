package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The packed code layout, element by element (see {@link PackedKernels} for the layout and the vector
 * kernels): quantizers pack with it, {@code dequantizeRow} and tests read with it.
 */
public final class Packing {
    private Packing() {}

    /** Unsigned code {@code u} of logical weight {@code i} of the run of {@code bits}-bit codes at {@code off}. */
    public static int code(MemorySegment codes, long off, int bits, int i) {
        int planes = 8 / bits;
        long at = off + (long) (i / (8 * planes)) * 8 + (i & 7);
        int b = codes.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
        if (bits == 8) {
            return b ^ 0x80;
        }
        return (b >>> (bits * ((i >>> 3) % planes))) & ((1 << bits) - 1);
    }

    /** Packs {@code n} unsigned codes (n a multiple of 32) into {@code out[outOff..]} in the layout above. */
    public static void pack(int bits, int[] u, int uOff, int n, byte[] out, int outOff) {
        int planes = 8 / bits;
        int bytes = n * bits / 8;
        java.util.Arrays.fill(out, outOff, outOff + bytes, (byte) 0);
        for (int i = 0; i < n; i++) {
            int v = u[uOff + i];
            int at = outOff + (i / (8 * planes)) * 8 + (i & 7);
            if (bits == 8) {
                out[at] = (byte) (v ^ 0x80);
            } else {
                out[at] |= (byte) (v << (bits * ((i >>> 3) % planes)));
            }
        }
    }

    /** Reads a {@code width}-bit field (width ≤ 8) at {@code bitOff}, LSB first, possibly across two bytes. */
    public static int readBits(MemorySegment seg, long bitOff, int width) {
        long at = bitOff >>> 3;
        int sh = (int) (bitOff & 7);
        int v = seg.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
        if (sh + width > 8) {
            v |= (seg.get(ValueLayout.JAVA_BYTE, at + 1) & 0xFF) << 8;
        }
        return (v >>> sh) & ((1 << width) - 1);
    }

    /** Writes a {@code width}-bit field into a zeroed byte array, LSB first. */
    public static void writeBits(byte[] out, long bitOff, int width, int value) {
        int at = (int) (bitOff >>> 3);
        int sh = (int) (bitOff & 7);
        int v = (value & ((1 << width) - 1)) << sh;
        out[at] |= (byte) v;
        if (sh + width > 8) {
            out[at + 1] |= (byte) (v >>> 8);
        }
    }
}
