package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The packed code layout of every packed type, element by element: quantizers pack with it,
 * {@code dequantizeRow} and tests read with it; the vector kernels read the same bytes a unit at a time.
 *
 * <h2>Layout</h2>
 * A run of {@code bits}-bit codes (a row, or one width's groups of a mixed row) is a sequence of 8-byte
 * units. A unit holds {@code 8·P} consecutive weights, {@code P = 8 / bits}: byte {@code j} of the unit
 * holds weight {@code 8k + j} of the unit in bits {@code [bits·k, bits·k + bits)}, k = 0..P−1. So:
 * <ul>
 *   <li>8-bit: byte j = weight j, stored as the signed byte {@code u − 128};</li>
 *   <li>4-bit: 16 weights per unit, byte j = weight j (low nibble) and weight j + 8 (high nibble);</li>
 *   <li>2-bit: 32 weights per unit, byte j = weights j, j+8, j+16, j+24 from the low bits up.</li>
 * </ul>
 * Weight {@code i} of a run is in byte {@code (i / (8P))·8 + i mod 8} at bit {@code bits·((i / 8) mod P)}.
 * Runs are whole groups and groups are multiples of 32 weights, so no unit straddles two groups.
 * Bit fields (zeros, maps) are packed LSB-first: field {@code i} of width {@code w} starts at bit {@code i·w}
 * (of the section, or as stated by the type).
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

    /** Unsigned codes of logical weights {@code 0 .. n)} (n a multiple of 32) of the run at {@code off}, into {@code u[0..n)}. */
    public static void unpack(MemorySegment codes, long off, int bits, int n, int[] u) {
        byte[] b = new byte[n * bits / 8];
        MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, off, b, 0, b.length);
        if (bits == 8) {
            for (int i = 0; i < n; i++) {
                u[i] = (b[i] ^ 0x80) & 0xFF;
            }
            return;
        }
        int planes = 8 / bits, mask = (1 << bits) - 1;
        for (int unit = 0; unit < b.length / 8; unit++) {
            for (int k = 0; k < planes; k++) {
                for (int j = 0; j < 8; j++) {
                    u[unit * 8 * planes + 8 * k + j] = (b[8 * unit + j] >> (bits * k)) & mask;
                }
            }
        }
    }

    /**
     * As {@link #unpack}, as bytes and eight codes at a time: unsigned 2- and 4-bit codes, 8-bit codes as their signed
     * {@code u − 128} (the stored bytes). For the kernels' copies, made at a model's first products: unpacking to ints one
     * code at a time was two thirds of a 1B model's copy time (JFR).
     */
    public static void unpackBytes(MemorySegment codes, long off, int bits, int n, byte[] out) {
        int bytes = n * bits / 8;
        if (bits == 8) {
            MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, off, out, 0, n);
            return;
        }
        // the stored bytes go to out's end in one copy and are unpacked from the front, in place: unit u's codes end at
        // 8·P·(u + 1) ≤ n − bytes + 8·(u + 1), where unit u + 1 starts, so no unit is overwritten before it is read
        MemorySegment.copy(codes, ValueLayout.JAVA_BYTE, off, out, n - bytes, bytes);
        int planes = 8 / bits;
        long mask = 0x0101010101010101L * ((1 << bits) - 1);
        for (int unit = 0, from = n - bytes; unit < bytes / 8; unit++, from += 8) {
            long b = (long) UNITS.get(out, from);
            for (int k = 0; k < planes; k++) { // plane k: weight 8k + j of the unit in byte j
                UNITS.set(out, 8 * (unit * planes + k), (b >>> (bits * k)) & mask);
            }
        }
    }

    private static final java.lang.invoke.VarHandle UNITS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

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
