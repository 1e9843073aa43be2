package io.nashswarm.eval;

import org.junit.jupiter.api.Test;
import org.knowm.xchart.BitmapEncoder;

import java.awt.geom.Rectangle2D;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Axis ranges from the data, merged labels for identical points, and labels that overlap nothing (aidreams260K's real values). */
class BitsPlotTest {
    // compare-aidreams260K/compare.json: bits/weight, KLD vs FP32
    static final List<BitsPlot.Point> KLD = List.of(
            new BitsPlot.Point("int4-tensor", 4.6953, 0.22582), new BitsPlot.Point("int4-g64", 4.9133, 0.08120),
            new BitsPlot.Point("int4-g128", 4.9133, 0.08120), new BitsPlot.Point("nf4-g64", 4.9133, 0.07461),
            new BitsPlot.Point("int2-g64", 3.1533, 1.12078), new BitsPlot.Point("nash-swarm-10/20/70-g64", 4.0519, 0.85160),
            new BitsPlot.Point("nash-swarm-10/20/70-weight-g64", 6.2343, 0.62170),
            new BitsPlot.Point("nash-swarm-10/20/70-calib-g64", 4.0519, 0.80592),
            new BitsPlot.Point("target-3.0bpw-calib-g64", 2.9997, 0.97092), new BitsPlot.Point("target-4.0bpw-calib-g64", 3.9997, 0.70363));

    @Test
    void anFp32KldNearZeroStaysOffTheLogAxis() {
        BitsPlot.Built b = BitsPlot.build("t", "y", KLD, new BitsPlot.Point("fp32", 32, 8.2e-10));
        var st = b.chart().getStyler();
        assertTrue(st.isYAxisLogarithmic(), "0.075..1.12 spans more than a decade");
        assertTrue(st.getYAxisMin() > 0.03 && st.getYAxisMin() < 0.0746, "from the methods' minimum: " + st.getYAxisMin());
        assertTrue(st.getYAxisMax() > 1.12 && st.getYAxisMax() < 3, "to their maximum: " + st.getYAxisMax());
        assertEquals(KLD.size(), b.chart().getSeriesMap().size(), "no fp32 line on this axis");
        assertEquals("fp32 source: 8.2e-10, below this log axis", b.labels().note);
        assertTrue(st.getXAxisMin() <= 2.9997 && st.getXAxisMax() >= 6.2343 && st.getXAxisMax() < 8, "x from the methods, not 32 bits");
    }

    @Test
    void identicalPointsShareOneLabelAndNoLabelsOverlap() {
        BitsPlot.Built b = BitsPlot.build("t", "y", KLD, new BitsPlot.Point("fp32", 32, 8.2e-10));
        List<String> texts = b.labels().items.stream().map(BitsPlot.Label::text).toList();
        assertTrue(texts.contains("int4-g64 = int4-g128"), texts.toString());
        assertEquals(KLD.size() - 1, texts.size());
        BitmapEncoder.getBufferedImage(b.chart()); // draws, placing the labels
        List<Rectangle2D> placed = b.labels().placed;
        assertEquals(texts.size(), placed.size());
        for (int i = 0; i < placed.size(); i++) {
            for (int j = 0; j < placed.size(); j++) {
                if (i != j) {
                    assertFalse(placed.get(i).intersects(placed.get(j)), texts.get(i) + " overlaps " + texts.get(j));
                }
            }
            for (Rectangle2D m : b.labels().markers) {
                assertFalse(placed.get(i).intersects(m), texts.get(i) + " covers a marker");
            }
        }
    }

    @Test
    void perplexitiesWithinADecadeGetALinearAxisWithTheSourceLine() {
        List<BitsPlot.Point> ppl = List.of(new BitsPlot.Point("int4-g64", 4.91, 254.5), new BitsPlot.Point("int2-g64", 3.15, 228.5),
                new BitsPlot.Point("int4-tensor", 4.70, 262.9));
        BitsPlot.Built b = BitsPlot.build("t", "y", ppl, new BitsPlot.Point("fp32", 32, 259.7));
        var st = b.chart().getStyler();
        assertFalse(st.isYAxisLogarithmic());
        assertTrue(st.getYAxisMin() < 228.5 && st.getYAxisMin() > 200, "not from zero: " + st.getYAxisMin());
        assertTrue(st.getYAxisMax() > 262.9 && st.getYAxisMax() < 280);
        assertEquals(ppl.size() + 1, b.chart().getSeriesMap().size(), "the fp32 reference line");
        assertNull(b.labels().note);
    }
}
