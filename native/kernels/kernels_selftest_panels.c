/* Checks the products with a weight in panels, float32 (blk_sgemm_panels) and bfloat16 (blk_sgemm_bf16_panels),
 * on every code path this CPU runs (AVX-512 when blk_cpu_isa() says so, AVX2 when the CPU has AVX2 and FMA)
 * against a float64 triple loop over the same weights (bfloat16 ones widened exactly), for each type: 3,000 random shapes with ragged m, n and k around the tiles, padded
 * leading dimensions whose padding must come back untouched, α and β cycling, β = 0 over NaN-filled outputs
 * (never read), k past the blocking (256) in every 20th case and past 1000 in every 50th, m past the row
 * blocking (128) in every 25th. Every case is computed in two column slices (the first a multiple of 16
 * wide, as the router splits), and every 10th also row by row, which must give the same bits as the batch;
 * every other case adds a bias to every row.
 * Tolerance (docs/accuracy.md): |ĉ − c| ≤ (k + 2)·2⁻²³·G, G = |α|·Σ|a||b| + |β|·|c₀|.
 * Exits 0 with "kernels_selftest_panels: ok", 1 with the first failures, 77 (skipped) with no path to run. */
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

/* The product with the float32 or the bfloat16 panels (the same values). */
static void multiply(int bf16, int isa, int m, int n, int k, float alpha, const float* a, int lda,
                     const float* panels, const uint16_t* panels_bf16, float beta, const float* bias, float* c, int ldc)
{
    if (bf16)
        blk_sgemm_bf16_panels(isa, m, n, k, alpha, a, lda, panels_bf16, beta, bias, c, ldc);
    else
        blk_sgemm_panels(isa, m, n, k, alpha, a, lda, panels, beta, bias, c, ldc);
}

