package io.weir.worker.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Allocation, reference counting, prefix sharing and eviction of KV blocks, without a model. */
class BlockManagerTest {
    private static final int BS = 16;

    private static int[] tokens(int n, int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return IntStream.range(0, n).map(i -> r.nextInt(1000)).toArray();
    }

    @Test
    void blocksAreTakenOnDemandAndGivenBack() {
        BlockManager m = new BlockManager(4, BS);
        BlockTable t = new BlockTable();
        assertEquals(1, m.blocksNeeded(t, 0));
        assertEquals(2, m.blocksNeeded(t, 16));
        assertTrue(m.ensure(t, 15));
        assertEquals(1, t.size());
        assertTrue(m.ensure(t, 15)); // already covered: nothing taken
        assertEquals(3, m.freeBlocks());
        assertTrue(m.ensure(t, 63));
        assertEquals(4, t.size());
        assertFalse(m.ensure(t, 64), "a fifth block does not exist");
        assertEquals(4, t.size(), "a failed ensure takes nothing");
        Set<Integer> distinct = new HashSet<>();
        for (int i = 0; i < t.size(); i++) distinct.add(t.get(i));
        assertEquals(4, distinct.size());
        m.release(t);
        assertEquals(0, t.size());
        assertEquals(4, m.freeBlocks());
        assertEquals(0, m.stats().usedBlocks());
    }

    @Test
    void aSharedPrefixIsFoundAndItsBlocksShared() {
        BlockManager m = new BlockManager(16, BS);
        int[] prompt = tokens(50, 1); // 3 full blocks + 2 tokens
        BlockTable a = new BlockTable();
        assertEquals(0, m.matchPrefix(a, prompt, prompt.length), "nothing cached yet");
        assertTrue(m.ensure(a, prompt.length - 1));
        m.registerFull(a, prompt, prompt.length);

        BlockTable b = new BlockTable();
        assertEquals(48, m.matchPrefix(b, prompt, prompt.length));
        assertEquals(3, b.size());
        for (int i = 0; i < 3; i++) assertEquals(a.get(i), b.get(i));
        assertEquals(4, m.stats().usedBlocks(), "shared blocks count once");
        assertEquals(3, m.stats().prefixHits());

        // a prompt that differs in its second block shares only the first
        int[] other = prompt.clone();
        other[20]++;
        BlockTable c = new BlockTable();
        assertEquals(16, m.matchPrefix(c, other, other.length));
        assertEquals(a.get(0), c.get(0));
    }

    @Test
    void theLastPromptTokenIsNeverShared() {
        BlockManager m = new BlockManager(8, BS);
        int[] prompt = tokens(32, 2); // exactly two blocks
        BlockTable a = new BlockTable();
        m.matchPrefix(a, prompt, 32);
        m.ensure(a, 31);
        m.registerFull(a, prompt, 32);
        BlockTable b = new BlockTable();
        assertEquals(16, m.matchPrefix(b, prompt, 32), "the block holding the last token is recomputed");
    }

    @Test
    void releasedFullBlocksStayCachedUntilEvicted() {
        BlockManager m = new BlockManager(3, BS);
        int[] prompt = tokens(40, 3);
        BlockTable a = new BlockTable();
        m.matchPrefix(a, prompt, 40);
        m.ensure(a, 39);
        m.registerFull(a, prompt, 40);
        int first = a.get(0);
        m.release(a);
        assertEquals(2, m.stats().cachedBlocks());
        assertEquals(3, m.freeBlocks(), "cached blocks are free for allocation");

        BlockTable again = new BlockTable();
        assertEquals(32, m.matchPrefix(again, prompt, 40), "found after release");
        assertEquals(first, again.get(0));
        m.release(again);

        // three fresh blocks: the never-cached one goes first, then the cached ones, oldest first
        BlockTable fresh = new BlockTable();
        assertTrue(m.ensure(fresh, 47));
        assertEquals(2, m.stats().evictions());
        m.release(fresh);
        assertEquals(0, m.matchPrefix(new BlockTable(), prompt, 40), "evicted content is gone");
    }

    @Test
    void aCollidingKeyWithOtherTokensIsNotAHit() {
        // two different prompts never match each other's blocks, whatever their hashes
        BlockManager m = new BlockManager(8, BS);
        int[] p1 = tokens(33, 4), p2 = tokens(33, 5);
        BlockTable a = new BlockTable();
        m.matchPrefix(a, p1, 33);
        m.ensure(a, 32);
        m.registerFull(a, p1, 33);
        assertEquals(0, m.matchPrefix(new BlockTable(), p2, 33));
    }

    @Test
    void duplicateContentComputedTwiceStaysPrivateAndIsFreedNotCached() {
        BlockManager m = new BlockManager(8, BS);
        int[] prompt = tokens(20, 6);
        BlockTable a = new BlockTable(), b = new BlockTable();
        m.matchPrefix(a, prompt, 20);
        m.matchPrefix(b, prompt, 20); // both admitted before either registered
        m.ensure(a, 19);
        m.ensure(b, 19);
        m.registerFull(a, prompt, 20);
        m.registerFull(b, prompt, 20);
        assertNotEquals(a.get(0), b.get(0));
        m.release(b);
        assertEquals(0, m.stats().cachedBlocks(), "b's copy is not the cached one");
        m.release(a);
        assertEquals(1, m.stats().cachedBlocks());
    }

    @Test
    void randomWorkNeverLeaksOrDoubleFreesABlock() {
        BlockManager m = new BlockManager(64, BS);
        SplittableRandom r = new SplittableRandom(7);
        int[] shared = tokens(200, 8);
        List<BlockTable> live = new ArrayList<>();
        List<int[]> contents = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            if (!live.isEmpty() && r.nextInt(3) == 0) {
                int k = r.nextInt(live.size());
                m.release(live.remove(k));
                contents.remove(k);
                continue;
            }
            int len = 1 + r.nextInt(120);
            int[] seq = r.nextBoolean() ? java.util.Arrays.copyOf(shared, len) : tokens(len, r.nextInt());
            BlockTable t = new BlockTable();
            int cached = m.matchPrefix(t, seq, len);
            assertTrue(cached < len && cached % BS == 0);
            if (!m.ensure(t, len - 1)) {
                m.release(t);
                continue;
            }
            m.registerFull(t, seq, len);
            live.add(t);
            contents.add(seq);
        }
        int held = 0;
        Set<Integer> distinct = new HashSet<>();
        for (BlockTable t : live) for (int i = 0; i < t.size(); i++) distinct.add(t.get(i));
        held = distinct.size();
        assertEquals(held, m.stats().usedBlocks());
        live.forEach(m::release);
        assertEquals(0, m.stats().usedBlocks());
        assertEquals(64, m.freeBlocks());
        assertThrows(IllegalArgumentException.class, () -> new BlockManager(0, BS));
    }
}
