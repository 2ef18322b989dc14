/* Compiled by CI as C99, C11 and C++ with warnings as errors: detalloc.h is clean in each, and
   every macro of it expands to code that type-checks. Not linked (-fsyntax-only). */
#include "detalloc.h"

DET_HEAP(example_heap);

struct sample {
    double value;
    char tag;
};

int header_check(void);

int header_check(void)
{
    det_stats_t stats;
    det_pool_stats_t pool;
    char text[128];
    struct sample *one = DET_NEW(example_heap, struct sample);
    struct sample *many = DET_NEW_ARRAY(example_heap, struct sample, 4);
    void *raw = det_alloc(example_heap, 24);
    void *aligned = det_alloc_aligned(example_heap, 24, 64);
    void *zeroed = det_calloc(example_heap, 3, 8);
    void *grown = det_realloc(example_heap, raw, 100);
    det_status_t status = det_free(example_heap, grown);
    size_t usable = det_usable_size(example_heap, aligned);
    status = det_get_stats(example_heap, &stats);
    status = det_pool_stats(example_heap, det_pool_count(example_heap) - 1, &pool);
    status = det_validate(example_heap);
    status = det_reset_stats(example_heap);
    (void)det_report(example_heap, text, sizeof text);
    (void)det_free(example_heap, one);
    (void)det_free(example_heap, many);
    (void)det_free(example_heap, zeroed);
    (void)det_free(example_heap, aligned);
    return status == DET_OK && usable > 0 && det_error_string(status) != 0 &&
           det_version_string() != 0;
}
