/* The self-tests' check: counts every check and prints each failure with its condition and a message,
 * then main reports the counts. Included by one test file each (the counters are that file's own). */
#ifndef BLASLINEAR_FLOOR_CHECK_H
#define BLASLINEAR_FLOOR_CHECK_H

#include <stdio.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        ++checks;                                                                     \
        if (!(cond)) {                                                                \
            ++failures;                                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

#endif
