package io.weir.worker.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Hand-written binding of {@code weir_kernels.h}, in jextract's shape: one holder class per C function
 * with its name, {@code static final} descriptor and {@code static final} downcall handle.
 *
 * <p>The handles are address-less ({@link Linker#downcallHandle(FunctionDescriptor, Linker.Option...)}):
 * their first argument is the function's address. Both backend libraries export the same symbols, so
 * one set of constant handles serves both; each {@link KernelLibrary} supplies its own addresses.
 * Keep this file in step with the header: same order, same types ({@code int32_t} = {@code JAVA_INT},
 * {@code int64_t} = {@code JAVA_LONG}, pointers = {@code ADDRESS}).
 */
final class WeirNative {
    private WeirNative() {}

    static final Linker LINKER = Linker.nativeLinker();

    // wk_status
    static final int WK_OK = 0;
    static final int WK_ERR_ARG = -1;
    static final int WK_ERR_RANGE = -2;
    static final int WK_ERR_STATE = -3;
    static final int WK_ERR_NOMEM = -4;
    static final int WK_ERR_DEVICE = -5;
    static final int WK_ERR_UNSUPPORTED = -6;

    static String statusName(int status) {
        return switch (status) {
            case WK_OK -> "WK_OK";
            case WK_ERR_ARG -> "WK_ERR_ARG";
            case WK_ERR_RANGE -> "WK_ERR_RANGE";
            case WK_ERR_STATE -> "WK_ERR_STATE";
            case WK_ERR_NOMEM -> "WK_ERR_NOMEM";
            case WK_ERR_DEVICE -> "WK_ERR_DEVICE";
            case WK_ERR_UNSUPPORTED -> "WK_ERR_UNSUPPORTED";
            default -> "status " + status;
        };
    }

    /** The address of {@code name} in {@code lookup}, or {@link UnsatisfiedLinkError} naming it. */
    static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new UnsatisfiedLinkError("kernel library has no symbol " + name));
    }

    // ------------------------------------------------------------------------------------------------
    // Library

    /** {@code const char* wk_backend_name(void)} */
    static final class wk_backend_name {
        static final String NAME = "wk_backend_name";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_device_count(void)} */
    static final class wk_device_count {
        static final String NAME = "wk_device_count";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code const char* wk_last_error(void)} */
    static final class wk_last_error {
        static final String NAME = "wk_last_error";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code const char* wk_backend_info(void)} */
    static final class wk_backend_info {
        static final String NAME = "wk_backend_info";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    // ------------------------------------------------------------------------------------------------
    // Model lifecycle

    /** {@code int32_t wk_model_create(const wk_config* cfg, int32_t max_slots, int32_t max_batch, wk_model** out)} */
    static final class wk_model_create {
        static final String NAME = "wk_model_create";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_model_create_ex(const wk_config* cfg, const wk_options* opts, wk_model** out)} */
    static final class wk_model_create_ex {
        static final String NAME = "wk_model_create_ex";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_model_kv_info(const wk_model* m, int32_t* n_blocks, int32_t* block_size)} */
    static final class wk_model_kv_info {
        static final String NAME = "wk_model_kv_info";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_model_set_tensor(wk_model* m, int32_t tensor, int32_t layer, const void* data, int32_t dtype, int64_t n_elements)} */
    static final class wk_model_set_tensor {
        static final String NAME = "wk_model_set_tensor";
        static final FunctionDescriptor DESC =
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code void wk_model_free(wk_model* m)} */
    static final class wk_model_free {
        static final String NAME = "wk_model_free";
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    // ------------------------------------------------------------------------------------------------
    // Forward pass

    /** {@code int32_t wk_forward(wk_model* m, int32_t slot, const int32_t* tokens, int32_t n_tokens, int32_t start_pos, float* logits_out)} */
    static final class wk_forward {
        static final String NAME = "wk_forward";
        static final FunctionDescriptor DESC =
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_forward_batch(wk_model* m, int32_t n_rows, const int32_t* slots, const int32_t* tokens, const int32_t* positions, float* logits_out)} */
    static final class wk_forward_batch {
        static final String NAME = "wk_forward_batch";
        static final FunctionDescriptor DESC =
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /**
     * {@code int32_t wk_forward_paged(wk_model* m, int32_t n_rows, const int32_t* tokens, const int32_t* positions,
     * const int32_t* row_seq, int32_t n_seqs, const int32_t* block_tables, int32_t table_stride, int32_t n_logits,
     * const int32_t* logit_rows, float* logits_out, int32_t* argmax_out)}
     */
    static final class wk_forward_paged {
        static final String NAME = "wk_forward_paged";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    // ------------------------------------------------------------------------------------------------
    // Machine ceilings

    /** {@code int32_t wk_bench_read_bandwidth(int64_t bytes, int32_t reps, double* gb_per_s)} */
    static final class wk_bench_read_bandwidth {
        static final String NAME = "wk_bench_read_bandwidth";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_bench_fma_peak(int32_t millis, double* gflop_per_s)} */
    static final class wk_bench_fma_peak {
        static final String NAME = "wk_bench_fma_peak";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /**
     * {@code int32_t wk_bench_attention(int32_t kv_dtype, int32_t n_rows, int32_t n_pos, int32_t n_query, int32_t n_layers,
     * int32_t n_kv_heads, int32_t head_dim, int32_t reps, double* ns_per_position)}
     */
    static final class wk_bench_attention {
        static final String NAME = "wk_bench_attention";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    // ------------------------------------------------------------------------------------------------
    // Test hooks

    /** {@code int32_t wk_test_gemm(int32_t path, int32_t dtype, float* out, const float* x, const float* w, int32_t m, int32_t n, int32_t d)} */
    static final class wk_test_gemm {
        static final String NAME = "wk_test_gemm";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_test_gemm_argmax(int32_t path, int32_t dtype, int32_t* argmax, const float* x, const float* w, int32_t m, int32_t n, int32_t d)} */
    static final class wk_test_gemm_argmax {
        static final String NAME = "wk_test_gemm_argmax";
        static final FunctionDescriptor DESC = wk_test_gemm.DESC;
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /**
     * {@code int32_t wk_test_attention(int32_t path, int32_t kv_dtype, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim,
     * int32_t block_size, int32_t n_pos, int32_t n_rows, const int32_t* table, const float* q, const float* k, const float* v,
     * float* out)}
     */
    static final class wk_test_attention {
        static final String NAME = "wk_test_attention";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_test_pool(int32_t n_threads, int32_t n_jobs, int32_t max_items, int64_t* bad)} */
    static final class wk_test_pool {
        static final String NAME = "wk_test_pool";
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }

    /** {@code int32_t wk_test_matmul(int32_t path, float* out, const float* x, const float* w, int32_t n, int32_t d)} */
    static final class wk_test_matmul {
        static final String NAME = "wk_test_matmul";
        static final FunctionDescriptor DESC =
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = LINKER.downcallHandle(DESC);
    }
}
