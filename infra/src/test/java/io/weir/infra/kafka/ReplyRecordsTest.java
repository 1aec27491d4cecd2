package io.weir.infra.kafka;

import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ReplyRecordsTest {
    private static CompletionEvent token(String request, int seq, String text) {
        return new CompletionEvent(request, seq, CompletionEvent.Kind.TOKEN, text, 7, text, -0.5, null, 3, seq + 1, false,
                null, null);
    }

    @Test
    void aBatchOfSeveralRequestsRoundTripsInOrder() {
        List<CompletionEvent> events = List.of(token("a", 0, "x"), token("b", 0, "y"), token("a", 1, "z"),
                CompletionEvent.error("c", 0, 400, "bad"), CompletionEvent.cancelled("b", 1, 3, 1));
        byte[] value = ReplyRecords.encode(events);
        assertEquals('[', value[0]);
        assertEquals(events, ReplyRecords.decode(value));
    }

    @Test
    void aSingleEventObjectIsStillRead() {
        CompletionEvent e = token("a", 4, "w");
        assertEquals(List.of(e), ReplyRecords.decode((" \n" + Json.toString(e)).getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void anUnreadableValueSaysSo() {
        assertThrows(UncheckedIOException.class, () -> ReplyRecords.decode("[{\"seq\": \"x\"".getBytes(StandardCharsets.UTF_8)));
        assertThrows(UncheckedIOException.class, () -> ReplyRecords.decode(new byte[0]));
    }
}
