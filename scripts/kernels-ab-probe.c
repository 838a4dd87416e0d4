/* Two builds of libblaslinear_kernels.so in one process (dlopen), timed side by side; medians of 15 interleaved
 * windows, µs, old / new, and whether the two gave the same bits.
 *
 * A·B (the default): m × n × k with the weight W [k, n], split over the OpenMP threads by column slices as
 * CpuWorkers.cs splits it; "alone", calls back to back; "after dW", each call follows an untimed Aᵀ·B on a
 * gradient of the weight's size, as in a backward pass, which evicts the weight from cache (windows ≥ 20 ms).
 * --panels: the prepared forward on float32 panels (BF16=1: bfloat16 panels) of an out × in weight, the panels
 * split in halves as the router splits them (windows ≥ 30 ms).
 * --atb: the weight gradient G [m, n] += Xᵀ·dY at batch k (X [k, m], dY [k, n]), G's rows split over the threads
 * as CpuWorkers.cs splits them, calls back to back (windows ≥ 20 ms); bits compared on one call from equal G.
 * --backward: a Linear layer's backward on a weight W [m, n] at batch k, dX = dY·W (A·B, column slices) and then
 * G += dYᵀ·X (Aᵀ·B, row slices), timed together (windows ≥ 20 ms): past the last-level cache the dW pass evicts the
 * weight and the dX pass the gradient, as in training; bits of dX and G compared on one call from G = 0.
 * --atb-placement: one library, one thread, GFLOP/s of the same product on the AVX-512 and AVX2 paths with dY at
 * G's offset within a 4 KiB page and 1 KiB further, the four interleaved (medians of 15 windows ≥ 20 ms).
 * docs/cpu-routes.md ("A·B: the weight prefetched", "Prepared weights", "Aᵀ·B: the gradient prefetched") gives
 * the rows it printed:
 *
 *   cc -O2 -fopenmp -o kernels-ab-probe scripts/kernels-ab-probe.c -ldl
 *   OMP_NUM_THREADS=2 ./kernels-ab-probe OLD.so NEW.so N K M...              (A·B; AVX2=1: the AVX2 path)
 *   OMP_NUM_THREADS=2 ./kernels-ab-probe --panels OLD.so NEW.so OUT IN M...  (BF16=1: bfloat16 panels)
 *   OMP_NUM_THREADS=2 ./kernels-ab-probe --atb OLD.so NEW.so M N K...         (AVX2=1: the AVX2 path)
 *   OMP_NUM_THREADS=2 ./kernels-ab-probe --backward OLD.so NEW.so M N K...    (AVX2=1: the AVX2 path)
 *   ./kernels-ab-probe --atb-placement LIB.so M N K...                        (both paths; needs AVX-512)
 */
#include <dlfcn.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
typedef void (*gemm_t)(int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*panels_t)(int, int, int, int, float, const float*, int, const void*, float, const float*, float*, int);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }
static void* open_lib(const char* path)
{
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); exit(1); }
    return h;
}
static float* floats(size_t count, int mod, float scale)
{
    float* p = aligned_alloc(64, (count * 4 + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)(i % mod) * scale;
    return p;
}

/* C [m, n] = A·B (β = 0) with C's columns split over the threads in multiples of 16, as the router splits an A·B. */
static void ab_slices(gemm_t f, int isa, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc)
{
#pragma omp parallel
    {
        const int T = omp_get_num_threads(), th = omp_get_thread_num();
        const int c0 = n * th / T / 16 * 16, c1 = th == T - 1 ? n : n * (th + 1) / T / 16 * 16;
        f(isa, m, c1 - c0, k, 1, a, lda, b + c0, ldb, 0, c + c0, ldc);
    }
}

/* G [m, n] += Aᵀ·B with A [k, m], B [k, n] (β = 1) and G's rows split over the threads, as the router splits a weight gradient. */
static void atb_slices(gemm_t f, int isa, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* g, int ldg)
{
#pragma omp parallel
    {
        const int T = omp_get_num_threads(), th = omp_get_thread_num(), r0 = m * th / T, r1 = m * (th + 1) / T;
        f(isa, r1 - r0, n, k, 1, a + r0, lda, b, ldb, 1, g + (size_t)r0 * ldg, ldg);
    }
}

/* Medians over 15 interleaved windows of at least `window` seconds, µs per call of step(l, context), for each of
 * `count` (at most 4) candidates l: library 0 (old) and 1 (new), or the placements of --atb-placement. */
static void time_set(double window, int count, void (*step)(int l, void* context), void* context, double median[])
{
    double s[4][15];
    for (int r = 0; r < 15; r++)
        for (int l = 0; l < count; l++) {
            int it = 0;
            const double t0 = now();
            while (now() - t0 < window) {
                step(l, context);
                it++;
            }
            s[l][r] = (now() - t0) / it * 1e6;
        }
    for (int l = 0; l < count; l++) {
        qsort(s[l], 15, sizeof(double), cmp);
        median[l] = s[l][7];
    }
}

typedef struct {
    panels_t f[2];
    int isa, m, n, k;
    size_t esz;
    const float *x;
    const void* p;
    float* y[2];
} panels_call;

/* The panels split in halves (multiples of 16 columns) over the threads, as the router splits them. */
static void panels_step(int l, void* context)
{
    const panels_call* c = context;
#pragma omp parallel
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int j0 = t == 0 ? 0 : (int)(((long)c->n * t / T) & ~15L), j1 = t == T - 1 ? c->n : (int)(((long)c->n * (t + 1) / T) & ~15L);
        c->f[l](c->isa, c->m, j1 - j0, c->k, 1, c->x, c->k, (const char*)c->p + (size_t)j0 * c->k * c->esz, 0, NULL, c->y[l] + j0, c->n);
    }
}

