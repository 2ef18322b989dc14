/* CHECK(condition): prints the failed condition with its line and exits with failure. */
#ifndef DETALLOC_TEST_CHECK_H
#define DETALLOC_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                            \
        }                                                                       \
    } while (0)
#endif
