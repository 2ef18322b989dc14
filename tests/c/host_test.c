/* The C API on the host, against a library detalloc-c built (tests/c/run.sh): three heaps,
   `det_heap` (the README's), `audio_heap` [16 x 32, 64 x 16, 256 x 8] and `net_heap`
   [32 x 8, 1536 x 2], sync spin, validate on.
   Exits with failure on the first failed check; prints the README's example and a summary. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "detalloc_test_heaps.h"

/* The README's example (README.md, "From C"), on the README's heap: det_heap
   [16 x 64, 64 x 32, 256 x 16]. */
typedef struct { float left, right; } frame_t;

static void readme_example(void)
{
    frame_t *frames = DET_NEW_ARRAY(det_heap, frame_t, 16);   /* NULL when no block is free */
    CHECK(frames != NULL);
    for (int i = 0; i < 16; i++) {
        frames[i].left = (float)i;
        frames[i].right = -(float)i;
    }
    det_status_t status = det_free(det_heap, frames);         /* by address: no size */
    CHECK(status == DET_OK);
    status = det_free(det_heap, frames);                      /* DET_ERR_DOUBLE_FREE, counted */
    CHECK(status == DET_ERR_DOUBLE_FREE);
    det_stats_t stats;
    det_get_stats(det_heap, &stats);
    char report[512];
    det_report(det_heap, report, sizeof report);

    printf("second free: %s\n", det_error_string(status));
    printf("in use %zu of %zu B, %llu invalid free\n", stats.in_use_bytes, stats.total_bytes,
           (unsigned long long)stats.invalid_frees);
    fputs(report, stdout);
}

/* xorshift64: the same sequence on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct live {
    unsigned char *ptr;
    size_t size;
    unsigned char stamp;
};

/* The model test's invariants: alignment, no overlap, contents kept, exact counters. */
static void model(void)
{
    static const size_t sizes[] = {0, 1, 3, 8, 15, 16, 17, 24, 40, 64, 65, 100, 200, 256};
    static const size_t aligns[] = {0, 1, 2, 8, 16, 64, 256};
    struct live live[48];
    size_t count = 0;
    uint64_t allocs = 0, frees = 0;
    det_stats_t before;
    CHECK(det_get_stats(audio_heap, &before) == DET_OK);
    for (int step = 0; step < 20000; step++) {
        if (count < 48 && next() % 3 != 0) {
            size_t size = sizes[next() % 14], align = aligns[next() % 7];
            unsigned char *p = det_alloc_aligned(audio_heap, size, align);
            if (p == NULL) {
                continue;
            }
            allocs++;
            size_t usable = det_usable_size(audio_heap, p);
            CHECK(usable >= size);
            CHECK(align == 0 || (uintptr_t)p % align == 0);
            for (size_t i = 0; i < count; i++) {
                CHECK(p + usable <= live[i].ptr || live[i].ptr + live[i].size <= p);
            }
            memset(p, step & 0xff, usable);
            live[count++] = (struct live){p, usable, (unsigned char)(step & 0xff)};
        } else if (count > 0) {
            size_t i = next() % count;
            for (size_t b = 0; b < live[i].size; b++) {
                CHECK(live[i].ptr[b] == live[i].stamp);
            }
            CHECK(det_free(audio_heap, live[i].ptr) == DET_OK);
            frees++;
            live[i] = live[--count];
        }
    }
    while (count > 0) {
        CHECK(det_free(audio_heap, live[--count].ptr) == DET_OK);
        frees++;
    }
    det_stats_t after;
    CHECK(det_get_stats(audio_heap, &after) == DET_OK);
    CHECK(after.allocs - before.allocs == allocs);
    CHECK(after.frees - before.frees == frees);
    CHECK(after.in_use_bytes == 0);
    CHECK(det_validate(audio_heap) == DET_OK);
    printf("model: %llu allocations and frees, aligned, disjoint, contents kept, counters exact\n",
           (unsigned long long)allocs);
}

