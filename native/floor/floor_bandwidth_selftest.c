/* Checks blfloor_read_bandwidth's contract: every bad argument gives a negative result without
 * touching memory, and every valid call (footprints that are not multiples of the block or of the
 * thread count, more threads than blocks, one thread, several) gives a positive, finite figure. The
 * figures themselves are not judged: they depend on the machine and on what else runs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "blaslinear_floor.h"
#include "floor_check.h"

static void check_rejected(size_t bytes, int threads, int repetitions) {
    double r = blfloor_read_bandwidth(bytes, threads, repetitions);
    CHECK(r < 0, "bytes=%zu threads=%d repetitions=%d gave %g, expected a negative result", bytes,
          threads, repetitions, r);
}

static void check_measured(size_t bytes, int threads, int repetitions) {
    double r = blfloor_read_bandwidth(bytes, threads, repetitions);
    CHECK(isfinite(r) && r > 0, "bytes=%zu threads=%d repetitions=%d gave %g", bytes, threads,
          repetitions, r);
    printf("read bandwidth: %zu bytes, %d threads, best of %d: %.1f GB/s\n", bytes, threads,
           repetitions, r / 1e9);
}

int main(void) {
    check_rejected(0, 1, 1);
    check_rejected(4096, 0, 1);
    check_rejected(4096, -1, 1);
    check_rejected(4096, 4097, 1);
    check_rejected(4096, 1, 0);
    check_rejected(4096, 1, -3);
    /* Footprints no machine can allocate: refused by the size check or by the allocation. */
    check_rejected(SIZE_MAX, 1, 1);
    check_rejected(SIZE_MAX, 7, 1);
    check_rejected(SIZE_MAX / 2, 2, 1);

    check_measured(1, 1, 1);          /* rounded up to one block */
    check_measured(1000, 3, 2);       /* uneven split, each part rounded up */
    check_measured(256, 8, 1);        /* more threads than blocks */
    check_measured(64 << 10, 64, 1);  /* many more threads than cores */
    check_measured(1 << 20, 1, 3);
    check_measured((4 << 20) + 4, 2, 3);
    check_measured(64 << 20, 2, 2);   /* larger than the caches of most machines */

    if (failures != 0) {
        fprintf(stderr, "floor_bandwidth_selftest: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("floor_bandwidth_selftest: all %d checks passed\n", checks);
    return 0;
}
