package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The integer-activation path ({@link QuantizedInput}, {@link IntKernels}) at its limits: hand-built codes
 * at the extreme distance from their zero meet inputs at the extreme integer, where a 16-bit lane holds
 * its largest value; and the input quantization itself, element by element.
 */
class IntKernelsTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    private static MemorySegment filled(long bytes, int value) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, bytes));
        s.fill((byte) value);
        return s.asSlice(0, bytes);
    }

    private static MemorySegment scales(long n, float v) {
        MemorySegment s = Arena.ofAuto().allocate(2 * n);
        for (long i = 0; i < n; i++) {
            s.set(F16, 2 * i, Float.floatToFloat16(v));
        }
        return s;
    }

    /**
     * Every code {@code u} (byte {@code codeByte} repeated) with zero {@code z} (all-ones fields when
     * asymmetric): per lane four products of {@code |u − z|·qmax}, the largest the 16-bit lanes must hold.
     */
    private static IntGroupMatrix extreme(QuantType type, int rows, int cols, GroupSpec spec, int codeByte, int zeroByte) {
        Map<String, MemorySegment> sections = new HashMap<>();
        for (Section s : type.sections(rows, cols, spec)) {
            sections.put(s.name(), switch (s.name()) {
                case Section.CODES -> filled(s.bytes(), codeByte);
                case Section.SCALES -> scales(s.bytes() / 2, 0.5f);
                default -> filled(s.bytes(), zeroByte);
            });
        }
        return IntGroupMatrix.fromSections(type, rows, cols, spec, sections);
    }

    @Test
    void lanesAtTheirLimitDoNotOverflow() {
        int rows = 5, cols = 256;
        for (QuantType type : new QuantType[] {QuantType.INT4, QuantType.INT2}) {
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.symmetric(128),
                    GroupSpec.perChannel(cols, false), GroupSpec.perChannel(cols, true), GroupSpec.perTensor(cols, true)}) {
                // Codes 0 (below a symmetric zero by 2^(bits-1); 15 or 3 below an all-ones asymmetric zero),
                // then all-ones codes with zero 0.
                for (int[] cz : new int[][] {{0x00, 0xFF}, {0xFF, 0x00}}) {
                    IntGroupMatrix m = extreme(type, rows, cols, spec, cz[0], cz[1]);
                    for (float sign : new float[] {1f, -1f}) {
                        float[] x = new float[3 * cols];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = sign * ((i / 64) % 2 == 0 ? 1f : -3f); // whole chunks at ±max: q = ±qmax
                        }
                        for (int threads : new int[] {1, 2}) {
                            Parallel.setThreads(threads);
                            for (int n = 1; n <= 3; n++) {
                                float[] y = new float[n * rows];
                                ParallelProducts.matmul(m, x, y, n);
                                PackedReference.assertProduct(m, x, y, n, type + " " + spec + " codes " + cz[0] + " zeros " + cz[1] + " sign " + sign);
                                // The exact product: every weight is 0.5·(u − z), every input ±1 or ±3, both exact in the kernel.
                                float[][] w = PackedReference.dequantize(m);
                                for (int b = 0; b < n; b++) {
                                    for (int r = 0; r < rows; r++) {
                                        double ref = 0;
                                        for (int c = 0; c < cols; c++) {
                                            ref += (double) w[r][c] * x[b * cols + c];
                                        }
                                        assertEquals(ref, y[b * rows + r], 1e-6 * Math.abs(ref), type + " " + spec + " exact at the limit");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void inputIsRoundedToHalfAStepInTheKernelsLaneOrder() {
        Random rnd = new Random(3);
        int cols = 4 * 64;
        float[] x = new float[cols + 7];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
        }
        java.util.Arrays.fill(x, 7 + 64, 7 + 128, 0f);            // a zero chunk
        java.util.Arrays.fill(x, 7 + 128, 7 + 192, -2.5f);         // an all-equal chunk
        for (int bits : new int[] {4, 2}) {
            for (boolean sym : new boolean[] {true, false}) {
                int qmax = PackedReference.qmax(bits, sym), zero = sym ? 1 << (bits - 1) : 0;
                QuantizedInput in = QuantizedInput.of(x, 7, cols, bits, sym);
                for (int c = 0; c < cols / 64; c++) {
                    float max = PackedReference.chunkMax(x, 7, 64 * c);
                    assertEquals(max / qmax, in.step[c], 0f, "step of chunk " + c);
                    boolean[] seen = new boolean[64];
                    for (int k = 0; k < 4; k++) {
                        int laneSum = 0;
                        for (int i = 0; i < 16; i++) {
                            int pos = QuantizedInput.position(bits, i, k);
                            assertFalse(seen[pos], "position " + pos + " used twice");
                            seen[pos] = true;
                            short q = in.q[64 * c + 16 * k + i];
                            assertTrue(Math.abs(q) <= qmax, "|q| <= qmax");
                            double xv = x[7 + 64 * c + pos];
                            assertTrue(Math.abs(xv - (double) in.step[c] * q) <= in.step[c] / 2 * (1 + 1e-6), bits + "-bit chunk " + c + " value " + pos);
                        }
                    }
                    int total = 0;
                    for (int i = 0; i < 16; i++) {
                        int s = 0;
                        for (int k = 0; k < 4; k++) {
                            s += in.q[64 * c + 16 * k + i];
                        }
                        assertEquals((short) (-zero * s), in.bias[16 * c + i], "bias of lane " + i);
                        total += s;
                    }
                    assertEquals(total, in.sum[c], "sum of chunk " + c);
                }
                assertEquals(0f, in.step[1]);
                assertEquals(qmax, Math.abs(in.q[128]), "an all-equal chunk sits at ±qmax");
            }
        }
    }

    /**
     * The run kernels rely on being too big for the JIT to inline into a hot caller (FreqInlineSize, 325
     * bytes of bytecode by default): a caller that inlined two of them would exceed its inlining budget
     * and box their vectors. Not a timing: a structural property an edit could silently lose.
     */
    @Test
    void runKernelsStayTooBigToInline() throws Exception {
        byte[] bytes;
        try (var in = IntKernels.class.getResourceAsStream("IntKernels.class")) {
            bytes = in.readAllBytes();
        }
        var model = java.lang.classfile.ClassFile.of().parse(bytes);
        int checked = 0;
        for (var m : model.methods()) {
            String name = m.methodName().stringValue();
            if (name.endsWith("Run")) {
                int length = m.findAttribute(java.lang.classfile.Attributes.code()).orElseThrow().codeLength();
                assertTrue(length > 325, name + " has " + length + " bytes of bytecode; it must stay above 325");
                checked++;
            }
        }
        assertEquals(2, checked, "int4Run and int2Run");
    }

    @Test
    void lanePositionsFollowThePackingLayout() {
        // Pack weight i as code (i mod 2^bits) and read back through the documented lane decoding.
        for (int bits : new int[] {4, 2}) {
            int[] u = new int[64];
            for (int i = 0; i < 64; i++) {
                u[i] = (i * 7 + 3) & ((1 << bits) - 1);
            }
            byte[] packed = new byte[64 * bits / 8];
            Packing.pack(bits, u, 0, 64, packed, 0);
            for (int k = 0; k < 4; k++) {
                for (int i = 0; i < 16; i++) {
                    int lane = bits == 4 ? (packed[2 * i] & 0xFF) | (packed[2 * i + 1] & 0xFF) << 8 : packed[i] & 0xFF;
                    int field = (lane >>> (bits * k)) & ((1 << bits) - 1);
                    assertEquals(u[QuantizedInput.position(bits, i, k)], field, bits + "-bit lane " + i + " field " + k);
                }
            }
        }
    }
}