/* Every bad free, with its code; each refused free counted once; the heap unharmed. */
static void bad_frees(void)
{
    det_stats_t before, after;
    CHECK(det_get_stats(net_heap, &before) == DET_OK);
    unsigned char *big = det_alloc(net_heap, 1000);
    unsigned char *small = det_alloc(net_heap, 20);
    int local = 0;
    CHECK(big != NULL && small != NULL);
    CHECK(det_free(net_heap, NULL) == DET_OK);
    CHECK(det_free(net_heap, big + 8) == DET_ERR_MISALIGNED);
    CHECK(det_free(net_heap, &local) == DET_ERR_FOREIGN);
    void *audio_block = det_alloc(audio_heap, 16);
    CHECK(det_free(net_heap, audio_block) == DET_ERR_FOREIGN);
    CHECK(det_free(audio_heap, audio_block) == DET_OK);
    CHECK(det_free(net_heap, big) == DET_OK);
    CHECK(det_free(net_heap, big) == DET_ERR_DOUBLE_FREE);
    CHECK(det_free(net_heap, small) == DET_OK);
    CHECK(det_free(net_heap, small) == DET_ERR_DOUBLE_FREE);
    CHECK(det_realloc(net_heap, &local, 10) == NULL);
    CHECK(det_get_stats(net_heap, &after) == DET_OK);
    CHECK(after.invalid_frees - before.invalid_frees == 6);
    CHECK(det_validate(net_heap) == DET_OK);
    CHECK(det_free((det_heap_t *)&local, NULL) == DET_ERR_BAD_HEAP);
    CHECK(det_alloc((det_heap_t *)&local, 8) == NULL);
    printf("bad frees: %s; %s; %s; each counted, the heap validates\n",
           det_error_string(DET_ERR_MISALIGNED), det_error_string(DET_ERR_FOREIGN),
           det_error_string(DET_ERR_DOUBLE_FREE));
}

static void resizing(void)
{
    char *p = det_realloc(audio_heap, NULL, 10);
    CHECK(p != NULL && det_usable_size(audio_heap, p) == 16);
    memcpy(p, "0123456789", 10);
    char *q = det_realloc(audio_heap, p, 200);
    CHECK(q != NULL && det_usable_size(audio_heap, q) == 256 && memcmp(q, "0123456789", 10) == 0);
    char *r = det_realloc(audio_heap, q, 12);
    CHECK(r != NULL && det_usable_size(audio_heap, r) == 16 && memcmp(r, "0123456789", 10) == 0);
    CHECK(det_realloc(audio_heap, r, 100000) == NULL && det_usable_size(audio_heap, r) == 16);
    CHECK(det_realloc(audio_heap, r, 0) == NULL && det_usable_size(audio_heap, r) == 0);
    unsigned char *z = det_calloc(audio_heap, 6, 10);
    CHECK(z != NULL);
    for (int i = 0; i < 60; i++) {
        CHECK(z[i] == 0);
    }
    CHECK(det_calloc(audio_heap, SIZE_MAX, 2) == NULL);
    CHECK(det_alloc_aligned(audio_heap, 8, 3) == NULL);
    CHECK(det_free(audio_heap, z) == DET_OK);
    printf("realloc, calloc: as C's\n");
}

static void statistics(void)
{
    det_pool_stats_t pool;
    CHECK(det_pool_count(net_heap) == 2);
    CHECK(det_pool_stats(net_heap, 1, &pool) == DET_OK);
    CHECK(pool.block_size == 1536 && pool.blocks == 2);
    CHECK(det_pool_stats(net_heap, 2, &pool) == DET_ERR_NO_POOL);
    CHECK(det_get_stats(net_heap, NULL) == DET_ERR_NULL_ARGUMENT);
    size_t full = det_report(net_heap, NULL, 0);
    char small[8];
    CHECK(det_report(net_heap, small, sizeof small) == full && strlen(small) == 7);
    CHECK(det_reset_stats(audio_heap) == DET_OK);
    det_stats_t stats;
    CHECK(det_get_stats(audio_heap, &stats) == DET_OK && stats.allocs == 0);
    printf("%s; %zu pools in net_heap\n", det_version_string(), det_pool_count(net_heap));
}

int main(void)
{
    readme_example();
    model();
    bad_frees();
    resizing();
    statistics();
    printf("host C tests: ok\n");
    return 0;
}
