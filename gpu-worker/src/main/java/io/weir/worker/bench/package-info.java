/**
 * {@code weir bench}: measures this machine's own ceilings (read bandwidth over a buffer the size of the weights,
 * peak FMA rate), then runs random-weight checkpoints of realistic shapes through the engine, in-process and
 * through the full HTTP + Kafka stack, and reports each figure beside its roofline.
 */
package io.weir.worker.bench;
