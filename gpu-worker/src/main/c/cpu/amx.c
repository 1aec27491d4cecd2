/*
 * amx.c: see amx.h. The kernel is written once over TILE_* operations that are either the AMX instructions or
 * their C model, chosen by a constant argument of an always-inline body, so both paths run the same sequence.
 */
#define _GNU_SOURCE
#include "amx.h"

#include <immintrin.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int32_t amx_usable;
static const char* amx_why = "";
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static int32_t self_check(void);

// Linux keeps the tile data out of a thread's saved state until the process asks for it (the state is 8 KiB). The
// path is then checked once against the model, so that hardware or a hypervisor that gets it wrong costs speed, not
// results (the tests fail where a CPU with AMX is refused for that reason).
static void amx_ask(void) {
    if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-int8")) return;
    unsigned long permitted = 0;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0 ||
        syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &permitted) != 0 || !((permitted >> XFEATURE_XTILEDATA) & 1)) {
        amx_why = "the OS did not grant the tile state";
        return;
    }
    amx_usable = self_check();
    if (!amx_usable) amx_why = "the tile instructions disagreed with their model";
}

int32_t amx_available(void) {
    pthread_once(&amx_once, amx_ask);
    return amx_usable;
}

const char* amx_refused(void) {
    pthread_once(&amx_once, amx_ask);
    return amx_why;
}

// ----------------------------------------------------------------------------
// The tiles: 0-3 the sums (rows 0-15 / 16-31 x columns 0-15 / 16-31), 4-5 the activations (rows 0-15, 16-31),
// 6-7 the weights (columns 0-15, 16-31). All 16 rows of 64 bytes.

typedef struct __attribute__((aligned(64))) {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

_Static_assert(sizeof(tile_config) == 64, "ldtilecfg reads 64 bytes: palette, start row, 14 reserved, colsb, rows");

static const tile_config CONFIG = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

// The configuration is per thread (saved with the thread's state), loaded before its first product.
static __thread int32_t configured;

__attribute__((target("amx-tile"))) static void configure(void) {
    if (!configured) {
        _tile_loadconfig(&CONFIG);
        configured = 1;
    }
}

// The C model: 8 tiles of 16 rows x 64 bytes per thread, and tdpbusd as Intel's pseudo-code defines it
// (dst.dword[n] of row m += the 4 products of a.row[m].dword[k] (u8) and b.row[k].dword[n] (s8), k < 16).
static __thread uint8_t model_tiles[8][16][64];

static void model_load(int t, const void* base, int64_t stride) {
    for (int r = 0; r < 16; r++) memcpy(model_tiles[t][r], (const uint8_t*)base + r * stride, 64);
}

static void model_store(int t, void* base, int64_t stride) {
    for (int r = 0; r < 16; r++) memcpy((uint8_t*)base + r * stride, model_tiles[t][r], 64);
}

static void model_dpbusd(int dst, int a, int b) {
    for (int m = 0; m < 16; m++) {
        int32_t acc[16];
        memcpy(acc, model_tiles[dst][m], 64);
        for (int k = 0; k < 16; k++)
            for (int n = 0; n < 16; n++)
                for (int i = 0; i < 4; i++)
                    acc[n] += (int32_t)model_tiles[a][m][4 * k + i] * (int8_t)model_tiles[b][k][4 * n + i];
        memcpy(model_tiles[dst][m], acc, 64);
    }
}

// Tile numbers must be literals for the instructions.
#define TILE_ZERO(model, t) \
    do { if (model) memset(model_tiles[t], 0, sizeof model_tiles[t]); else _tile_zero(t); } while (0)
#define TILE_LOAD(model, t, base, stride) \
    do { if (model) model_load(t, base, stride); else _tile_loadd(t, base, stride); } while (0)
#define TILE_STORE(model, t, base, stride) \
    do { if (model) model_store(t, base, stride); else _tile_stored(t, base, stride); } while (0)
#define TILE_DPBUSD(model, dst, a, b) \
    do { if (model) model_dpbusd(dst, a, b); else _tile_dpbusd(dst, a, b); } while (0)

#define AMX_TARGET __attribute__((target("amx-tile,amx-int8")))

// Each step loads the two weight tiles once for both activation tiles: 4 products per 2 KiB of weights.
AMX_TARGET __attribute__((always_inline)) static inline void sums_body(const int model, const uint8_t* xq, int64_t ldq,
                                                                     int32_t rows, const int8_t* panel, int32_t k,
                                                                     int32_t* sums) {
    const int tall = rows > 16;
    if (!model) configure();
    TILE_ZERO(model, 0);
    TILE_ZERO(model, 1);
    if (tall) {
        TILE_ZERO(model, 2);
        TILE_ZERO(model, 3);
    }
    for (int32_t j = 0; j < k; j += AMX_K_STEP) {
        const int8_t* w = panel + (int64_t)j * 32; // j / 4 groups of 128 bytes
        TILE_LOAD(model, 6, w, 128);
        TILE_LOAD(model, 7, w + 64, 128);
        TILE_LOAD(model, 4, xq + j, ldq);
        TILE_DPBUSD(model, 0, 4, 6);
        TILE_DPBUSD(model, 1, 4, 7);
        if (tall) {
            TILE_LOAD(model, 5, xq + 16 * ldq + j, ldq);
            TILE_DPBUSD(model, 2, 5, 6);
            TILE_DPBUSD(model, 3, 5, 7);
        }
    }
    TILE_STORE(model, 0, sums, 128);
    TILE_STORE(model, 1, sums + 16, 128);
    if (tall) {
        TILE_STORE(model, 2, sums + 16 * 32, 128);
        TILE_STORE(model, 3, sums + 16 * 32 + 16, 128);
    }
}

AMX_TARGET static void sums_tiles(const uint8_t* xq, int64_t ldq, int32_t rows, const int8_t* panel, int32_t k,
                                  int32_t* sums) {
    sums_body(0, xq, ldq, rows, panel, k, sums);
}

AMX_TARGET static void sums_model(const uint8_t* xq, int64_t ldq, int32_t rows, const int8_t* panel, int32_t k,
                                  int32_t* sums) {
    sums_body(1, xq, ldq, rows, panel, k, sums);
}

// 32 rows x 128 inputs of pseudo-random bytes through the instructions and the model: the same sums?
static int32_t self_check(void) {
    enum { ROWS = 32, K = 2 * AMX_K_STEP };
    static uint8_t xq[ROWS * K];
    static int8_t panel[K * 32 + AMX_PANEL_SLACK];
    static int32_t tiles[ROWS * 32], model[ROWS * 32];
    uint32_t r = 12345;
    for (int i = 0; i < ROWS * K; i++) xq[i] = (uint8_t)((r = r * 1664525u + 1013904223u) >> 24);
    for (int i = 0; i < K * 32; i++) panel[i] = (int8_t)((r = r * 1664525u + 1013904223u) >> 24);
    sums_tiles(xq, K, ROWS, panel, K, tiles);
    sums_model(xq, K, ROWS, panel, K, model);
    return memcmp(tiles, model, sizeof tiles) == 0;
}

void amx_int8_sums(int32_t model, const uint8_t* xq, int64_t ldq, int32_t rows, const int8_t* panel, int32_t k,
                   int32_t* sums) {
    if (model) sums_model(xq, ldq, rows, panel, k, sums);
    else sums_tiles(xq, ldq, rows, panel, k, sums);
}
