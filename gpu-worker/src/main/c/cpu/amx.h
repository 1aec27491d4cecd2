/*
 * amx.h: int8 products on AMX tiles (Advanced Matrix Extensions: Sapphire Rapids and later Xeons), for the W8A8
 * products of gemm.c when a row group is tall enough to fill a tile.
 *
 * A tile register holds 16 rows of 64 bytes. tdpbusd multiplies a tile of u8 activations (16 rows x 64 inputs) by a
 * tile of s8 weights (16 groups of 4 inputs x 16 columns) into a tile of 16 x 16 int32 sums. gemm.h's int8 panel is
 * already that weight layout: a group of 4 inputs of the panel's 32 columns is 128 bytes, so its columns 0-15 and
 * 16-31 are two tiles of stride 128. The sums are exact, the same integers as every other path's.
 *
 * The same kernel also runs on a C model of the tile instructions (the "amx-model" path), so the driver's tiling,
 * padding and epilogue are tested on CPUs without AMX; only the instructions themselves need the hardware.
 */
#ifndef WK_AMX_H
#define WK_AMX_H

#include <stdint.h>

// Inputs per tile step: a tile row of u8.
#define AMX_K_STEP 64
// Rows of the sums one call computes at most: two tiles of activations.
#define AMX_MAX_ROWS 32
// Bytes a call may read past a panel's last input group: one weight tile of 16 groups of 128 bytes.
#define AMX_PANEL_SLACK (16 * 128)

// 1 when this CPU has AMX-TILE and AMX-INT8, Linux let this process use the tile registers, and the instructions
// agreed with their C model on a test product (asked and checked once).
int32_t amx_available(void);

// Why a CPU with AMX does not get the path ("" when it does, or has no AMX).
const char* amx_refused(void);

// sums[r * 32 + c] = sum over j < k of xq[r * ldq + j] * panel's column c at input j, for r < rows (1..32), c < 32.
// k is a multiple of AMX_K_STEP; every row of xq up to the next multiple of 16 rows must be readable for k bytes
// (inputs past the real ones are 0, so whatever weights they meet add nothing), and the panel for k / 4 groups.
// model: 0 runs the tile instructions (amx_available() must be 1), 1 the C model of them.
void amx_int8_sums(int32_t model, const uint8_t* xq, int64_t ldq, int32_t rows, const int8_t* panel, int32_t k,
                   int32_t* sums);

#endif // WK_AMX_H
