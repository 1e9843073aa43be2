package io.nashswarm.eval;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Annotation;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One metric against real bits/weight (PNG and SVG): a labelled point per method and the FP32 source as a
 * dashed reference line. The y range comes from the methods' values. The axis is logarithmic only when they
 * span more than a decade; the source joins the range when it at most doubles the decades shown, and is
 * otherwise named in a note (an FP32 KLD of 1e-9 would squeeze every method into the top decade).
 * Points at the same place share one label; labels are placed where they overlap no other label or marker.
 */
public final class BitsPlot {
    private BitsPlot() {}

    public record Point(String label, double bits, double value) {}

    public static void write(Path dir, String name, String title, String yTitle, List<Point> methods, Point source) throws IOException {
        XYChart chart = build(title, yTitle, methods, source).chart();
        BitmapEncoder.saveBitmap(chart, dir.resolve(name + ".png").toString(), BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve(name + ".svg").toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }

    /** The chart and its labels (whose places are known once the chart is drawn). */
    record Built(XYChart chart, Labels labels) {}

    static Built build(String title, String yTitle, List<Point> methods, Point source) {
        List<Point> pts = methods.stream().filter(p -> Double.isFinite(p.bits()) && Double.isFinite(p.value())).toList();
        boolean haveSource = source != null && Double.isFinite(source.value());
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("real bits/weight (all metadata counted)")
                .yAxisTitle(yTitle).build();
        var st = chart.getStyler();
        st.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        st.setMarkerSize(10);
        st.setLegendVisible(false); // every point carries its own label
        st.setChartTitleFont(st.getChartTitleFont().deriveFont(15f));
        if (pts.isEmpty()) {
            chart.addSeries("no measured methods", new double[] {0}, new double[] {haveSource ? source.value() : 0});
            return new Built(chart, new Labels());
        }
        double lo = pts.stream().mapToDouble(Point::value).min().orElseThrow();
        double hi = pts.stream().mapToDouble(Point::value).max().orElseThrow();
        boolean log = lo > 0 && hi / lo > 10;
        boolean sourceShown = haveSource && (!log || source.value() > 0
                && Math.abs(Math.log10(source.value() / Math.clamp(source.value(), lo, hi))) <= Math.max(1, Math.log10(hi / lo)));
        if (sourceShown) {
            lo = Math.min(lo, source.value());
            hi = Math.max(hi, source.value());
        }
        st.setYAxisLogarithmic(log);
        if (log) {
            double r = hi / lo;
            st.setYAxisMin(lo / Math.pow(r, 0.06));
            st.setYAxisMax(hi * Math.pow(r, 0.12));
        } else {
            double span = hi > lo ? hi - lo : Math.max(Math.abs(hi), 1e-9);
            st.setYAxisMin(lo >= 0 ? Math.max(0, lo - 0.06 * span) : lo - 0.06 * span);
            st.setYAxisMax(hi + 0.12 * span);
        }
        double minX = pts.stream().mapToDouble(Point::bits).min().orElseThrow();
        double maxX = pts.stream().mapToDouble(Point::bits).max().orElseThrow();
        double x0 = Math.max(0, Math.floor(minX - 0.3)), x1 = Math.ceil(maxX + 0.3);
        st.setXAxisMin(x0);
        st.setXAxisMax(x1);

        Labels labels = new Labels();
        Set<String> names = new HashSet<>();
        List<List<Point>> groups = new ArrayList<>();
        for (Point p : pts) {
            String series = p.label();
            for (int k = 2; !names.add(series); k++) {
                series = p.label() + " (" + k + ")";
            }
            chart.addSeries(series, new double[] {p.bits()}, new double[] {p.value()});
            List<Point> same = groups.stream().filter(g -> g.get(0).bits() == p.bits() && g.get(0).value() == p.value()).findFirst().orElse(null);
            if (same == null) {
                groups.add(new ArrayList<>(List.of(p)));
            } else {
                same.add(p);
            }
        }
        for (List<Point> g : groups) {
            labels.items.add(new Label(String.join(" = ", g.stream().map(Point::label).toList()), g.get(0).bits(), g.get(0).value(), true));
        }
        if (sourceShown) {
            XYSeries line = chart.addSeries(source.label(), new double[] {x0, x1}, new double[] {source.value(), source.value()});
            line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            line.setLineStyle(SeriesLines.DASH_DASH);
            line.setLineColor(Color.GRAY);
            line.setMarker(SeriesMarkers.NONE);
            labels.items.add(new Label(source.label() + " source: " + format(source.value()), x1, source.value(), false));
        } else if (haveSource) {
            labels.note = source.label() + " source: " + format(source.value()) + ", " + (source.value() < lo ? "below" : "above") + " this log axis";
        }
        chart.addAnnotation(labels);
        return new Built(chart, labels);
    }

    static String format(double v) {
        return v != 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? String.format("%.2g", v) : String.format("%.4g", v);
    }

    /** A label for the point (or the reference line's right end) at data coordinates x, y. */
    record Label(String text, double x, double y, boolean marker) {}

    /** Draws the labels after the plot, in screen space, each at the first free place around its point. */
    static final class Labels extends Annotation {
        final List<Label> items = new ArrayList<>();
        /** Where each item's text went in the last drawing, in item order, and the markers' boxes. */
        final List<Rectangle2D> placed = new ArrayList<>(), markers = new ArrayList<>();
        String note;

        Labels() {
            super(false);
        }

        @Override
        public void paint(Graphics2D g) {
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            Rectangle2D plot = new Rectangle2D.Double(getXAxisScreenValueForMin(), getYAxisScreenValueForMin(),
                    getXAxisScreenValueForMax() - getXAxisScreenValueForMin(), getYAxisScreenValueForMax() - getYAxisScreenValueForMin());
            double m = 7; // half a marker, plus a little air
            placed.clear();
            markers.clear();
            for (Label l : items) {
                if (l.marker()) {
                    markers.add(new Rectangle2D.Double(getXAxisScreenValue(l.x()) - m, getYAxisScreenValue(l.y()) - m, 2 * m, 2 * m));
                }
            }
            List<Rectangle2D> taken = new ArrayList<>(markers);
            g.setColor(new Color(40, 40, 40));
            g.setStroke(new BasicStroke(0.8f));
            for (Label l : items) {
                double px = getXAxisScreenValue(l.x()), py = getYAxisScreenValue(l.y());
                double w = fm.stringWidth(l.text()), h = fm.getAscent() + fm.getDescent();
                Rectangle2D best = null;
                boolean leader = false;
                for (double[] c : candidates(l.marker(), px, py, w, h, m)) {
                    Rectangle2D r = new Rectangle2D.Double(c[0], c[1], w, h);
                    if (plot.contains(r) && taken.stream().noneMatch(r::intersects)) {
                        best = r;
                        leader = c[2] > 0;
                        break;
                    }
                }
                if (best == null) { // crowded: the first place inside the plot, overlaps and all
                    best = new Rectangle2D.Double(Math.clamp(px + m, plot.getMinX(), Math.max(plot.getMinX(), plot.getMaxX() - w)),
                            Math.clamp(py - h / 2, plot.getMinY(), Math.max(plot.getMinY(), plot.getMaxY() - h)), w, h);
                }
                taken.add(best);
                placed.add(best);
                if (leader) {
                    double lx = Math.clamp(px, best.getMinX(), best.getMaxX()), ly = Math.clamp(py, best.getMinY(), best.getMaxY());
                    g.draw(new Line2D.Double(px, py, lx, ly));
                }
                g.drawString(l.text(), (float) best.getX(), (float) (best.getY() + fm.getAscent()));
            }
            if (note != null) {
                g.drawString(note, (float) (plot.getMinX() + 8), (float) (plot.getMaxY() - 8 - fm.getDescent()));
            }
        }

        /** Top-left corners to try, nearest first; the third value marks places that need a leader line. */
        private static List<double[]> candidates(boolean marker, double px, double py, double w, double h, double m) {
            List<double[]> c = new ArrayList<>();
            if (!marker) { // the reference line's right end: just above or below the line, flush right
                c.add(new double[] {px - w - 4, py - h - 2, 0});
                c.add(new double[] {px - w - 4, py + 2, 0});
                return c;
            }
            c.add(new double[] {px + m + 2, py - h / 2, 0});
            c.add(new double[] {px - m - 2 - w, py - h / 2, 0});
            c.add(new double[] {px - w / 2, py - m - h, 0});
            c.add(new double[] {px - w / 2, py + m, 0});
            for (int k = 1; k <= 6; k++) {
                for (int sign : new int[] {-1, 1}) {
                    double y = py - h / 2 + sign * k * (h + 1);
                    c.add(new double[] {px + 3 * m, y, 1});
                    c.add(new double[] {px - 3 * m - w, y, 1});
                }
            }
            return c;
        }
    }
}
