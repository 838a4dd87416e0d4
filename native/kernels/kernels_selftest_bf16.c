/* Checks the bfloat16-weight products (blk_sgemm_abt_bf16, blk_sgemm_ab_bf16) on every code path this CPU
 * runs (AVX-512 when blk_cpu_isa() says so, AVX2 when the CPU has AVX2 and FMA) against a float64 triple
 * loop over the same bfloat16 weights widened exactly: 3,000 random shapes with ragged m, n and k around
 * the tiles, padded leading dimensions whose padding must come back untouched, α and β cycling, β = 0
 * over NaN-filled outputs (never read), k past the X·W form's blocking (256) in every 20th case and past
 * the X·Wᵀ form's (1024) in every 50th.
 * Tolerance (docs/accuracy.md): |ĉ − c| ≤ (k + 2)·2⁻²³·G, G = |α|·Σ|a||b| + |β|·|c₀|.
 * Exits 0 with "kernels_selftest_bf16: ok", 1 with the first failures, 77 (skipped) with no path to run. */
#include "blaslinear_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 0x9E3779B97F4A7C15ull;
static unsigned next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (unsigned)(state >> 11); }
static float uniform(void) { return (float)(next() % 2000001u) / 1000000.0f - 1.0f; }

static double widen(uint16_t bits)
{
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A random bfloat16 in [-1, 1] with all 16 bits used (not a rounded float32 of few digits). */
static uint16_t random_bf16(void)
{
    float f = uniform();
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)(u >> 16);
}

static int check_path(int isa, const char* name)
{
    int failures = 0;
    for (int t = 0; t < 3000; t++) {
        const int nt = t % 2 == 0; /* X·Wᵀ (W [n,k]) or X·W (W [k,n]) */
        const int m = 1 + (int)(next() % 20), n = 1 + (int)(next() % 150);
        const int k = t % 50 == 0 ? 1000 + (int)(next() % 1200)
                    : t % 20 == 0 ? 250 + (int)(next() % 400) : 1 + (int)(next() % 70);
        const int lda = k + (int)(next() % 3), ldb = (nt ? k : n) + (int)(next() % 3), ldc = n + (int)(next() % 3);
        const float alpha = (t & 4) ? -0.5f : 1.0f, beta = (t % 5 == 0) ? 0.0f : (t % 5 == 1) ? 1.0f : 0.25f;
        const int b_rows = nt ? n : k;
        float* a = malloc(sizeof(float) * (size_t)m * lda);
        uint16_t* b = malloc(sizeof(uint16_t) * (size_t)b_rows * ldb);
        float* c = malloc(sizeof(float) * (size_t)m * ldc);
        double* want = malloc(sizeof(double) * (size_t)m * ldc);
        double* bound = malloc(sizeof(double) * (size_t)m * ldc);
        for (int i = 0; i < m * lda; i++) a[i] = uniform();
        for (int i = 0; i < b_rows * ldb; i++) b[i] = random_bf16();
        for (int i = 0; i < m * ldc; i++) c[i] = (beta == 0.0f || i % ldc >= n) ? NAN : uniform();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0, g = 0;
                for (int p = 0; p < k; p++) {
                    double x = a[i * lda + p], y = widen(nt ? b[j * ldb + p] : b[p * ldb + j]);
                    sum += x * y;
                    g += fabs(x * y);
                }
                double c0 = beta == 0.0f ? 0.0 : (double)c[i * ldc + j];
                want[i * ldc + j] = alpha * sum + beta * c0;
                bound[i * ldc + j] = (k + 2) * ldexp(1.0, -23) * (fabs(alpha) * g + fabs(beta) * fabs(c0)) + 1e-30;
            }
        if (nt)
            blk_sgemm_abt_bf16(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            blk_sgemm_ab_bf16(isa, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++) {
                float got = c[i * ldc + j];
                int ok = j >= n ? isnan(got) : fabs(got - want[i * ldc + j]) <= bound[i * ldc + j];
                if (!ok && failures++ < 10)
                    printf("%s %s m %d n %d k %d lda %d ldb %d ldc %d: C[%d,%d] = %.9g, want %.9g\n", name,
                           nt ? "abt" : "ab", m, n, k, lda, ldb, ldc, i, j, got, j >= n ? NAN : want[i * ldc + j]);
            }
        free(a); free(b); free(c); free(want); free(bound);
    }
    printf("kernels_selftest_bf16: %s %s\n", name, failures ? "FAILED" : "ok");
    return failures;
}

int main(void)
{
    __builtin_cpu_init();
    const int avx512 = blk_cpu_isa() == BLK_ISA_AVX512;
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!avx512 && !avx2) {
        puts("kernels_selftest_bf16: skipped, this CPU has neither AVX-512 nor AVX2 with FMA");
        return 77;
    }
    int failures = 0;
    if (avx512)
        failures += check_path(BLK_ISA_AVX512, "AVX-512");
    if (avx2)
        failures += check_path(BLK_ISA_AVX2, "AVX2");
    if (failures) {
        printf("kernels_selftest_bf16: %d failures\n", failures);
        return 1;
    }
    puts("kernels_selftest_bf16: ok");
    return 0;
}
