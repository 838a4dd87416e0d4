/* Checks the floor library the benchmark loads: every op's result against a naive triple loop written
 * from the op's definition (not from BLAS flags), on small integer matrices whose products are exact in
 * float, so a wrong transpose flag or leading dimension is an exact mismatch, never a tolerance
 * question. Also: the seeded fill, alignment, β = 0 outputs not being read, accumulation of dW, and
 * every argument check. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "blaslinear_floor.h"
#include "blaslinear_floor_internal.h"
#include "floor_check.h"

static const char* const names[] = {"linear-forward", "param-forward", "linear-backward",
                                    "param-backward", "square"};

static uint32_t lcg_state;

/* Integers in [-4, 4]: with k ≤ a few hundred every sum stays far below 2²⁴, so float is exact. */
static float small_int(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)((int)((lcg_state >> 16) % 9u) - 4);
}

static void fill_ints(float* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = small_int();
}

static void fill_value(float* p, size_t n, float v) {
    for (size_t i = 0; i < n; ++i) p[i] = v;
}

/* Compares bit-exact values (as floats: -0 == +0), reporting the first mismatch only. */
static int expect_equal(const char* what, const char* op, int m, int n, int k, const float* got,
                        const double* want, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        if (!((double)got[i] == want[i])) {
            ++checks;
            ++failures;
            fprintf(stderr, "FAIL %s M=%d N=%d K=%d: %s[%zu] = %.9g, expected %.9g\n", op, m, n, k,
                    what, i, (double)got[i], want[i]);
            return 0;
        }
    }
    ++checks;
    return 1;
}

/* Runs one op on integer data and compares with the definitions:
 *   linear  W is [N,K]: Y[i][j] = Σp X[i][p]·W[j][p]; dX[i][p] = Σj dY[i][j]·W[j][p];
 *           dW[j][p] += Σi dY[i][j]·X[i][p]
 *   param   W is [K,N]: Y[i][j] = Σp X[i][p]·W[p][j]; dX[i][p] = Σj dY[i][j]·W[p][j];
 *           dW[p][j] += Σi X[i][p]·dY[i][j]
 *   square  C[i][j] = Σp A[i][p]·B[p][j] */
static void check_op(int op, int m, int n, int k) {
    const char* name = names[op];
    blfloor_ctx* c = blfloor_create(op, m, n, k, 7);
    CHECK(c != NULL, "%s M=%d N=%d K=%d: create failed", name, m, n, k);
    if (c == NULL) return;
    if (op == BLFLOOR_SQUARE) n = k = m;

    static double want[512 * 512];
    static double want2[512 * 512];
    int linear = op == BLFLOOR_LINEAR_FORWARD || op == BLFLOOR_LINEAR_BACKWARD;
    int backward = op == BLFLOOR_LINEAR_BACKWARD || op == BLFLOOR_PARAM_BACKWARD;
#define W_AT(j, p) (linear ? c->w[(size_t)(j) * k + (p)] : c->w[(size_t)(p) * n + (j)])

    fill_ints(c->x, c->x_len);
    fill_ints(c->w, c->w_len);

    if (!backward) {
        /* β = 0 must not read Y: NaN there has to vanish. */
        fill_value(c->y, c->y_len, NAN);
        CHECK(blfloor_run(c, 1) == 0, "%s: run failed", name);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
                double s = 0;
                for (int p = 0; p < k; ++p) s += (double)c->x[(size_t)i * k + p] * W_AT(j, p);
                want[(size_t)i * n + j] = s;
            }
        expect_equal(op == BLFLOOR_SQUARE ? "C" : "Y", name, m, n, k, c->y, want, c->y_len);
    } else {
        fill_ints(c->dy, c->dy_len);
        fill_value(c->dx, c->dx_len, NAN);
        fill_ints(c->dw, c->dw_len); /* a gradient that already holds values */
        for (size_t i = 0; i < c->dw_len; ++i) want2[i] = c->dw[i];

        /* Two runs: dX is overwritten each time, dW accumulates twice. */
        CHECK(blfloor_run(c, 2) == 0, "%s: run failed", name);
        for (int i = 0; i < m; ++i)
            for (int p = 0; p < k; ++p) {
                double s = 0;
                for (int j = 0; j < n; ++j) s += (double)c->dy[(size_t)i * n + j] * W_AT(j, p);
                want[(size_t)i * k + p] = s;
            }
        expect_equal("dX", name, m, n, k, c->dx, want, c->dx_len);
        for (int j = 0; j < n; ++j)
            for (int p = 0; p < k; ++p) {
                double s = 0;
                for (int i = 0; i < m; ++i)
                    s += (double)c->dy[(size_t)i * n + j] * c->x[(size_t)i * k + p];
                size_t at = linear ? (size_t)j * k + p : (size_t)p * n + j;
                want2[at] += 2 * s;
            }
        expect_equal("dW", name, m, n, k, c->dw, want2, c->dw_len);
    }
