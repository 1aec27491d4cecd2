package io.weir.infra.kafka;

import com.fasterxml.jackson.core.type.TypeReference;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The value of a record on a reply topic: a JSON array of {@link CompletionEvent}s, in the order they were
 * produced, possibly of several requests. One record per batch instead of one per token is what keeps the
 * reply path cheap under load: a worker sends whatever its engine emitted since its last send (one step's
 * tokens of every running sequence, or a single token when it is idle), so batching adds no latency.
 * A single JSON object (one event, as written before batching) is still read.
 */
public final class ReplyRecords {
    private static final TypeReference<List<CompletionEvent>> EVENTS = new TypeReference<>() {
    };

    private ReplyRecords() {
    }

    public static byte[] encode(List<CompletionEvent> events) {
        return Json.toBytes(events);
    }

    /** The events of a record's value; throws {@link UncheckedIOException} when it is not readable. */
    public static List<CompletionEvent> decode(byte[] value) {
        try {
            return startsWithArray(value) ? Json.MAPPER.readValue(value, EVENTS)
                    : List.of(Json.MAPPER.readValue(value, CompletionEvent.class));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse reply events", e);
        }
    }

    private static boolean startsWithArray(byte[] value) {
        for (byte b : value) {
            if (!Character.isWhitespace(b)) {
                return b == '[';
            }
        }
        return false;
    }
}
