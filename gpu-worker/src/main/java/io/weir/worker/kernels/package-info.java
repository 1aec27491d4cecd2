/**
 * The Weir kernel library ({@code gpu-worker/src/main/c}, header {@code weir_kernels.h}) called through
 * the FFM API ({@code java.lang.foreign}), no JNI.
 *
 * <ul>
 *   <li>{@link io.weir.worker.kernels.BackendSelector} picks CPU or CUDA ({@code weir.backend} /
 *       {@code WEIR_BACKEND} = cpu|cuda|auto) and logs why;</li>
 *   <li>{@link io.weir.worker.kernels.KernelLibrary} is one loaded backend library;</li>
 *   <li>{@link io.weir.worker.kernels.NativeModel} is a {@code wk_model}: weights, activations, KV cache;</li>
 *   <li>{@code WeirNative} is the hand-written binding, one holder per C function.</li>
 * </ul>
 */
package io.weir.worker.kernels;
