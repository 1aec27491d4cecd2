/**
 * The paged KV cache as the engine manages it: the kernel library holds a pool of fixed-size blocks, and
 * this package decides which block holds what. {@link io.weir.worker.kvcache.BlockManager} allocates blocks
 * on demand (nothing is reserved for a request's maximum length), counts references, and keeps full blocks
 * addressable by the content hash of the tokens up to and including them, so sequences whose prompts share
 * a prefix share those blocks (prefix caching). {@link io.weir.worker.kvcache.BlockTable} is one sequence's
 * list of blocks, in position order, as passed to the kernels.
 */
package io.weir.worker.kvcache;
