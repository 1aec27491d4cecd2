/**
 * Hugging Face Llama checkpoints and the forward pass over them.
 *
 * <ul>
 *   <li>{@link io.weir.worker.model.ModelConfig}: config.json + generation_config.json;</li>
 *   <li>{@link io.weir.worker.model.SafetensorsFile} / {@link io.weir.worker.model.Checkpoint}: memory-mapped
 *       safetensors shards; {@link io.weir.worker.model.SafetensorsWriter} writes them;</li>
 *   <li>{@link io.weir.worker.model.ModelRunner}: a checkpoint loaded into a kernel backend, with a KV
 *       cache of slots, driven by one engine thread;</li>
 *   <li>{@link io.weir.worker.model.RandomCheckpoint}: random-weight checkpoints of any shape, with a
 *       byte-fallback tokenizer, for the demo model and benchmarks.</li>
 * </ul>
 */
package io.weir.worker.model;
