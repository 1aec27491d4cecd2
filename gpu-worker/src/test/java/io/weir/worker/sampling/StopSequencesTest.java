package io.weir.worker.sampling;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopSequencesTest {

    @Test
    void stopSpanningSeveralPiecesIsCutAndNeverShownInPart() {
        StopSequences s = new StopSequences(List.of("the end"), false);
        StringBuilder shown = new StringBuilder();
        for (String piece : List.of("And", " so", " the", " e", "nd", " came")) {
            shown.append(s.accept(piece));
            assertFalse(shown.toString().contains(" the e"), "part of the stop string was shown: " + shown);
        }
        assertTrue(s.stopped());
        assertEquals("And so ", shown.toString());
    }

    @Test
    void includeStopKeepsTheStopString() {
        StopSequences s = new StopSequences(List.of("."), true);
        assertEquals("Hi", s.accept("Hi"));
        assertEquals(".", s.accept(". More"));
        assertTrue(s.stopped());
        assertEquals("", s.accept("ignored"));
    }

    @Test
    void heldBackTextIsReleasedWhenItIsNotAStop() {
        StopSequences s = new StopSequences(List.of("STOP"), false);
        assertEquals("a ", s.accept("a ST"));
        assertEquals("STart", s.accept("art"));
        assertEquals("", s.accept("S"));
        assertEquals("S", s.flush());
        assertFalse(s.stopped());
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopSequences s = new StopSequences(List.of("world", "lo"), false);
        assertEquals("hel", s.accept("hello world"));
    }
}
