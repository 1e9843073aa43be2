package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class RecipeTest {
    @Test
    void labelsAreUniqueAndParse() {
        Set<String> seen = new HashSet<>();
        for (Recipe r : Recipe.values()) {
            assertTrue(seen.add(r.label()), r.label());
            assertEquals(r, Recipe.parse(r.label().toUpperCase()));
            assertFalse(r.description().isBlank());
        }
        EngineException e = assertThrows(EngineException.class, () -> Recipe.parse("q5_k"));
        assertTrue(e.getMessage().contains("int4-tensor") && e.getMessage().contains("target-bpw-calib"), e.getMessage());
    }

    @Test
    void provenanceNamesAndParametersDescribeTheRun() {
        QuantSettings d = QuantSettings.defaults();
        assertEquals("int4-g64", Recipe.INT4.provenanceName(d));
        assertEquals("q8_0", Recipe.Q8_0.provenanceName(d));
        assertEquals("int4-tensor", Recipe.INT4_TENSOR.provenanceName(d));
        assertEquals("nash-swarm-10/20/70-g64", Recipe.NASH_SWARM.provenanceName(d));
        QuantSettings s = new QuantSettings(128, true, NashSplit.parse("5/25/70"), 2, 3.5, QuantType.Q8_0, 0.005, QuantType.F32);
        assertEquals("nash-swarm-5/25/70-g128-asym", Recipe.NASH_SWARM.provenanceName(s));
        assertEquals("target-3.5bpw-calib-g128-asym", Recipe.TARGET_BPW_CALIB.provenanceName(s));
        Map<String, Object> p = Recipe.TARGET_BPW_CALIB.parameters(s);
        assertEquals(3.5, p.get("target_bpw"));
        assertEquals(128, p.get("group"));
        assertEquals(true, p.get("asymmetric"));
        assertEquals(0.005, p.get("outlier_fraction"));
        assertEquals("q8_0", p.get("embed_type"));
        assertEquals("f32", p.get("fallback"));
        Map<String, Object> n = Recipe.NASH_SWARM.parameters(s);
        assertEquals("5/25/70", n.get("nash_split_8_4_2"));
        assertEquals(2, n.get("swarm_radius"));
        assertFalse(Recipe.Q4_0.parameters(s).containsKey("group"), "q4_0 has fixed blocks of 32");
    }

    @Test
    void settingsAreValidated() {
        QuantSettings d = QuantSettings.defaults();
        assertThrows(EngineException.class, () -> new QuantSettings(64, false, d.split(), 1, 0, d.embedType(), 0, d.fallback()));
        assertThrows(EngineException.class, () -> new QuantSettings(64, false, d.split(), 1, 3, QuantType.MIXED, 0, d.fallback()));
        assertThrows(EngineException.class, () -> new QuantSettings(64, false, d.split(), 1, 3, d.embedType(), 0.6, d.fallback()));
        assertEquals(0.005, QuantSettings.parseFraction("0.5%", "--outliers"), 1e-15);
        assertEquals(0.005, QuantSettings.parseFraction("0.005", "--outliers"), 1e-15);
        assertEquals(QuantType.NF4, QuantSettings.parseEmbedType("NF4"));
        assertThrows(EngineException.class, () -> QuantSettings.parseEmbedType("perweight"));
        QuantSettings asym = new QuantSettings(64, true, d.split(), 1, 3, d.embedType(), 0, d.fallback());
        assertThrows(EngineException.class, () -> asym.checkFor(Recipe.NASH_SWARM_WEIGHT));
        asym.checkFor(Recipe.TARGET_BPW);
    }
}
