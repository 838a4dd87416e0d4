/* Checks every kernel against a float64 triple loop over 4,000 random shapes: ragged m, n and k
 * around the tile sizes, padded leading dimensions (the padding must come back untouched), α and β
 * cycling, β = 0 over NaN-filled outputs (never read); then the transpose with β = 0 and 0.5.
 * k runs past 256 in every 20th case, where X·W is taken in blocks of B's rows; every 300th case is X·W
 * with one row and a weight of more than 2 Mi floats, which the kernel streams row by row; every 9th case is
 * Aᵀ·B with k of 1 or 2, taken one row of C at a time; every 60th is Aᵀ·B with B's rows 1,024 floats apart, which
 * the AVX2 path copies into panels; every 500th is Aᵀ·B with C of more than 1 Mi floats, whose tiles prefetch C.
 * Runs the whole check once per instruction set this CPU runs (AVX2, and AVX-512 where present), from
 * the same random cases. Exits 0 with "kernels_selftest: ok", or 1 with the first failures; 77
 * (skipped) on a CPU without AVX2 and FMA. */
#include "blaslinear_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long long state = 88172645463325252ull;
static unsigned next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (unsigned)(state >> 11); }
static float uniform(void) { return (float)(next() % 2000001u) / 1000000.0f - 1.0f; }

static const char* isa_name(int isa) { return isa == BLK_ISA_AVX512 ? "AVX-512" : "AVX2"; }

/* The number of elements outside the bounds, the first ten printed. */
static int check(int isa)
{
    state = 88172645463325252ull;
    int failures = 0;
    for (int t = 0; t < 4000; t++) {
        const int kind = t % 3; /* 0 NT, 1 NN, 2 TN */
        /* Every 20th case has k past the kernels' k blocking (256). */
        int m = 1 + (int)(next() % 20), n = 1 + (int)(next() % 150);
        int k = t % 20 == 0 ? 250 + (int)(next() % 400) : 1 + (int)(next() % 70);
        if (t % 9 == 5) /* Aᵀ·B (t % 3 == 2) at a batch of one or two: atb_rows. */
            k = 1 + (int)(next() % 2);
        if (t % 300 == 1) {
            /* X·W with one row and a weight of more than 2 Mi floats: the streamed path. */
            m = 1;
            n = 2000 + (int)(next() % 150);
            k = 1050 + (int)(next() % 40);
        }
        if (t % 60 == 38) {
            /* Aᵀ·B with B's rows 4 KiB apart and at least 16 rows of C: the AVX2 path's packed copy of B. */
            m = 16 + (int)(next() % 30);
            k = 4 + (int)(next() % 40);
        }
        if (t % 500 == 143) {
            /* Aᵀ·B with C of more than 1 Mi floats: the tiles prefetch C ahead (ATB_PREFETCH_FROM_FLOATS). */
            m = 1030 + (int)(next() % 20);
            n = 1030 + (int)(next() % 40);
            k = 3 + (int)(next() % 30);
        }
        const int trans_a = kind == 2, nt = kind == 0;
        const int lda = (trans_a ? m : k) + (int)(next() % 3);
        const int ldb = t % 60 == 38 ? 1024 : (nt ? k : n) + (int)(next() % 3);
        const int ldc = n + (int)(next() % 3);
        const float alpha = (t & 4) ? -0.5f : 1.0f, beta = (t % 5 == 0) ? 0.0f : (t % 5 == 1) ? 1.0f : 0.25f;
        const int a_rows = trans_a ? k : m, b_rows = nt ? n : k;
        float* a = malloc(sizeof(float) * (size_t)a_rows * lda);
        float* b = malloc(sizeof(float) * (size_t)b_rows * ldb);
        float* c = malloc(sizeof(float) * (size_t)m * ldc);
        double* want = malloc(sizeof(double) * (size_t)m * ldc);
        for (int i = 0; i < a_rows * lda; i++) a[i] = uniform();
        for (int i = 0; i < b_rows * ldb; i++) b[i] = uniform();
        for (int i = 0; i < m * ldc; i++) c[i] = (beta == 0.0f || i % ldc >= n) ? NAN : uniform();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double x = trans_a ? a[p * lda + i] : a[i * lda + p];
                    double y = nt ? b[j * ldb + p] : b[p * ldb + j];
                    sum += x * y;
                }
                want[i * ldc + j] = alpha * sum + (beta == 0.0f ? 0.0 : beta * (double)c[i * ldc + j]);
            }
        if (nt)
            blk_sgemm_abt(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else if (trans_a)
            blk_sgemm_atb(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            blk_sgemm_ab(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++) {
                float got = c[i * ldc + j];
                int ok = j >= n ? isnan(got) : fabs(got - want[i * ldc + j]) <= 4e-7 * (k + 2) * (1 + fabs(want[i * ldc + j])) + 1e-6 * k;
                if (!ok && failures++ < 10)
                    printf("%s kind %d m %d n %d k %d lda %d ldb %d ldc %d: C[%d,%d] = %.9g, want %.9g\n",
                           isa_name(isa), kind, m, n, k, lda, ldb, ldc, i, j, got, j >= n ? NAN : want[i * ldc + j]);
            }
        free(a); free(b); free(c); free(want);
    }
    for (int t = 0; t < 200; t++) {
        const int rows = 1 + (int)(next() % 90), cols = 1 + (int)(next() % 90);
        const int lds = cols + (int)(next() % 3), ldd = rows + (int)(next() % 3);
        float* src = malloc(sizeof(float) * (size_t)rows * lds);
        float* dst = malloc(sizeof(float) * (size_t)cols * ldd);
        for (int i = 0; i < rows * lds; i++) src[i] = uniform();
        float* before = malloc(sizeof(float) * (size_t)cols * ldd);
        const float beta = t % 2 ? 0.0f : 0.5f;
        for (int i = 0; i < cols * ldd; i++) before[i] = dst[i] = (beta == 0.0f || i % ldd >= rows) ? NAN : uniform();
        blk_transpose(isa, rows, cols, src, lds, beta, dst, ldd);
        for (int c = 0; c < cols; c++)
            for (int r = 0; r < ldd; r++) {
                float got = dst[c * ldd + r];
                float want = beta == 0.0f ? src[r * lds + c] : src[r * lds + c] + beta * before[c * ldd + r];
                int ok = r >= rows ? isnan(got) : fabsf(got - want) <= 1e-6f * (1 + fabsf(want));
                if (!ok && failures++ < 10)
                    printf("%s transpose %d×%d: dst[%d,%d] = %g\n", isa_name(isa), rows, cols, c, r, got);
            }
        free(src); free(dst); free(before);
    }
    return failures;
}

int main(void)
{
    const int widest = blk_cpu_isa();
    if (widest == BLK_ISA_NONE) {
        puts("kernels_selftest: skipped, this CPU has neither AVX2 with FMA nor AVX-512");
        return 77;
    }
    int failed = 0;
    for (int isa = BLK_ISA_AVX2; isa <= widest; isa++) {
        const int failures = check(isa);
        if (failures)
            printf("kernels_selftest: %s: %d failures\n", isa_name(isa), failures);
        else
            printf("kernels_selftest: %s: ok\n", isa_name(isa));
        failed |= failures != 0;
    }
    if (failed)
        return 1;
    puts("kernels_selftest: ok");
    return 0;
}
