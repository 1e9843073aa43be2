package io.nashswarm.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class QuantTypeTest {
    @Test
    void bitsPerWeightMatchPublishedValues() {
        // llama.cpp's published figures: Q8_0 8.5 bpw, Q4_0 4.5 bpw (scales included).
        assertEquals(8.5, QuantType.Q8_0.bitsPerWeight(), 1e-12);
        assertEquals(4.5, QuantType.Q4_0.bitsPerWeight(), 1e-12);
        assertEquals(32.0, QuantType.F32.bitsPerWeight(), 1e-12);
        assertEquals(QuantType.Q4_0, QuantType.byGgmlId(2).orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> QuantType.Q4_0.bytesFor(33));
    }
}