static int check_path(int isa, const char* name, int bf16)
{
    int failures = 0;
    for (int t = 0; t < 3000; t++) {
        const int m = t % 25 == 0 ? 100 + (int)(next() % 200) : 1 + (int)(next() % 20);
        const int n = 1 + (int)(next() % 150);
        const int k = t % 50 == 0 ? 1000 + (int)(next() % 1200)
                    : t % 20 == 0 ? 250 + (int)(next() % 400) : 1 + (int)(next() % 70);
        const int lda = k + (int)(next() % 3), ldc = n + (int)(next() % 3);
        const float alpha = (t & 4) ? -0.5f : 1.0f, beta = (t % 5 == 0) ? 0.0f : (t % 5 == 1) ? 1.0f : 0.25f;
        const int panel_count = (n + BLK_PANEL - 1) / BLK_PANEL;
        /* The first slice: whole panels, possibly none. */
        const int whole = (int)(next() % (unsigned)panel_count);
        const int split = BLK_PANEL * whole;
        float* a = malloc(sizeof(float) * (size_t)m * lda);
        float* w = malloc(sizeof(float) * (size_t)k * n); /* op(W) [k, n]; for bfloat16 the widened values */
        uint16_t* bits = malloc(sizeof(uint16_t) * (size_t)k * n);
        float* panels = malloc(sizeof(float) * (size_t)panel_count * BLK_PANEL * k);
        uint16_t* panels_bf16 = malloc(sizeof(uint16_t) * (size_t)panel_count * BLK_PANEL * k);
        float* c = malloc(sizeof(float) * (size_t)m * ldc);
        /* A bias in every other case (exactly n floats: nothing past it may be read). */
        float* bias = t % 2 == 0 ? malloc(sizeof(float) * (size_t)n) : NULL;
        if (bias)
            for (int j = 0; j < n; j++) bias[j] = uniform();
        float* rows = malloc(sizeof(float) * (size_t)m * ldc);
        double* want = malloc(sizeof(double) * (size_t)m * ldc);
        double* bound = malloc(sizeof(double) * (size_t)m * ldc);
        for (int i = 0; i < m * lda; i++) a[i] = uniform();
        for (int i = 0; i < k * n; i++) {
            bits[i] = random_bf16();
            w[i] = bf16 ? (float)widen(bits[i]) : uniform();
        }
        /* Padding columns hold random bits: the kernel must never let them reach C. */
        for (int pj = 0; pj < panel_count; pj++)
            for (int p = 0; p < k; p++)
                for (int x = 0; x < BLK_PANEL; x++) {
                    const int col = BLK_PANEL * pj + x;
                    const size_t at = ((size_t)pj * k + p) * BLK_PANEL + x;
                    panels[at] = col < n ? w[(size_t)p * n + col] : uniform();
                    panels_bf16[at] = col < n ? bits[(size_t)p * n + col] : random_bf16();
                }
        for (int i = 0; i < m * ldc; i++) c[i] = (beta == 0.0f || i % ldc >= n) ? NAN : uniform();
        memcpy(rows, c, sizeof(float) * (size_t)m * ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0, g = 0;
                for (int p = 0; p < k; p++) {
                    double x = a[i * lda + p], y = w[(size_t)p * n + j];
                    sum += x * y;
                    g += fabs(x * y);
                }
                double c0 = beta == 0.0f ? 0.0 : (double)c[i * ldc + j];
                double b0 = bias ? (double)bias[j] : 0.0;
                want[i * ldc + j] = alpha * sum + beta * c0 + b0;
                bound[i * ldc + j] = (k + 2) * ldexp(1.0, -23) * (fabs(alpha) * g + fabs(beta) * fabs(c0) + fabs(b0)) + 1e-30;
            }
        if (split > 0)
            multiply(bf16, isa, m, split, k, alpha, a, lda, panels, panels_bf16, beta, bias, c, ldc);
        multiply(bf16, isa, m, n - split, k, alpha, a, lda, panels + (size_t)split * k, panels_bf16 + (size_t)split * k,
                 beta, bias ? bias + split : NULL, c + split, ldc);
        const int by_rows = t % 10 == 0;
        if (by_rows)
            for (int i = 0; i < m; i++)
                multiply(bf16, isa, 1, n, k, alpha, a + (size_t)i * lda, lda, panels, panels_bf16, beta, bias, rows + (size_t)i * ldc, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++) {
                float got = c[i * ldc + j];
                int ok = j >= n ? isnan(got) : fabs(got - want[i * ldc + j]) <= bound[i * ldc + j];
                if (ok && by_rows && j < n)
                    ok = memcmp(&got, &rows[i * ldc + j], sizeof got) == 0;
                if (!ok && failures++ < 10)
                    printf("%s %s m %d n %d k %d lda %d ldc %d split %d: C[%d,%d] = %.9g (row by row %.9g), want %.9g\n", name,
                           bf16 ? "bfloat16" : "float32", m, n, k, lda, ldc, split, i, j, got, by_rows ? rows[i * ldc + j] : NAN, j >= n ? NAN : want[i * ldc + j]);
            }
        free(a); free(w); free(bits); free(panels); free(panels_bf16); free(bias); free(c); free(rows); free(want); free(bound);
    }
    printf("kernels_selftest_panels: %s %s %s\n", name, bf16 ? "bfloat16" : "float32", failures ? "FAILED" : "ok");
    return failures;
}

int main(void)
{
    __builtin_cpu_init();
    const int avx512 = blk_cpu_isa() == BLK_ISA_AVX512;
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!avx512 && !avx2) {
        puts("kernels_selftest_panels: skipped, this CPU has neither AVX-512 nor AVX2 with FMA");
        return 77;
    }
    int failures = 0;
    if (avx512)
        for (int bf16 = 0; bf16 <= 1; bf16++)
            failures += check_path(BLK_ISA_AVX512, "AVX-512", bf16);
    if (avx2)
        for (int bf16 = 0; bf16 <= 1; bf16++)
            failures += check_path(BLK_ISA_AVX2, "AVX2", bf16);
    if (failures) {
        printf("kernels_selftest_panels: %d failures\n", failures);
        return 1;
    }
    puts("kernels_selftest_panels: ok");
    return 0;
}
