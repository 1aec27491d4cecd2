package io.weir.worker.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every constant of the subsets' enums carries the wk_dtype code and element size of weir_kernels.h's wk_dtype. */
class ElementTypeTest {
    private static final Map<String, int[]> WK_DTYPE = Map.of("F32", new int[] {0, 4}, "F16", new int[] {1, 2},
            "BF16", new int[] {2, 2}, "INT8", new int[] {3, 1});

    @Test
    void subsetsCarryTheirElementTypesCodeAndSize() {
        Stream.of(DType.values(), WeightStorage.values(), KvDtype.values()).flatMap(Stream::of).forEach(c -> {
            ElementType.Of of = (ElementType.Of) c;
            int[] want = WK_DTYPE.get(of.name());
            String what = c.getClass().getSimpleName() + "." + of.name();
            assertEquals(want[0], of.code(), what + " code");
            assertEquals(want[1], of.bytes(), what + " bytes");
        });
    }
}
