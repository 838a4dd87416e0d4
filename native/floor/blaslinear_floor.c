#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blaslinear_floor.h"
#include "blaslinear_floor_internal.h"
#include "openblas_decl.h"

static int op_valid(int op) { return op >= 0 && op < BLFLOOR_OP_COUNT; }

/* Square uses only m; every other op uses all three dimensions. */
static int dims_valid(int op, int m, int n, int k) {
    if (op == BLFLOOR_SQUARE) return m >= 1;
    return m >= 1 && n >= 1 && k >= 1;
}

/* Element count rows·cols, or 0 when it or its size in bytes does not fit in size_t. */
static size_t checked_elems(int rows, int cols) {
    size_t r = (size_t)rows, c = (size_t)cols;
    if (r != 0 && c > SIZE_MAX / r) return 0;
    size_t e = r * c;
    if (e > SIZE_MAX / sizeof(float)) return 0;
    return e;
}

static float* alloc_floats(size_t count) {
    void* p = NULL;
    if (posix_memalign(&p, BLFLOOR_ALIGNMENT, count * sizeof(float)) != 0) return NULL;
    return (float*)p;
}

/* splitmix64: a tiny, well-mixed generator, so a seed always gives the same data on every machine. */
static uint64_t next_u64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* (2j + 1)/2²⁴ − 1 for a 24-bit j: symmetric about 0, strictly inside (−1, 1), exact in float. */
static void fill_uniform(float* p, size_t count, uint64_t* state) {
    for (size_t i = 0; i < count; ++i) {
        uint64_t j = next_u64(state) >> 40;
        p[i] = (float)((double)(2 * j + 1) / 16777216.0 - 1.0);
    }
}

BLFLOOR_API void blfloor_destroy(blfloor_ctx* ctx) {
    if (ctx == NULL) return;
    free(ctx->x);
    free(ctx->w);
    free(ctx->y);
    free(ctx->dy);
    free(ctx->dx);
    free(ctx->dw);
    free(ctx);
}

BLFLOOR_API blfloor_ctx* blfloor_create(int op, int m, int n, int k, unsigned long long seed) {
    if (!op_valid(op) || !dims_valid(op, m, n, k)) return NULL;

    size_t mk, nk, mn;
    if (op == BLFLOOR_SQUARE) {
        mk = nk = mn = checked_elems(m, m);
    } else {
        mk = checked_elems(m, k);
        nk = checked_elems(n, k);
        mn = checked_elems(m, n);
    }
    if (mk == 0 || nk == 0 || mn == 0) return NULL;

    blfloor_ctx* ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return NULL;
    ctx->op = op;
    ctx->m = m;
    ctx->n = op == BLFLOOR_SQUARE ? m : n;
    ctx->k = op == BLFLOOR_SQUARE ? m : k;

    int backward = op == BLFLOOR_LINEAR_BACKWARD || op == BLFLOOR_PARAM_BACKWARD;
    ctx->x_len = mk;
    ctx->w_len = nk;
    if (backward) {
        ctx->dy_len = mn;
        ctx->dx_len = mk;
        ctx->dw_len = nk;
    } else {
        ctx->y_len = mn;
    }

    /* Every buffer is allocated before any is touched, so a size the machine cannot hold fails here
     * instead of being committed page by page while it is filled. */
    ctx->x = alloc_floats(ctx->x_len);
    ctx->w = alloc_floats(ctx->w_len);
    int ok = ctx->x != NULL && ctx->w != NULL;
    if (backward) {
        ctx->dy = alloc_floats(ctx->dy_len);
        ctx->dx = alloc_floats(ctx->dx_len);
        ctx->dw = alloc_floats(ctx->dw_len);
        ok = ok && ctx->dy != NULL && ctx->dx != NULL && ctx->dw != NULL;
    } else {
        ctx->y = alloc_floats(ctx->y_len);
        ok = ok && ctx->y != NULL;
    }
    if (!ok) {
        blfloor_destroy(ctx);
        return NULL;
    }

    uint64_t state = (uint64_t)seed;
    fill_uniform(ctx->x, ctx->x_len, &state);
    fill_uniform(ctx->w, ctx->w_len, &state);
    if (backward) {
        fill_uniform(ctx->dy, ctx->dy_len, &state);
        memset(ctx->dx, 0, ctx->dx_len * sizeof(float));
        memset(ctx->dw, 0, ctx->dw_len * sizeof(float));
    } else {
        memset(ctx->y, 0, ctx->y_len * sizeof(float));
    }
    return ctx;
}

