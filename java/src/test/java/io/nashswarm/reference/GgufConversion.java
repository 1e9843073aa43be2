package io.nashswarm.reference;

import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.MemorySegment;

/**
 * What llama.cpp's convert_hf_to_gguf.py does to tensors, done on the stored elements (bytes), so
 * the GGUF holds exactly the values of the Hugging Face checkpoint: 2-D tensors keep their dtype
 * with ggml's innermost-first {@code ne = [cols, rows]}; 1-D tensors (norms, biases) become F32.
 */
final class GgufConversion {
    private GgufConversion() {}

    static void addMatrix(GgufWriter w, String name, HfTensor t) {
        w.addTensor(name, QuantType.valueOf(t.dtype().name()), new long[] {t.cols(), t.rows()}, MemorySegment.ofArray(t.bytes()));
    }

    static void addVector(GgufWriter w, String name, HfTensor t) {
        byte[] f32 = StoredFloats.encode(t.vector(), SafetensorsDtype.F32);
        w.addTensor(name, QuantType.F32, new long[] {t.shape()[0]}, MemorySegment.ofArray(f32));
    }

    /** GPT-2's Conv1D {@code [in][out]} weights, transposed to {@code [out][in]} as the converter does. */
    static HfTensor transposed(HfTensor t) {
        int rows = t.rows(), cols = t.cols(), e = t.dtype().size();
        byte[] out = new byte[t.bytes().length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                System.arraycopy(t.bytes(), (r * cols + c) * e, out, (c * rows + r) * e, e);
            }
        }
        return new HfTensor(t.name(), new long[] {cols, rows}, t.dtype(), out);
    }

    /**
     * The converter's q/k permutation for LLaMA: within each head of {@code headSize} rows, HF's
     * rotate-half pairs (j, j + headSize/2) are moved next to each other, to rows (2j, 2j + 1), so
     * that ggml's interleaved RoPE rotates the same pairs. Row {@code 2j + a} of a head comes from
     * row {@code a·headSize/2 + j}.
     */
    static HfTensor permutedForInterleavedRope(HfTensor t, int heads) {
        int rows = t.rows(), hs = rows / heads, half = hs / 2;
        int rowBytes = t.cols() * t.dtype().size();
        byte[] out = new byte[t.bytes().length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int a = 0; a < 2; a++) {
                    int dst = h * hs + 2 * j + a, src = h * hs + a * half + j;
                    System.arraycopy(t.bytes(), src * rowBytes, out, dst * rowBytes, rowBytes);
                }
            }
        }
        return new HfTensor(t.name(), t.shape(), t.dtype(), out);
    }

    /** {@code general.file_type} as llama.cpp numbers it (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16). */
    static int fileType(SafetensorsDtype dtype) {
        return switch (dtype) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException(dtype.name());
        };
    }
}
