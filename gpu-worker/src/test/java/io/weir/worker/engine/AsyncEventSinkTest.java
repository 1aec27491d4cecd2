package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AsyncEventSinkTest {
    private static final CompletableFuture<Void> DELIVERED = CompletableFuture.completedFuture(null);

    private record Sent(String topic, List<CompletionEvent> events) {
    }

    private static CompletionEvent token(String request, int seq) {
        return new CompletionEvent(request, seq, CompletionEvent.Kind.TOKEN, "t" + seq, seq, "t", null, null, 1, seq + 1,
                false, null, null);
    }

    @Test
    void whatQueuesWhileASendIsUnderWayLeavesTogetherInBoundedBatches() throws Exception {
        List<Sent> sent = new ArrayList<>();
        CountDownLatch allQueued = new CountDownLatch(1);
        AsyncEventSink sink = new AsyncEventSink("test-replies", (topic, events) -> {
            try {
                assertTrue(allQueued.await(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            synchronized (sent) {
                sent.add(new Sent(topic, List.copyOf(events)));
            }
            return DELIVERED;
        });
        int n = 600;
        for (int i = 0; i < n; i++) {
            sink.emit("replies.a", token("r" + (i % 7), i));
            if (i % 7 == 0) {
                sink.flush(); // steps of 7 events; the first send takes the first step alone and waits
            }
        }
        sink.flush();
        allQueued.countDown();
        sink.close();

        List<CompletionEvent> all = sent.stream().flatMap(s -> s.events().stream()).toList();
        assertEquals(IntStream.range(0, n).boxed().toList(), all.stream().map(CompletionEvent::seq).toList(), "all, in order");
        assertTrue(sent.stream().allMatch(s -> s.events().size() <= AsyncEventSink.MAX_BATCH), "bounded batches");
        // The first send takes the first step; the rest was handed over meanwhile and goes in full batches.
        assertTrue(sent.size() <= 1 + (n - 1 + AsyncEventSink.MAX_BATCH - 1) / AsyncEventSink.MAX_BATCH, "sends: " + sent.size());
    }

    @Test
    void aStepsEventsLeaveInOneSendPerTopic() throws Exception {
        List<Sent> sent = new ArrayList<>();
        CountDownLatch twoSends = new CountDownLatch(2);
        AsyncEventSink sink = new AsyncEventSink("test-replies", (topic, events) -> {
            synchronized (sent) {
                sent.add(new Sent(topic, List.copyOf(events)));
            }
            twoSends.countDown();
            return DELIVERED;
        });
        for (int i = 0; i < 32; i++) {
            sink.emit(i % 4 == 0 ? "replies.x" : "replies.y", token("r" + i, 0));
        }
        sink.flush();
        assertTrue(twoSends.await(30, TimeUnit.SECONDS));
        sink.close();
        synchronized (sent) {
            assertEquals(2, sent.size(), "one send per topic: " + sent);
            assertEquals(8, sent.stream().filter(s -> s.topic().equals("replies.x")).findFirst().orElseThrow().events().size());
            assertEquals(24, sent.stream().filter(s -> s.topic().equals("replies.y")).findFirst().orElseThrow().events().size());
        }
    }

    @Test
    void anAfterDeliveryActionWaitsForTheSendsOfTheEventsBeforeIt() throws Exception {
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        CountDownLatch sentBoth = new CountDownLatch(2);
        AsyncEventSink sink = new AsyncEventSink("test-replies", (topic, events) -> {
            CompletableFuture<Void> ack = new CompletableFuture<>();
            synchronized (acks) {
                acks.add(ack);
            }
            sentBoth.countDown();
            return ack;
        });
        CountDownLatch done = new CountDownLatch(1);
        sink.emit("replies.x", token("a", 0));
        sink.emit("replies.y", token("b", 0));
        sink.afterDelivery(done::countDown); // e.g. "the request's offset may be committed"
        sink.flush();
        assertTrue(sentBoth.await(30, TimeUnit.SECONDS));
        synchronized (acks) {
            acks.get(0).complete(null);
        }
        assertEquals(1, done.getCount(), "one of the two records is not acknowledged yet");
        synchronized (acks) {
            acks.get(1).complete(null);
        }
        assertTrue(done.await(30, TimeUnit.SECONDS), "both acknowledged: the action ran");
        sink.close();
    }

    @Test
    void eventsOfEachTopicStayInOrderAndApart() throws Exception {
        List<Sent> sent = new ArrayList<>();
        AsyncEventSink sink = new AsyncEventSink("test-replies", (topic, events) -> {
            synchronized (sent) {
                sent.add(new Sent(topic, List.copyOf(events)));
            }
            return DELIVERED;
        });
        for (int i = 0; i < 300; i++) {
            sink.emit(i % 3 == 0 ? "replies.x" : "replies.y", token(i % 3 == 0 ? "x" : "y", i));
            if (i % 5 == 4) {
                sink.flush();
            }
        }
        sink.close();
        for (String topic : List.of("replies.x", "replies.y")) {
            List<Integer> seqs = sent.stream().filter(s -> s.topic().equals(topic)).flatMap(s -> s.events().stream())
                    .map(CompletionEvent::seq).toList();
            List<Integer> expected = IntStream.range(0, 300).filter(i -> (i % 3 == 0) == topic.equals("replies.x")).boxed().toList();
            assertEquals(expected, seqs, topic);
        }
        assertTrue(sent.stream().allMatch(s -> s.events().stream().allMatch(
                e -> e.requestId().equals(s.topic().equals("replies.x") ? "x" : "y"))), "no event in another topic's batch");
    }
}