#undef W_AT
    blfloor_destroy(c);
}

/* TESTING.md's golden product: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]; the transposed
 * [[23,34],[31,46]] would mean a swapped operand. */
static void check_golden(void) {
    static const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    static const double ab[4] = {19, 22, 43, 50};
    /* W[N,K] stored so that X·Wᵀ is A·B: W = Bᵀ. */
    static const float bt[4] = {5, 7, 6, 8};
    const int ops[3] = {BLFLOOR_SQUARE, BLFLOOR_PARAM_FORWARD, BLFLOOR_LINEAR_FORWARD};
    for (int t = 0; t < 3; ++t) {
        blfloor_ctx* c = blfloor_create(ops[t], 2, 2, 2, 1);
        CHECK(c != NULL, "golden %s: create failed", names[ops[t]]);
        if (c == NULL) continue;
        memcpy(c->x, a, sizeof a);
        memcpy(c->w, ops[t] == BLFLOOR_LINEAR_FORWARD ? bt : b, sizeof b);
        CHECK(blfloor_run(c, 1) == 0, "golden %s: run failed", names[ops[t]]);
        expect_equal("golden", names[ops[t]], 2, 2, 2, c->y, ab, 4);
        blfloor_destroy(c);
    }
}

static int aligned(const void* p) { return p == NULL || ((uintptr_t)p % BLFLOOR_ALIGNMENT) == 0; }

static int in_open_unit(const float* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!(p[i] > -1.0f && p[i] < 1.0f)) return 0;
    return 1;
}

static int all_zero(const float* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != 0.0f) return 0;
    return 1;
}

static void check_create_fill(void) {
    for (int op = 0; op < BLFLOOR_OP_COUNT; ++op) {
        blfloor_ctx* a = blfloor_create(op, 5, 6, 7, 123);
        blfloor_ctx* b = blfloor_create(op, 5, 6, 7, 123);
        blfloor_ctx* d = blfloor_create(op, 5, 6, 7, 124);
        CHECK(a && b && d, "%s: create failed", names[op]);
        if (a && b && d) {
            int backward = op == BLFLOOR_LINEAR_BACKWARD || op == BLFLOOR_PARAM_BACKWARD;
            size_t mk = op == BLFLOOR_SQUARE ? 25 : 35, nk = op == BLFLOOR_SQUARE ? 25 : 42;
            size_t mn = op == BLFLOOR_SQUARE ? 25 : 30;
            CHECK(a->x_len == mk && a->w_len == nk, "%s: input lengths %zu %zu", names[op],
                  a->x_len, a->w_len);
            CHECK(backward ? (a->dy_len == mn && a->dx_len == mk && a->dw_len == nk && a->y == NULL)
                           : (a->y_len == mn && a->dy == NULL && a->dx == NULL && a->dw == NULL),
                  "%s: output lengths", names[op]);
            CHECK(aligned(a->x) && aligned(a->w) && aligned(a->y) && aligned(a->dy) &&
                      aligned(a->dx) && aligned(a->dw),
                  "%s: a buffer is not %d-byte aligned", names[op], BLFLOOR_ALIGNMENT);
            CHECK(in_open_unit(a->x, a->x_len) && in_open_unit(a->w, a->w_len) &&
                      (!backward || in_open_unit(a->dy, a->dy_len)),
                  "%s: input outside (-1, 1)", names[op]);
            CHECK(memcmp(a->x, b->x, a->x_len * sizeof(float)) == 0 &&
                      memcmp(a->w, b->w, a->w_len * sizeof(float)) == 0 &&
                      (!backward || memcmp(a->dy, b->dy, a->dy_len * sizeof(float)) == 0),
                  "%s: same seed gave different data", names[op]);
            CHECK(memcmp(a->x, d->x, a->x_len * sizeof(float)) != 0 &&
                      memcmp(a->x, a->w, (a->x_len < a->w_len ? a->x_len : a->w_len) *
                                             sizeof(float)) != 0,
                  "%s: different seeds or buffers share data", names[op]);
            CHECK(backward ? (all_zero(a->dx, a->dx_len) && all_zero(a->dw, a->dw_len))
                           : all_zero(a->y, a->y_len),
                  "%s: outputs not zeroed", names[op]);
            double t = blfloor_time(a, 3);
            CHECK(t >= 0.0, "%s: blfloor_time(3) = %g", names[op], t);
            CHECK(blfloor_time(a, 0) >= 0.0 && blfloor_run(a, 0) == 0, "%s: zero iterations",
                  names[op]);
        }
        blfloor_destroy(a);
        blfloor_destroy(b);
        blfloor_destroy(d);
    }
}