/* One run of the operation. These are the calls of DESIGN.md's "BLAS argument mapping" table, row
 * for row; floor_selftest.c checks each against a naive triple loop on exact integer data, so a wrong
 * transpose flag or leading dimension here is an exact mismatch there. */
static void run_once(const blfloor_ctx* c) {
    const int R = BLF_CBLAS_ROW_MAJOR, NT = BLF_CBLAS_NO_TRANS, T = BLF_CBLAS_TRANS;
    const int M = c->m, N = c->n, K = c->k;
    switch (c->op) {
    case BLFLOOR_LINEAR_FORWARD: /* Y[M,N] = X[M,K]·W[N,K]ᵀ */
        cblas_sgemm(R, NT, T, M, N, K, 1.0f, c->x, K, c->w, K, 0.0f, c->y, N);
        break;
    case BLFLOOR_PARAM_FORWARD: /* Y[M,N] = X[M,K]·W[K,N] */
        cblas_sgemm(R, NT, NT, M, N, K, 1.0f, c->x, K, c->w, N, 0.0f, c->y, N);
        break;
    case BLFLOOR_LINEAR_BACKWARD:
        /* dX[M,K] = dY[M,N]·W[N,K] */
        cblas_sgemm(R, NT, NT, M, K, N, 1.0f, c->dy, N, c->w, K, 0.0f, c->dx, K);
        /* dW[N,K] += dY[M,N]ᵀ·X[M,K] */
        cblas_sgemm(R, T, NT, N, K, M, 1.0f, c->dy, N, c->x, K, 1.0f, c->dw, K);
        break;
    case BLFLOOR_PARAM_BACKWARD:
        /* dX[M,K] = dY[M,N]·W[K,N]ᵀ */
        cblas_sgemm(R, NT, T, M, K, N, 1.0f, c->dy, N, c->w, N, 0.0f, c->dx, K);
        /* dW[K,N] += X[M,K]ᵀ·dY[M,N] */
        cblas_sgemm(R, T, NT, K, N, M, 1.0f, c->x, K, c->dy, N, 1.0f, c->dw, N);
        break;
    case BLFLOOR_SQUARE: /* C[n,n] = A[n,n]·B[n,n] */
        cblas_sgemm(R, NT, NT, M, M, M, 1.0f, c->x, M, c->w, M, 0.0f, c->y, M);
        break;
    default:
        break;
    }
}

/* A context that did not come from blfloor_create could carry anything; these are the invariants
 * blfloor_create established, checked again so OpenBLAS never sees an unchecked argument. */
static int ctx_valid(const blfloor_ctx* c) {
    return c != NULL && op_valid(c->op) && dims_valid(c->op, c->m, c->n, c->k) && c->x != NULL &&
           c->w != NULL && (c->y != NULL || (c->dy != NULL && c->dx != NULL && c->dw != NULL));
}

BLFLOOR_API int blfloor_run(blfloor_ctx* ctx, int iterations) {
    if (!ctx_valid(ctx) || iterations < 0) return -1;
    for (int i = 0; i < iterations; ++i) run_once(ctx);
    return 0;
}

BLFLOOR_API double blfloor_time(blfloor_ctx* ctx, int iterations) {
    if (!ctx_valid(ctx) || iterations < 0) return -1.0;
    struct timespec t0, t1;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) return -1.0;
    for (int i = 0; i < iterations; ++i) run_once(ctx);
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) return -1.0;
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

BLFLOOR_API double blfloor_flops(int op, int m, int n, int k) {
    if (!op_valid(op) || !dims_valid(op, m, n, k)) return -1.0;
    if (op == BLFLOOR_SQUARE) return 2.0 * (double)m * (double)m * (double)m;
    double gemm = 2.0 * (double)m * (double)n * (double)k;
    return (op == BLFLOOR_LINEAR_BACKWARD || op == BLFLOOR_PARAM_BACKWARD) ? 2.0 * gemm : gemm;
}
