/* The drop-in ports on the host, against a library detalloc-c built with --malloc sys_heap
   --freertos sys_heap (tests/c/run.sh): sys_heap [16 x 256, 64 x 64, 256 x 32, 4096 x 8],
   validate on. This process's malloc is detalloc's: glibc's stdio buffers come from it too,
   so every figure below is compared with a snapshot taken just before, with no output in
   between. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "detalloc_ports_heaps.h"

/* FreeRTOS's HeapStats_t (portable.h), field for field. */
typedef struct xHeapStats {
    size_t xAvailableHeapSpaceInBytes;
    size_t xSizeOfLargestFreeBlockInBytes;
    size_t xSizeOfSmallestFreeBlockInBytes;
    size_t xNumberOfFreeBlocks;
    size_t xMinimumEverFreeBytesRemaining;
    size_t xNumberOfSuccessfulAllocations;
    size_t xNumberOfSuccessfulFrees;
} HeapStats_t;

void *pvPortMalloc(size_t size);
void vPortFree(void *ptr);
void *pvPortCalloc(size_t count, size_t size);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);
void vPortGetHeapStats(HeapStats_t *stats);
void vPortInitialiseBlocks(void);
size_t malloc_usable_size(void *ptr);

static uint64_t invalid_frees(void)
{
    det_stats_t stats;
    CHECK(det_get_stats(sys_heap, &stats) == DET_OK);
    return stats.invalid_frees;
}

static void malloc_family(void)
{
    char *p = malloc(24);
    CHECK(p != NULL && (uintptr_t)p % 16 == 0 && malloc_usable_size(p) == 64);
    CHECK(det_usable_size(sys_heap, p) == 64); /* the same heap behind both */
    memcpy(p, "detalloc", 9);
    p = realloc(p, 200);
    CHECK(p != NULL && strcmp(p, "detalloc") == 0 && malloc_usable_size(p) == 256);
    CHECK(realloc(p, 0) == NULL);
    unsigned char *z = calloc(10, 10);
    CHECK(z != NULL);
    for (int i = 0; i < 100; i++) {
        CHECK(z[i] == 0);
    }
    free(z);
    volatile size_t huge = SIZE_MAX; /* hidden from the compiler's size checks */
    CHECK(calloc(huge, 2) == NULL);
    void *a = aligned_alloc(64, 64);
    CHECK(a != NULL && (uintptr_t)a % 64 == 0);
    free(a);
    CHECK(aligned_alloc(3, 8) == NULL);
    void *m = NULL;
    CHECK(posix_memalign(&m, 32, 40) == 0 && (uintptr_t)m % 32 == 0);
    free(m);
    CHECK(posix_memalign(&m, 3, 40) == EINVAL);
    CHECK(malloc(100000) == NULL); /* no pool that large */
    free(NULL);
    uint64_t refused = invalid_frees();
    int local = 0;
    void *volatile not_heap = &local; /* hidden from the compiler's free checks */
    free(not_heap); /* refused and counted, not a crash */
    CHECK(invalid_frees() == refused + 1);
    CHECK(det_validate(sys_heap) == DET_OK);
}

static void freertos_port(void)
{
    HeapStats_t before, after;
    vPortInitialiseBlocks();
    vPortGetHeapStats(&before);
    void *p = pvPortMalloc(100);
    vPortGetHeapStats(&after);
    CHECK(p != NULL && (uintptr_t)p % 16 == 0);
    CHECK(before.xAvailableHeapSpaceInBytes - after.xAvailableHeapSpaceInBytes == 256);
    CHECK(after.xNumberOfSuccessfulAllocations - before.xNumberOfSuccessfulAllocations == 1);
    CHECK(before.xNumberOfFreeBlocks - after.xNumberOfFreeBlocks == 1);
    CHECK(after.xAvailableHeapSpaceInBytes == xPortGetFreeHeapSize());
    CHECK(after.xSizeOfLargestFreeBlockInBytes == 4096);
    CHECK(after.xSizeOfSmallestFreeBlockInBytes == 16);
    CHECK(xPortGetMinimumEverFreeHeapSize() <= xPortGetFreeHeapSize());
    CHECK(after.xMinimumEverFreeBytesRemaining == xPortGetMinimumEverFreeHeapSize());
    vPortFree(p);
    vPortGetHeapStats(&after);
    CHECK(after.xNumberOfSuccessfulFrees - before.xNumberOfSuccessfulFrees == 1);
    CHECK(after.xAvailableHeapSpaceInBytes == before.xAvailableHeapSpaceInBytes);

    /* The free blocks, counted from the pools' own figures. */
    size_t free_blocks = 0;
    for (size_t i = 0; i < det_pool_count(sys_heap); i++) {
        det_pool_stats_t pool;
        CHECK(det_pool_stats(sys_heap, i, &pool) == DET_OK);
        free_blocks += pool.blocks - pool.in_use;
    }
    CHECK(after.xNumberOfFreeBlocks == free_blocks);

    unsigned char *z = pvPortCalloc(4, 25);
    CHECK(z != NULL);
    for (int i = 0; i < 100; i++) {
        CHECK(z[i] == 0);
    }
    vPortFree(z);
    vPortFree(NULL);
    uint64_t refused = invalid_frees();
    int local = 0;
    vPortFree(&local);
    CHECK(invalid_frees() == refused + 1);
    vPortGetHeapStats(NULL);
    CHECK(det_validate(sys_heap) == DET_OK);
}

int main(void)
{
    printf("ports: malloc and FreeRTOS on detalloc\n"); /* stdout's buffer, allocated first */
    malloc_family();
    printf("malloc, free, calloc, realloc, aligned_alloc, posix_memalign: as C's\n");
    freertos_port();
    printf("pvPortMalloc, vPortFree, pvPortCalloc, xPortGetFreeHeapSize, "
           "xPortGetMinimumEverFreeHeapSize, vPortGetHeapStats: as FreeRTOS's heap_4\n");
    char report[1024];
    det_report(sys_heap, report, sizeof report);
    fputs(report, stdout);
    printf("port C tests: ok\n");
    return 0;
}
