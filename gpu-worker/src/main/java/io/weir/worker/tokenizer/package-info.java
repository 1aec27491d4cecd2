/**
 * Pure-Java Hugging Face {@code tokenizer.json} tokenizers (BPE models of the Llama and GPT-2
 * families). {@link io.weir.worker.tokenizer.Tokenizer} encodes and decodes;
 * {@link io.weir.worker.tokenizer.IncrementalDecoder} streams generated text. Each tokenizer.json
 * section has its own sealed interface ({@code Normalizer}, {@code PreTokenizer},
 * {@code PostProcessor}, {@code Decoder}) whose records mirror the Rust library's components;
 * anything else is rejected with "unsupported tokenizer component".
 */
package io.weir.worker.tokenizer;
