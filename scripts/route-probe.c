/* Times one column slice of a product (the unit CpuWorkers.cs hands each thread) on one thread, on every
 * CPU provider side by side: the kernels' AVX2 and AVX-512 paths, oneDNN, oneDNN on the swapped product
 * (B·Aᵀ, then transposed by the kernels, A·Bᵀ only) and OpenBLAS. Samples are interleaved across providers
 * and the best of 15 is kept, so that a busy shared machine skews the providers alike. docs/cpu-routes.md
 * ("The AVX2 table") gives the rows it printed and the command:
 *
 *   cc -O2 -o route-probe scripts/route-probe.c -Inative/kernels -I/usr/include/x86_64-linux-gnu \
 *      native/build/kernels/libblaslinear_kernels.so /usr/lib/x86_64-linux-gnu/libdnnl.so.2 \
 *      /usr/lib/x86_64-linux-gnu/libopenblas.so.0 -Wl,-rpath,$PWD/native/build/kernels
 *   OMP_NUM_THREADS=1 DNNL_MAX_CPU_ISA=AVX2 ./route-probe abt 512 1024 1 2 4 8 12 13 16 24 32 64 128 512
 *
 * (abt = A·Bᵀ, ab = A·B, atb = Aᵀ·B; then the slice's columns, the inner size, and the batches.)
 * DNNL_MAX_CPU_ISA=AVX2 holds oneDNN to what it runs on an AVX2 CPU. Needs an AVX-512 CPU (it runs both paths).
 * WIDTH=N: the slice is part of a product N columns wide, as the router's slices are (512 of a 1024→1024 layer on
 * two threads: WIDTH=1024), so that C, and B for A·B and Aᵀ·B, have the leading dimension N the providers get from
 * the layer; without it the slice is a product of its own (leading dimension = its columns), which favoured oneDNN's
 * AVX2 Aᵀ·B (docs/cpu-routes.md, "Aᵀ·B on the AVX2 path: the kernels to 5"). Aᵀ·B accumulates (β = 1), as a weight
 * gradient does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "blaslinear_kernels.h"
#include <cblas.h>
/* Declared here: Debian's runtime package (libdnnl2) installs no header. */
int dnnl_sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void openblas_set_num_threads(int);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
enum { ABT, AB, ATB };
static float *A, *B, *C, *W;
static int kind, m, n, k, ld; /* C m×n (leading dimension ld); batch is m (ABT, AB) or k (ATB) */
static void run(int p)
{
    switch (p) {
    case 0: case 1: {
        int isa = p == 0 ? BLK_ISA_AVX2 : BLK_ISA_AVX512;
        if (kind == ABT) blk_sgemm_abt(isa, m, n, k, 1, A, k, B, k, 0, C, ld);
        else if (kind == AB) blk_sgemm_ab(isa, m, n, k, 1, A, k, B, ld, 0, C, ld);
        else blk_sgemm_atb(isa, m, n, k, 1, A, m, B, ld, 1, C, ld);
        break; }
    case 2:
        if (kind == ABT) dnnl_sgemm('N', 'T', m, n, k, 1, A, k, B, k, 0, C, ld);
        else if (kind == AB) dnnl_sgemm('N', 'N', m, n, k, 1, A, k, B, ld, 0, C, ld);
        else dnnl_sgemm('T', 'N', m, n, k, 1, A, m, B, ld, 1, C, ld);
        break;
    case 3: case 4: /* swapped: W[n,m] = B·Aᵀ then transpose into C (ABT only) */
        dnnl_sgemm('N', 'T', n, m, k, 1, B, k, A, k, 0, W, m);
        blk_transpose(p == 3 ? BLK_ISA_AVX2 : BLK_ISA_AVX512, n, m, W, m, 0, C, ld);
        break;
    case 5:
        if (kind == ABT) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, A, k, B, k, 0, C, ld);
        else if (kind == AB) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, A, k, B, ld, 0, C, ld);
        else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1, A, m, B, ld, 1, C, ld);
        break;
    }
}
int main(int argc, char** argv)
{
    if (argc < 5) {
        fputs("usage: route-probe abt|ab|atb COLUMNS INNER BATCH...\n", stderr);
        return 2;
    }
    openblas_set_num_threads(1);
    const char* names[] = {"avx2", "avx512", "onednn", "swap-avx2", "swap-avx512", "openblas"};
    kind = !strcmp(argv[1], "abt") ? ABT : !strcmp(argv[1], "ab") ? AB : ATB;
    int N = atoi(argv[2]), K = atoi(argv[3]);
    ld = getenv("WIDTH") ? atoi(getenv("WIDTH")) : N;
    if (ld < N) {
        fputs("route-probe: WIDTH is less than the slice's columns\n", stderr);
        return 2;
    }
    size_t big = (size_t)4096 * 4096;
    A = aligned_alloc(64, big * 4); B = aligned_alloc(64, big * 4); C = aligned_alloc(64, big * 4); W = aligned_alloc(64, big * 4);
    for (size_t i = 0; i < big; i++) { A[i] = (float)(i % 7) * 0.1f; B[i] = (float)(i % 5) * 0.1f; C[i] = 0; W[i] = 0; }
    printf("%s n=%d k=%d: GFLOP/s (best of 15 interleaved samples)\n batch", argv[1], N, K);
    for (int p = 0; p < 6; p++) if (kind == ABT || (p != 3 && p != 4)) printf(" %10s", names[p]);
    printf("\n");
    for (int a = 4; a < argc; a++) {
        int batch = atoi(argv[a]);
        if (kind == ATB) { m = K; n = N; k = batch; } else { m = batch; n = N; k = K; }
        if ((size_t)m * k > big || (size_t)ld * k > big || (size_t)m * ld > big) {
            fputs("route-probe: an operand over 4096×4096 floats\n", stderr);
            return 2;
        }
        double flops = 2.0 * m * n * k, best[6];
        for (int p = 0; p < 6; p++) best[p] = 1e30;
        int iters = (int)(2e7 / flops) + 1;
        for (int s = 0; s < 15; s++)
            for (int p = 0; p < 6; p++) {
                if (kind != ABT && (p == 3 || p == 4)) continue;
                run(p);
                double t0 = now();
                for (int i = 0; i < iters; i++) run(p);
                double t = (now() - t0) / iters;
                if (t < best[p]) best[p] = t;
            }
        printf(" %5d", batch);
        for (int p = 0; p < 6; p++) if (kind == ABT || (p != 3 && p != 4)) printf(" %10.1f", flops / best[p] * 1e-9);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
