package io.weir.worker.kvcache;

import java.util.Arrays;

/**
 * One sequence's KV blocks in position order: position {@code p} lives in block {@code get(p / blockSize)}.
 * Also remembers how many leading blocks are registered in the prefix cache and the hash chain up to them.
 * Owned by the engine thread; changed only through {@link BlockManager}.
 */
public final class BlockTable {
    private int[] blocks = new int[8];
    private int size;
    int registered;      // leading full blocks already offered to the prefix cache
    long registeredHash; // content hash of the tokens of those blocks (BlockManager.ROOT_HASH for none)

    public BlockTable() {
        clear();
    }

    /** Blocks held. */
    public int size() {
        return size;
    }

    public int get(int index) {
        if (index >= size) throw new IndexOutOfBoundsException(index);
        return blocks[index];
    }

    /** Copies the block ids into {@code dst} at {@code offset}. */
    public void copyTo(int[] dst, int offset) {
        System.arraycopy(blocks, 0, dst, offset, size);
    }

    void add(int block) {
        if (size == blocks.length) blocks = Arrays.copyOf(blocks, size * 2);
        blocks[size++] = block;
    }

    void clear() {
        size = 0;
        registered = 0;
        registeredHash = BlockManager.ROOT_HASH;
    }

    @Override
    public String toString() {
        return Arrays.toString(Arrays.copyOf(blocks, size));
    }
}