static int panels_main(int argc, char** argv, int isa)
{
    const int bf16 = getenv("BF16") != NULL;
    panels_t f[2];
    for (int l = 0; l < 2; l++) f[l] = (panels_t)dlsym(open_lib(argv[1 + l]), bf16 ? "blk_sgemm_bf16_panels" : "blk_sgemm_panels");
    const int n = atoi(argv[3]), k = atoi(argv[4]);
    int max_m = 1;
    for (int a = 5; a < argc; a++) max_m = atoi(argv[a]) > max_m ? atoi(argv[a]) : max_m;
    const size_t count = (size_t)(n + 15) / 16 * 16 * k, esz = bf16 ? 2 : 4;
    float* p = floats(count, 5, 0.1f);
    if (bf16) for (size_t i = 0; i < count; i++) ((uint16_t*)p)[i] = 0x3f80; /* 1.0: values for timing only */
    float *x = floats((size_t)max_m * k, 7, 0.1f), *y[2] = {floats((size_t)max_m * n, 1, 0), floats((size_t)max_m * n, 1, 0)};
    printf("%s panels, out %d × in %d, %s: µs, medians old / new\n", bf16 ? "bfloat16" : "float32", n, k, isa == 1 ? "AVX2" : "AVX-512");
    panels_call call = {{f[0], f[1]}, isa, 0, n, k, esz, x, p, {y[0], y[1]}};
    for (int a = 5; a < argc; a++) {
        call.m = atoi(argv[a]);
        double med[2];
        time_set(0.03, 2, panels_step, &call, med);
        printf(" m = %4d  %9.1f / %9.1f   %s\n", call.m, med[0], med[1], memcmp(y[0], y[1], (size_t)call.m * n * 4) ? "DIFFER" : "equal");
    }
    return 0;
}

typedef struct {
    gemm_t f[2];
    int isa, m, n, k;
    const float *x, *dy;
    float* g[2];
} atb_call;

/* G's rows split over the threads, as the router splits a weight gradient. */
static void atb_step(int l, void* context)
{
    const atb_call* c = context;
    atb_slices(c->f[l], c->isa, c->m, c->n, c->k, c->x, c->m, c->dy, c->n, c->g[l], c->n);
}

static int atb_main(int argc, char** argv, int isa)
{
    gemm_t f[2];
    for (int l = 0; l < 2; l++) f[l] = (gemm_t)dlsym(open_lib(argv[1 + l]), "blk_sgemm_atb");
    const int m = atoi(argv[3]), n = atoi(argv[4]);
    int max_k = 1;
    for (int a = 5; a < argc; a++) max_k = atoi(argv[a]) > max_k ? atoi(argv[a]) : max_k;
    float *x = floats((size_t)max_k * m, 7, 0.1f), *dy = floats((size_t)max_k * n, 5, 0.1f);
    float* g[2] = {floats((size_t)m * n, 3, 0.1f), floats((size_t)m * n, 3, 0.1f)};
    printf("Aᵀ·B, gradient %d × %d += Xᵀ·dY, %s: µs, medians old / new\n", m, n, isa == 1 ? "AVX2" : "AVX-512");
    atb_call call = {{f[0], f[1]}, isa, m, n, 0, x, dy, {g[0], g[1]}};
    for (int a = 5; a < argc; a++) {
        const int k = call.k = atoi(argv[a]);
        double med[2];
        time_set(0.02, 2, atb_step, &call, med);
        memcpy(g[1], g[0], (size_t)m * n * 4); /* equal G before the compared call */
        for (int l = 0; l < 2; l++)
            f[l](isa, m, n, k, 1, x, m, dy, n, 1, g[l], n);
        printf(" k = %4d  %9.1f / %9.1f   %s\n", k, med[0], med[1], memcmp(g[0], g[1], (size_t)m * n * 4) ? "DIFFER" : "equal");
    }
    return 0;
}

