/* detalloc.h: the C API of detalloc 0.1.0.
   Written by detalloc::c::write_header from the Rust signatures; do not edit
   (cargo run -p detalloc-c -- --header detalloc/include/detalloc.h).
   Every function takes a heap handle a library exported (DET_HEAP below);
   thread safety is the heap's declared `sync` mode. */
#ifndef DETALLOC_H
#define DETALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A heap: opaque, only ever behind a pointer. */
typedef struct det_heap det_heap_t;

/* Declares the handle of a heap a library exports
   (detalloc::export_c!(AUDIO as audio_heap) in Rust: DET_HEAP(audio_heap); here). */
#define DET_HEAP(name) extern det_heap_t *const name

/* A status code: DET_OK or what was refused. */
typedef int32_t det_status_t;
enum {
    DET_OK = 0, /* success */
    DET_ERR_BAD_HEAP = 1, /* the handle is not a heap this library exports */
    DET_ERR_DOUBLE_FREE = 2, /* double free: the block is not allocated */
    DET_ERR_FOREIGN = 3, /* foreign pointer: it lies inside no pool of this heap */
    DET_ERR_MISALIGNED = 4, /* interior pointer: it is not the start of a block */
    DET_ERR_WRONG_POOL = 5, /* wrong pool: the layout selects another pool than the block's */
    DET_ERR_NO_POOL = 6, /* no pool has this index */
    DET_ERR_CORRUPT = 7, /* corrupt heap: a free list, the live bitmap or the counters disagree */
    DET_ERR_NULL_ARGUMENT = 8, /* an output pointer is null */
};

/* The heap's figures (`det_get_stats`), as `Stats` in Rust. */
typedef struct det_stats {
    /* Bytes of blocks in all pools. */
    size_t total_bytes;
    /* Bytes of allocated blocks (whole blocks, not requested sizes). */
    size_t in_use_bytes;
    /* Sum over pools of peak x block size: the budget this run needed. */
    size_t peak_bytes;
    /* Successful allocations. */
    uint64_t allocs;
    /* Successful frees. */
    uint64_t frees;
    /* Allocations answered with NULL. */
    uint64_t failures;
    /* Frees refused. */
    uint64_t invalid_frees;
    /* Longest measured allocation in ticks of the heap's clock (0 without one). */
    uint64_t wcet_alloc_cycles;
    /* Longest measured free in ticks of the heap's clock (0 without one). */
    uint64_t wcet_free_cycles;
} det_stats_t;

/* One pool's figures (`det_pool_stats`), as `PoolStats` in Rust. */
typedef struct det_pool_stats {
    /* Bytes per block. */
    size_t block_size;
    /* Blocks in the pool. */
    size_t blocks;
    /* Blocks allocated now. */
    size_t in_use;
    /* Most blocks allocated at once. */
    size_t peak;
    /* Allocations served by this pool. */
    uint64_t allocs;
    /* Frees into this pool. */
    uint64_t frees;
    /* Times this pool was asked for a block and was exhausted. */
    uint64_t failures;
} det_pool_stats_t;

/* A block of at least `size` bytes, aligned as malloc's (the largest power of two not above
   size, up to alignof(max_align_t)); NULL when no pool can serve it. O(1), loop-free. */
void *det_alloc(det_heap_t *heap, size_t size);

/* As det_alloc, aligned to `align` (a power of two; 0 means det_alloc's default); NULL when
   `align` is not a power of two or no pool can serve it. */
void *det_alloc_aligned(det_heap_t *heap, size_t size, size_t align);

/* `count` elements of `size` bytes at `align` (0: the default for the whole array),
   uninitialised; NULL when count * size overflows or no pool can serve it. */
void *det_alloc_array(det_heap_t *heap, size_t count, size_t size, size_t align);

/* As det_alloc_array at the default alignment, the bytes zeroed (O(count * size)). */
void *det_calloc(det_heap_t *heap, size_t count, size_t size);

/* C's realloc: NULL ptr allocates, size 0 frees and returns NULL; the block stays when its pool
   fits the new size, else moves (contents copied); NULL with the old block untouched when no
   block is free, or when ptr is no block of the heap (refused and counted). */
void *det_realloc(det_heap_t *heap, void *ptr, size_t size);

/* Frees the block at `ptr`, found by its address (no size). NULL is a no-op. With validation
   every pointer that is no allocated block is refused, counted in invalid_frees and its code
   returned; without, a foreign pointer (counted) and an interior one (not counted) are, and a
   second free of a block is the caller's to avoid. */
det_status_t det_free(det_heap_t *heap, void *ptr);

/* The bytes of the block at `ptr` (its pool's block size), 0 for no live block of the heap. */
size_t det_usable_size(det_heap_t *heap, const void *ptr);

/* The heap's figures into *stats. */
det_status_t det_get_stats(det_heap_t *heap, det_stats_t *stats);

/* Pool `pool`'s figures into *stats; DET_ERR_NO_POOL past the last pool. */
det_status_t det_pool_stats(det_heap_t *heap, size_t pool, det_pool_stats_t *stats);

/* The number of pools of the heap (0 for a bad handle). */
size_t det_pool_count(det_heap_t *heap);

/* Audits the heap's free lists, live bitmap and counters: DET_OK or DET_ERR_CORRUPT. O(blocks),
   pool by pool. Exact only while no other context uses the heap when it is `sync: lock_free`
   (its pools have no lock to hold still): run it quiescent there. */
det_status_t det_validate(det_heap_t *heap);

/* Counters to 0, peaks to the current use. */
det_status_t det_reset_stats(det_heap_t *heap);

/* The heap's report as text into buf (len bytes, NUL-terminated, truncated to fit); returns the
   report's full length without the NUL, as snprintf does (det_report(heap, NULL, 0) + 1 sizes a
   buffer). */
size_t det_report(det_heap_t *heap, char *buf, size_t len);

/* The message of a status code (a static string; unknown codes say so). */
const char *det_error_string(det_status_t status);

/* "detalloc <version>". */
const char *det_version_string(void);

/* DET_NEW(heap, T): one T; DET_NEW_ARRAY(heap, T, n): n of them (NULL on overflow).
   Aligned to alignof(T) in C11 and C++; in C99, det_alloc's default for the size,
   which every C99 type's alignment divides. Uninitialised. */
#if defined(__cplusplus)
#define DET_ALIGNOF(T) alignof(T)
#define DET_CAST(T, p) static_cast<T *>(p)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define DET_ALIGNOF(T) _Alignof(T)
#define DET_CAST(T, p) ((T *)(p))
#else
#define DET_ALIGNOF(T) 0
#define DET_CAST(T, p) ((T *)(p))
#endif
#define DET_NEW(heap, T) DET_CAST(T, det_alloc_aligned((heap), sizeof(T), DET_ALIGNOF(T)))
#define DET_NEW_ARRAY(heap, T, n) \
    DET_CAST(T, det_alloc_array((heap), (n), sizeof(T), DET_ALIGNOF(T)))

#ifdef __cplusplus
}
#endif

#endif /* DETALLOC_H */
