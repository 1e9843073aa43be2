package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.eval.TextFiles;

import java.nio.file.Path;

/**
 * A text file cut by lines into a calibration part (the first lines) and an evaluation part (the
 * rest), so that importance is never measured on the text a quantized model is later scored on.
 * Every report that uses either part states the split with {@link #description()}, e.g.
 * "wiki.test.raw lines 1–435 (calibration) / 436–4358 (evaluation)".
 *
 * <p>A line is what {@link String#lines()} counts; each part keeps its line terminators, so
 * {@code calibration + evaluation} is the file's text exactly.
 *
 * @param calibrationLines lines 1..calibrationLines are calibration; the rest, up to totalLines, evaluation
 */
public record DataSplit(String fileName, String calibration, String evaluation, int calibrationLines, int totalLines) {
    /** The project's default calibration and evaluation text, relative to the data folder. */
    public static final String WIKITEXT = "text/wikitext-2-raw/wiki.test.raw";

    /** The default data folder (as tests use it): the system property nashswarm.data, else ../shared/data. */
    public static Path dataRoot() {
        return Path.of(System.getProperty("nashswarm.data", "../shared/data"));
    }

    /** Reads {@code file} (strict UTF-8) and splits it after the first ⌊fraction·lines⌋ lines (at least one). */
    public static DataSplit of(Path file, double calibrationFraction) {
        return of(file.getFileName().toString(), TextFiles.readUtf8(file), calibrationFraction);
    }

    public static DataSplit of(String fileName, String text, double calibrationFraction) {
        checkFraction(calibrationFraction);
        int total = (int) text.lines().count();
        if (total == 0) {
            throw new EngineException(fileName + ": the calibration text is empty");
        }
        int k = Math.max(1, (int) Math.floor(calibrationFraction * total));
        int cut = offsetAfterLines(text, k);
        return new DataSplit(fileName, text.substring(0, cut), text.substring(cut), k, total);
    }

    public static void checkFraction(double calibrationFraction) {
        if (!(calibrationFraction > 0 && calibrationFraction <= 1)) {
            throw new EngineException("--calib-fraction must be in (0, 1], got " + calibrationFraction);
        }
    }

    /** Character offset just after the first {@code k} lines (their terminators included). */
    private static int offsetAfterLines(String text, int k) {
        int at = 0;
        for (int line = 0; line < k && at < text.length(); line++) {
            while (at < text.length() && text.charAt(at) != '\n' && text.charAt(at) != '\r') {
                at++;
            }
            if (at < text.length()) {
                // \r\n is one terminator, as String.lines() counts it.
                at += text.startsWith("\r\n", at) ? 2 : 1;
            }
        }
        return at;
    }

    /** First line number (1-based) of the evaluation part; {@code totalLines + 1} when it is empty. */
    public int firstEvaluationLine() {
        return calibrationLines + 1;
    }

    public String description() {
        String calib = fileName + " lines 1–" + calibrationLines + " (calibration)";
        return calibrationLines == totalLines ? calib + " / no evaluation lines left"
                : calib + " / " + firstEvaluationLine() + "–" + totalLines + " (evaluation)";
    }
}