typedef struct {
    gemm_t ab[2], atb[2];
    int isa, m, n, k;
    const float *w, *x, *dy;
    float *dx[2], *g[2];
} backward_call;

/* A Linear layer's backward on the weight W [m, n]: dX [k, n] = dY [k, m]·W by column slices, then
 * G [m, n] += dYᵀ·X [k, n] by row slices, each split over the threads as the router splits it. */
static void backward_step(int l, void* context)
{
    const backward_call* c = context;
    ab_slices(c->ab[l], c->isa, c->k, c->n, c->m, c->dy, c->m, c->w, c->n, c->dx[l], c->n);
    atb_slices(c->atb[l], c->isa, c->m, c->n, c->k, c->dy, c->m, c->x, c->n, c->g[l], c->n);
}

static int backward_main(int argc, char** argv, int isa)
{
    backward_call call = {.isa = isa, .m = atoi(argv[3]), .n = atoi(argv[4])};
    for (int l = 0; l < 2; l++) {
        void* h = open_lib(argv[1 + l]);
        call.ab[l] = (gemm_t)dlsym(h, "blk_sgemm_ab");
        call.atb[l] = (gemm_t)dlsym(h, "blk_sgemm_atb");
    }
    const int m = call.m, n = call.n;
    int max_k = 1;
    for (int a = 5; a < argc; a++) max_k = atoi(argv[a]) > max_k ? atoi(argv[a]) : max_k;
    call.w = floats((size_t)m * n, 7, 0.1f);
    call.x = floats((size_t)max_k * n, 5, 0.1f);
    call.dy = floats((size_t)max_k * m, 3, 0.1f);
    for (int l = 0; l < 2; l++) {
        call.dx[l] = floats((size_t)max_k * n, 1, 0);
        call.g[l] = floats((size_t)m * n, 1, 0);
    }
    printf("Backward, weight and gradient %d × %d, dX then dW, %s: µs, medians old / new\n", m, n, isa == 1 ? "AVX2" : "AVX-512");
    for (int a = 5; a < argc; a++) {
        call.k = atoi(argv[a]);
        double med[2];
        time_set(0.02, 2, backward_step, &call, med);
        memset(call.g[0], 0, (size_t)m * n * 4); /* equal G before the compared call */
        memset(call.g[1], 0, (size_t)m * n * 4);
        for (int l = 0; l < 2; l++)
            backward_step(l, &call);
        printf(" k = %4d  %9.1f / %9.1f   %s\n", call.k, med[0], med[1],
               memcmp(call.g[0], call.g[1], (size_t)m * n * 4) || memcmp(call.dx[0], call.dx[1], (size_t)call.k * n * 4) ? "DIFFER" : "equal");
    }
    return 0;
}

typedef struct {
    gemm_t f;
    int m, n, k;
    const float *x, *dy[2];
    float* g;
} placement_call;

/* Candidate l: the AVX-512 path (l < 2) or the AVX2 one, dY at G's offset in a 4 KiB page (l even) or 1 KiB further. */
static void placement_step(int l, void* context)
{
    const placement_call* c = context;
    c->f(l < 2 ? 2 : 1, c->m, c->n, c->k, 1, c->x, c->m, c->dy[l & 1], c->n, 1, c->g, c->n); /* BLK_ISA_AVX512, BLK_ISA_AVX2 */
}

/* G [m, n] += X[k, m]ᵀ·dY[k, n] on one thread; dY at G's offset within a 4 KiB page, or 1 KiB further. */
static int atb_placement_main(int argc, char** argv)
{
    placement_call call = {(gemm_t)dlsym(open_lib(argv[1]), "blk_sgemm_atb"), atoi(argv[2]), atoi(argv[3]), 0, NULL, {NULL, NULL}, NULL};
    const int m = call.m, n = call.n;
    int max_k = 1;
    for (int a = 4; a < argc; a++) max_k = atoi(argv[a]) > max_k ? atoi(argv[a]) : max_k;
    call.g = aligned_alloc(4096, ((size_t)m * n * 4 + 4095) / 4096 * 4096);
    memset(call.g, 0, (size_t)m * n * 4);
    call.x = floats((size_t)max_k * m, 7, 0.1f);
    for (int o = 0; o < 2; o++) {
        float* dy = (float*)aligned_alloc(4096, ((size_t)max_k * n * 4 + 1024 + 4095) / 4096 * 4096) + 256 * o;
        for (size_t i = 0; i < (size_t)max_k * n; i++) dy[i] = (float)(i % 5) * 0.1f;
        call.dy[o] = dy;
    }
    printf("Aᵀ·B, gradient %d × %d += Xᵀ·dY, one thread: GFLOP/s, dY at G's offset in a 4 KiB page / 1 KiB further\n", m, n);
    for (int a = 4; a < argc; a++) {
        const int k = call.k = atoi(argv[a]);
        double med[4];
        time_set(0.02, 4, placement_step, &call, med);
        const double flop = 2.0 * m * n * k / 1e3; /* GFLOP/s from µs */
        printf(" k = %4d  AVX-512 %6.1f / %6.1f   AVX2 %6.1f / %6.1f\n", k, flop / med[0], flop / med[1], flop / med[2], flop / med[3]);
    }
    return 0;
}

