package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.TestData;
import io.nashswarm.eval.TextFiles;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class DataSplitTest {
    @Test
    void splitsByLinesIntoDisjointParts() {
        String text = "one\ntwo\r\nthree\n\nfive\nsix\nseven\neight\nnine\nten";
        DataSplit s = DataSplit.of("t.txt", text, 0.3);
        assertEquals(10, s.totalLines());
        assertEquals(3, s.calibrationLines());
        assertEquals("one\ntwo\r\nthree\n", s.calibration());
        assertEquals(text, s.calibration() + s.evaluation());
        assertEquals(List.of("one", "two", "three"), s.calibration().lines().toList());
        assertEquals(7, s.evaluation().lines().count());
        assertEquals("t.txt lines 1–3 (calibration) / 4–10 (evaluation)", s.description());
        DataSplit all = DataSplit.of("t.txt", text, 1.0);
        assertEquals("", all.evaluation());
        assertEquals("t.txt lines 1–10 (calibration) / no evaluation lines left", all.description());
        assertEquals(1, DataSplit.of("t.txt", text, 0.01).calibrationLines(), "at least one line");
        assertThrows(EngineException.class, () -> DataSplit.of("t.txt", text, 0));
        assertThrows(EngineException.class, () -> DataSplit.of("t.txt", text, 1.5));
        assertThrows(EngineException.class, () -> DataSplit.of("e.txt", "", 0.1));
    }

    @Test
    void wikitextDefaultSplit() {
        Path wiki = TestData.require(DataSplit.WIKITEXT);
        DataSplit s = DataSplit.of(wiki, 0.1);
        assertEquals("wiki.test.raw lines 1–435 (calibration) / 436–4358 (evaluation)", s.description());
        String text = TextFiles.readUtf8(wiki);
        assertEquals(text, s.calibration() + s.evaluation());
        List<String> lines = text.lines().toList();
        assertEquals(lines.subList(0, 435), s.calibration().lines().toList());
        assertEquals(lines.subList(435, 4358), s.evaluation().lines().toList());
        // No calibration article heading reappears in the evaluation part (the split is between articles' text).
        Set<String> calibHeadings = new HashSet<>();
        s.calibration().lines().filter(l -> l.startsWith(" = ") && !l.startsWith(" = = ")).forEach(calibHeadings::add);
        assertFalse(calibHeadings.isEmpty());
        s.evaluation().lines().filter(l -> l.startsWith(" = ") && !l.startsWith(" = = "))
                .forEach(h -> assertFalse(calibHeadings.contains(h), "article " + h + " is in both parts"));
    }
}
