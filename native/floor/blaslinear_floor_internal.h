/* The context's layout, shared with floor_selftest.c so the self-test can set exact integer inputs and
 * read the outputs of the very library the benchmark loads. Not part of the exported API. */
#ifndef BLASLINEAR_FLOOR_INTERNAL_H
#define BLASLINEAR_FLOOR_INTERNAL_H

#include <stddef.h>

#include "blaslinear_floor.h"

#define BLFLOOR_ALIGNMENT 64

/* Which buffer plays which role, per op (a NULL pointer has length 0):
 *   forwards   x[M·K] and w (N·K or K·N) are inputs, y[M·N] the output
 *   backwards  x, w and dy[M·N] are inputs, dx[M·K] the output (overwritten) and dw (same shape as w)
 *              the accumulated gradient
 *   square     x = A[n·n], w = B[n·n] inputs, y = C[n·n] output */
struct blfloor_ctx {
    int op, m, n, k;
    float* x;
    float* w;
    float* y;
    float* dy;
    float* dx;
    float* dw;
    size_t x_len, w_len, y_len, dy_len, dx_len, dw_len;
};

#endif