int main(int argc, char** argv)
{
    const int isa = getenv("AVX2") ? 1 : 2; /* BLK_ISA_AVX2, BLK_ISA_AVX512 */
    if (argc > 1 && !strcmp(argv[1], "--panels")) {
        if (argc < 6) { fputs("usage: kernels-ab-probe --panels OLD.so NEW.so OUT IN M...\n", stderr); return 2; }
        return panels_main(argc - 1, argv + 1, isa);
    }
    if (argc > 1 && !strcmp(argv[1], "--atb-placement")) {
        if (argc < 6) { fputs("usage: kernels-ab-probe --atb-placement LIB.so M N K...\n", stderr); return 2; }
        return atb_placement_main(argc - 1, argv + 1);
    }
    if (argc > 1 && !strcmp(argv[1], "--backward")) {
        if (argc < 6) { fputs("usage: kernels-ab-probe --backward OLD.so NEW.so M N K...\n", stderr); return 2; }
        return backward_main(argc - 1, argv + 1, isa);
    }
    if (argc > 1 && !strcmp(argv[1], "--atb")) {
        if (argc < 6) { fputs("usage: kernels-ab-probe --atb OLD.so NEW.so M N K...\n", stderr); return 2; }
        return atb_main(argc - 1, argv + 1, isa);
    }
    if (argc < 5) { fputs("usage: kernels-ab-probe OLD.so NEW.so N K M...\n", stderr); return 2; }
    gemm_t ab[2], atb[2];
    for (int l = 0; l < 2; l++) {
        void* h = open_lib(argv[1 + l]);
        ab[l] = (gemm_t)dlsym(h, "blk_sgemm_ab");
        atb[l] = (gemm_t)dlsym(h, "blk_sgemm_atb");
    }
    const int n = atoi(argv[3]), k = atoi(argv[4]);
    int max_m = 1;
    for (int a = 5; a < argc; a++) max_m = atoi(argv[a]) > max_m ? atoi(argv[a]) : max_m;
    float *w = floats((size_t)n * k, 7, 0.1f), *g = floats((size_t)n * k, 1, 0), *x = floats((size_t)max_m * k, 5, 0.1f);
    float *dy = floats((size_t)max_m * n, 3, 0.1f), *y[2] = {floats((size_t)max_m * n, 1, 0), floats((size_t)max_m * n, 1, 0)};
    printf("A·B n=%d k=%d, %s: µs, medians old / new\n  m   alone              after dW\n", n, k, isa == 1 ? "AVX2" : "AVX-512");
    for (int a = 5; a < argc; a++) {
        const int m = atoi(argv[a]);
        double med[2][2];
        for (int mode = 0; mode < 2; mode++) {
            double s[2][15];
            for (int r = 0; r < 15; r++)
                for (int l = 0; l < 2; l++) {
                    double t = 0;
                    int it = 0;
                    const double w0 = now();
                    while (now() - w0 < 0.02) {
                        if (mode)
                            atb_slices(atb[l], isa, k, n, m, x, k, dy, n, g, n);
                        const double t0 = now();
                        ab_slices(ab[l], isa, m, n, k, x, k, w, n, y[l], n);
                        t += now() - t0;
                        it++;
                    }
                    s[l][r] = t / it * 1e6;
                }
            for (int l = 0; l < 2; l++) { qsort(s[l], 15, sizeof(double), cmp); med[mode][l] = s[l][7]; }
        }
        printf("%3d  %7.1f / %7.1f   %7.1f / %7.1f   %s\n", m, med[0][0], med[0][1], med[1][0], med[1][1],
               memcmp(y[0], y[1], (size_t)m * n * 4) ? "DIFFER" : "equal");
    }
    return 0;
}
