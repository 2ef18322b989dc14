/* detalloc from C on a Cortex-M3 under QEMU (lm3s6965evb): `main` is C, the heaps are a Rust
   static library detalloc-c built (run-check.sh). Two heaps, both `sync: critical_section`
   with validation:
   - fw_heap [16 x 64, 64 x 32, 256 x 16]: the firmware's own blocks through det_alloc and
     det_free, in main and in the SysTick handler;
   - libc_heap: newlib-nano's malloc (the library routes malloc and _malloc_r to it), so
     printf's buffer comes from detalloc too.
   The checks mirror the Rust firmware's: a self-test fills every pool and sees it refuse;
   SysTick allocates a message (freed in the handler) and a frame (freed by the next tick)
   while main runs rounds of stamped blocks; then every counter is compared with what the
   program did, and det_validate must be clean. Any failed check exits with status 1. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detalloc_fw_heaps.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            printf("check failed, line %d: %s\n", __LINE__, #cond);                 \
            return 1;                                                               \
        }                                                                           \
    } while (0)

#define TICKS 100u
#define ROUNDS 2000u
#define RELOAD (1200u - 1u) /* a tick every 1 200 core cycles */

/* SysTick's registers (ARMv7-M architecture reference manual, B3.3). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t tick;
static volatile uint32_t tick_failures;
static uint32_t *volatile last_frame;

/* 12-byte messages (16-byte pool) and 192-byte frames (256-byte pool), as the Rust firmware. */
void SysTick_Handler(void)
{
    uint32_t t = tick + 1;
    if (t > TICKS) {
        return;
    }
    uint32_t *message = det_alloc(fw_heap, 12);
    uint32_t *frame = det_alloc(fw_heap, 192);
    if (message == NULL || frame == NULL) {
        tick_failures++;
        return;
    }
    message[0] = t;
    message[1] = ~t;
    message[2] = t * 3;
    for (int i = 0; i < 48; i++) {
        frame[i] = t;
    }
    if (message[1] != ~message[0] || det_free(fw_heap, message) != DET_OK) {
        tick_failures++;
    }
    uint32_t *previous = last_frame;
    last_frame = frame;
    if (previous != NULL) {
        for (int i = 0; i < 48; i++) {
            if (previous[i] != t - 1) {
                tick_failures++;
            }
        }
        if (det_free(fw_heap, previous) != DET_OK) {
            tick_failures++;
        }
    }
    if (t == TICKS) {
        SYST_CSR = 0; /* stop the counter and its interrupt */
    }
    tick = t;
}

/* Fills each pool to its capacity, sees the next request fail, frees everything. */
static int self_test(size_t counts[3])
{
    static void *blocks[64];
    for (size_t pool = 0; pool < 3; pool++) {
        det_pool_stats_t spec;
        CHECK(det_pool_stats(fw_heap, pool, &spec) == DET_OK);
        size_t n = 0;
        void *block;
        while ((block = det_alloc_aligned(fw_heap, spec.block_size, 1)) != NULL) {
            CHECK(n < 64);
            blocks[n++] = block;
        }
        CHECK(n == spec.blocks);
        while (n > 0) {
            CHECK(det_free(fw_heap, blocks[--n]) == DET_OK);
        }
        counts[pool] = spec.blocks;
    }
    return 0;
}

/* One round: five stamped blocks (pools 0, 1, 1, 2, 2), checked and freed in another order. */
static const size_t round_sizes[5] = {10, 24, 60, 100, 200};
static int work(uint32_t round)
{
    unsigned char *blocks[5];
    for (int i = 0; i < 5; i++) {
        blocks[i] = det_alloc(fw_heap, round_sizes[i]);
        CHECK(blocks[i] != NULL);
        CHECK((uintptr_t)blocks[i] % (round_sizes[i] >= 8 ? 8 : 1) == 0);
        memset(blocks[i], (int)(round + (uint32_t)i) & 0xff, round_sizes[i]);
    }
    static const int order[5] = {3, 0, 4, 2, 1};
    for (int k = 0; k < 5; k++) {
        int i = order[k];
        for (size_t b = 0; b < round_sizes[i]; b++) {
            CHECK(blocks[i][b] == ((round + (uint32_t)i) & 0xff));
        }
        CHECK(det_free(fw_heap, blocks[i]) == DET_OK);
    }
    return 0;
}

int main(void)
{
    static char report[1024];
    size_t blocks[3];
    /* newlib-nano's printf has no %zu or %llu: sizes are printed as unsigned long. */
    printf("%s, from C: %lu pools in fw_heap\n", det_version_string(),
           (unsigned long)det_pool_count(fw_heap));
    if (self_test(blocks) != 0) {
        return 1;
    }
    printf("self-test: the pools hand out %lu / %lu / %lu blocks, then refuse\n",
           (unsigned long)blocks[0], (unsigned long)blocks[1], (unsigned long)blocks[2]);

    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* core clock, interrupt, enable */
    for (uint32_t round = 0; round < ROUNDS; round++) {
        if (work(round) != 0) {
            return 1;
        }
    }
    uint32_t ticks_during_rounds = tick;
    while (tick < TICKS) {
        __asm volatile("wfi");
    }
    CHECK(tick_failures == 0);
    uint32_t *frame = last_frame;
    CHECK(frame != NULL && frame[0] == TICKS && det_free(fw_heap, frame) == DET_OK);
    fprintf(stderr, "ticks during main's rounds: %lu of %u\n", (unsigned long)ticks_during_rounds,
            TICKS);

    printf("main: %u rounds of 5 stamped blocks; SysTick: %u ticks, a message and a frame each\n",
           ROUNDS, TICKS);
    det_report(fw_heap, report, sizeof report);
    fputs(report, stdout);

    /* Every counter against what the program did. */
    det_stats_t stats;
    CHECK(det_get_stats(fw_heap, &stats) == DET_OK);
    CHECK(stats.in_use_bytes == 0 && stats.allocs == stats.frees);
    CHECK(stats.invalid_frees == 0 && stats.failures == 3);
    const uint64_t per_round[3] = {1, 2, 2}, per_tick[3] = {1, 0, 1};
    for (size_t pool = 0; pool < 3; pool++) {
        det_pool_stats_t p;
        CHECK(det_pool_stats(fw_heap, pool, &p) == DET_OK);
        uint64_t expected = blocks[pool] + ROUNDS * per_round[pool] + TICKS * per_tick[pool];
        CHECK(p.allocs == expected && p.frees == expected);
        CHECK(p.in_use == 0 && p.failures == 1 && p.peak == p.blocks);
    }
    CHECK(det_validate(fw_heap) == DET_OK);
    CHECK(det_validate(libc_heap) == DET_OK);
    det_stats_t libc;
    CHECK(det_get_stats(libc_heap, &libc) == DET_OK && libc.invalid_frees == 0);
    printf("newlib's malloc is libc_heap: %lu allocations so far (printf's buffers)\n",
           (unsigned long)libc.allocs);
    printf("audit: det_validate clean on both heaps; every count matches the program\n");
    return 0;
}
