/* The prepared forward Y = X·op(W) at one shape, on every route a prepared weight has taken, side by side:
 * each route split over the threads by column slices of whole 16-column blocks as CpuWorkers.cs splits it
 * (one OpenMP thread a slice; oneDNN called inside it runs on that thread alone), samples interleaved
 * across routes, best of 15. Routes: the kernels' X·Wᵀ on W [n,k] (a Linear weight as stored), oneDNN's
 * X·W on Wᵀ [k,n] (the transposed copy a prepared Linear kept before the panels), the kernels' X·W on
 * W [k,n] (a ParameterLinear weight as stored), the kernels on float32 panels, and on bfloat16 panels.
 * docs/cpu-routes.md
 * ("Prepared weights") gives the rows it printed and the command:
 *
 *   cc -O2 -fopenmp -o panels-probe scripts/panels-probe.c -Inative/kernels \
 *      native/build/kernels/libblaslinear_kernels.so /usr/lib/x86_64-linux-gnu/libdnnl.so.2 \
 *      -Wl,-rpath,$PWD/native/build/kernels
 *   OMP_NUM_THREADS=2 ./panels-probe OUT IN BATCH...      (ISA=avx2 in the environment: the AVX2 path)
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "blaslinear_kernels.h"
/* Declared here: Debian's runtime package (libdnnl2) installs no header. */
int dnnl_sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
enum { ROUTES = 5 };
static const char* names[ROUTES] = {"abt(W)", "onednn(Wt)", "ab(Wt)", "panels", "bf16-panels"};
static float *X, *Y, *W, *Wt, *P;
static uint16_t* Pb;
static int isa, m, n, k;

static void run(int route)
{
#pragma omp parallel
    {
        const int t = omp_get_thread_num(), threads = omp_get_num_threads();
        const int j0 = t == 0 ? 0 : (int)(((long)n * t / threads) & ~15L);
        const int j1 = t == threads - 1 ? n : (int)(((long)n * (t + 1) / threads) & ~15L);
        const int w = j1 - j0;
        switch (route) {
        case 0: blk_sgemm_abt(isa, m, w, k, 1, X, k, W + (size_t)j0 * k, k, 0, Y + j0, n); break;
        case 1: dnnl_sgemm('N', 'N', m, w, k, 1, X, k, Wt + j0, n, 0, Y + j0, n); break;
        case 2: blk_sgemm_ab(isa, m, w, k, 1, X, k, Wt + j0, n, 0, Y + j0, n); break;
        case 3: blk_sgemm_panels(isa, m, w, k, 1, X, k, P + (size_t)j0 * k, 0, NULL, Y + j0, n); break;
        case 4: blk_sgemm_bf16_panels(isa, m, w, k, 1, X, k, Pb + (size_t)j0 * k, 0, NULL, Y + j0, n); break;
        }
    }
}

int main(int argc, char** argv)
{
    if (argc < 4) {
        fputs("usage: panels-probe OUT IN BATCH...\n", stderr);
        return 2;
    }
    isa = getenv("ISA") && !strcmp(getenv("ISA"), "avx2") ? BLK_ISA_AVX2 : blk_cpu_isa();
    n = atoi(argv[1]);
    k = atoi(argv[2]);
    int max_m = 1;
    for (int a = 3; a < argc; a++) max_m = atoi(argv[a]) > max_m ? atoi(argv[a]) : max_m;
    const size_t panels = (size_t)(n + 15) / 16 * 16 * k;
    X = aligned_alloc(64, ((size_t)max_m * k * 4 + 63) / 64 * 64);
    Y = aligned_alloc(64, ((size_t)max_m * n * 4 + 63) / 64 * 64);
    W = aligned_alloc(64, ((size_t)n * k * 4 + 63) / 64 * 64);
    Wt = aligned_alloc(64, ((size_t)n * k * 4 + 63) / 64 * 64);
    P = aligned_alloc(64, panels * 4);
    Pb = aligned_alloc(64, (panels * 2 + 63) / 64 * 64);
    for (size_t i = 0; i < (size_t)max_m * k; i++) X[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)n * k; i++) W[i] = (float)(i % 5) * 0.1f;
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++) Wt[(size_t)p * n + j] = W[(size_t)j * k + p];
    for (size_t i = 0; i < panels; i++) {
        const size_t panel = i / (16 * (size_t)k), p = i / 16 % k, col = panel * 16 + i % 16;
        P[i] = col < (size_t)n ? W[col * k + p] : 0;
        uint32_t bits;
        memcpy(&bits, &P[i], 4);
        Pb[i] = (uint16_t)(bits >> 16); /* truncated: the values are for timing only */
    }
    printf("out=%d in=%d, %d threads, %s: GFLOP/s, best of 15 interleaved\n batch",
           n, k, omp_get_max_threads(), isa == BLK_ISA_AVX512 ? "AVX-512" : "AVX2");
    for (int r = 0; r < ROUTES; r++) printf(" %11s", names[r]);
    printf("\n");
    for (int a = 3; a < argc; a++) {
        m = atoi(argv[a]);
        const double flops = 2.0 * m * n * k;
        double best[ROUTES];
        for (int r = 0; r < ROUTES; r++) best[r] = 1e30;
        const int iters = (int)(4e7 / flops) + 1;
        for (int s = 0; s < 15; s++)
            for (int r = 0; r < ROUTES; r++) {
                run(r);
                const double t0 = now();
                for (int i = 0; i < iters; i++) run(r);
                const double t = (now() - t0) / iters;
                if (t < best[r]) best[r] = t;
            }
        printf(" %5d", m);
        for (int r = 0; r < ROUTES; r++) printf(" %11.1f", flops / best[r] * 1e-9);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
