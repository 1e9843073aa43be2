package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A run of groups of one code width that lie back to back in a codes section, as the kernels in
 * {@link PackedKernels} consume them: a whole row of a uniform matrix, or the 8-, 4- or 2-bit part of a
 * row of a mixed matrix.
 *
 * @param codes     codes section; the run starts at byte {@code codeOff}
 * @param groups    groups in the run
 * @param scaleOff  byte offset of the first group's fp16 scale; the next is {@code scaleStep} bytes on
 *                  (2, or 0 when the tensor has one scale)
 * @param zeros     zeros section, or null for symmetric codes (then every zero is {@code zConst})
 * @param zeroBit   bit offset of the first group's zero; the next is {@code zeroStep} bits on
 * @param order     logical group index within the row of each group of the run ({@code order[from + k]}),
 *                  or null when the run is groups {@code from, from+1, ...} in order
 */
record GroupRun(MemorySegment codes, long codeOff, int groups,
                MemorySegment scales, long scaleOff, int scaleStep,
                MemorySegment zeros, long zeroBit, int zeroStep, float zConst,
                int[] order, int from) {

    int groupAt(int k) {
        return order == null ? from + k : order[from + k];
    }
}