static void check_bad_args(void) {
    const int bad_ops[] = {-1, BLFLOOR_OP_COUNT, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; ++i) {
        CHECK(blfloor_create(bad_ops[i], 2, 2, 2, 0) == NULL, "op %d accepted", bad_ops[i]);
        CHECK(blfloor_flops(bad_ops[i], 2, 2, 2) < 0, "flops of op %d", bad_ops[i]);
    }
    const int bad_dims[][3] = {{0, 1, 1}, {1, 0, 1}, {1, 1, 0}, {-1, 1, 1}, {1, -5, 1},
                               {1, 1, INT_MIN}};
    for (int op = 0; op < BLFLOOR_SQUARE; ++op)
        for (size_t i = 0; i < sizeof bad_dims / sizeof bad_dims[0]; ++i) {
            const int* d = bad_dims[i];
            CHECK(blfloor_create(op, d[0], d[1], d[2], 0) == NULL, "%s %d %d %d accepted",
                  names[op], d[0], d[1], d[2]);
            CHECK(blfloor_flops(op, d[0], d[1], d[2]) < 0, "flops %s %d %d %d", names[op], d[0],
                  d[1], d[2]);
        }
    CHECK(blfloor_create(BLFLOOR_SQUARE, 0, 5, 5, 0) == NULL, "square n=0 accepted");
    CHECK(blfloor_create(BLFLOOR_SQUARE, -3, 5, 5, 0) == NULL, "square n=-3 accepted");
    CHECK(blfloor_flops(BLFLOOR_SQUARE, 0, 5, 5) < 0, "flops square n=0");

    /* Sizes no machine holds: must come back NULL (size check or failed allocation), untouched. */
    for (int op = 0; op < BLFLOOR_OP_COUNT; ++op)
        CHECK(blfloor_create(op, INT_MAX, INT_MAX, INT_MAX, 0) == NULL, "%s INT_MAX³ accepted",
              names[op]);

    /* square ignores n and k, whatever they hold. */
    blfloor_ctx* s = blfloor_create(BLFLOOR_SQUARE, 3, 0, -1, 0);
    CHECK(s != NULL && s->x_len == 9 && s->n == 3 && s->k == 3, "square ignores n, k");
    CHECK(blfloor_run(s, -1) != 0, "run with -1 iterations accepted");
    CHECK(blfloor_time(s, -1) < 0, "time with -1 iterations accepted");
    blfloor_destroy(s);

    CHECK(blfloor_run(NULL, 1) != 0, "run(NULL) accepted");
    CHECK(blfloor_time(NULL, 1) < 0, "time(NULL) accepted");
    blfloor_destroy(NULL);

    CHECK(blfloor_flops(BLFLOOR_LINEAR_FORWARD, 2, 3, 5) == 60, "flops linear-forward");
    CHECK(blfloor_flops(BLFLOOR_PARAM_FORWARD, 2, 3, 5) == 60, "flops param-forward");
    CHECK(blfloor_flops(BLFLOOR_LINEAR_BACKWARD, 2, 3, 5) == 120, "flops linear-backward");
    CHECK(blfloor_flops(BLFLOOR_PARAM_BACKWARD, 2, 3, 5) == 120, "flops param-backward");
    CHECK(blfloor_flops(BLFLOOR_SQUARE, 3, 0, 0) == 54, "flops square");
    CHECK(blfloor_flops(BLFLOOR_LINEAR_FORWARD, INT_MAX, INT_MAX, INT_MAX) ==
              2.0 * (double)INT_MAX * INT_MAX * INT_MAX,
          "flops overflowed");
}

int main(void) {
    /* Shapes with ones, primes, a non-square of every aspect, and sizes around kernel blocking. */
    static const int shapes[][3] = {{1, 1, 1},    {1, 4, 3},    {3, 1, 4},    {4, 3, 1},
                                    {2, 3, 5},    {7, 11, 13},  {17, 16, 15}, {31, 2, 63},
                                    {65, 33, 17}, {64, 128, 96}, {129, 127, 65}, {1, 257, 129}};
    lcg_state = 12345u;
    check_golden();
    for (int op = 0; op < BLFLOOR_OP_COUNT; ++op)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
            check_op(op, shapes[s][0], shapes[s][1], shapes[s][2]);
    check_create_fill();
    check_bad_args();

    if (failures != 0) {
        fprintf(stderr, "floor_selftest: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("floor_selftest: all %d checks passed\n", checks);
    return 0;
}
