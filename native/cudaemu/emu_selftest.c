/*
 * Self-test of libblaslinear_cudaemu: exact products, cuBLAS edge cases, each kind of violation, the
 * sticky state, failure injection, device modes, memory capacity and the live counters. Prints one
 * line per failed check and exits non-zero if any failed.
 *
 * Usage: cudaemu_selftest                      run everything
 *        cudaemu_selftest --expect-env-mode M  only check that BLASLINEAR_CUDAEMU_DEVICES=M took effect
 */
#include "blemu.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H2H = 0, H2D = 1, D2H = 2, D2D = 3, DEFAULT = 4 };
enum { OP_N = 0, OP_T = 1, OP_C = 2 };

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            g_failures++;                                                                          \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(actual, expected)                                                                 \
    do {                                                                                           \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                            \
        CHECK(a_ == e_, "%s == %lld, expected %lld", #actual, a_, e_);                             \
    } while (0)

/* Runs a call that must be a violation: the status, one more violation, and the reason in the
 * message. */
#define CHECK_VIOLATION(call, expected_status, needle)                                             \
    do {                                                                                           \
        long long before_ = blemu_violations();                                                    \
        long long got_ = (long long)(call);                                                        \
        CHECK(got_ == (expected_status), "%s returned %lld, expected %d", #call, got_,             \
              (int)(expected_status));                                                             \
        CHECK(blemu_violations() == before_ + 1, "%s: violations %lld -> %lld, expected +1", #call, \
              before_, blemu_violations());                                                        \
        CHECK(strstr(blemu_last_violation(), needle) != NULL,                                      \
              "%s: last violation \"%s\" lacks \"%s\"", #call, blemu_last_violation(), needle);    \
    } while (0)

/* Runs a call that must be rejected as a bad argument: INVALID_VALUE, counted, not a violation. */
#define CHECK_INVALID(call, expected_status)                                                       \
    do {                                                                                           \
        long long v_ = blemu_violations(), i_ = blemu_invalid_value_count();                       \
        long long got_ = (long long)(call);                                                        \
        CHECK(got_ == (expected_status), "%s returned %lld, expected %d", #call, got_,             \
              (int)(expected_status));                                                             \
        CHECK(blemu_invalid_value_count() == i_ + 1, "%s: invalid-value count not incremented",    \
              #call);                                                                              \
        CHECK(blemu_violations() == v_, "%s: counted as a violation", #call);                      \
    } while (0)

static void section(const char *name, int failures_before)
{
    printf("%s %s\n", g_failures == failures_before ? "ok  " : "FAIL", name);
}

static float *dev_upload(const float *host, size_t n)
{
    void *d = NULL;
    CHECK_EQ(cudaMalloc(&d, n * sizeof(float)), 0);
    if (host)
        CHECK_EQ(cudaMemcpy(d, host, n * sizeof(float), H2D), 0);
    return d;
}

static void dev_download(float *host, const float *dev, size_t n)
{
    CHECK_EQ(cudaMemcpy(host, dev, n * sizeof(float), D2H), 0);
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void check_floats(const char *what, const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(got[i] == want[i], "%s[%d] = %g, expected %g", what, i, got[i], want[i]);
}

static int sticky_clear(void)
{
    int count = -1;
    return cudaGetDeviceCount(&count) == 0;
}

/* ---------------------------------------------------------------------------------------------- */

static void test_info(void)
{
    int f0 = g_failures, v = 0;
    CHECK_EQ(cudaRuntimeGetVersion(&v), 0);
    CHECK_EQ(v, 13000);
    CHECK_EQ(cudaDriverGetVersion(&v), 0);
    CHECK_EQ(v, 13000);
    CHECK_EQ(cudaDeviceGetAttribute(&v, 75, 0), 0);
    CHECK_EQ(v, 9);
    CHECK_EQ(cudaDeviceGetAttribute(&v, 76, 0), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(cudaDeviceGetAttribute(&v, 16, 0), 0);
    CHECK_EQ(v, 132);
    CHECK_INVALID(cudaDeviceGetAttribute(&v, 123456, 0), 1);
    CHECK_EQ(cudaDeviceGetAttribute(&v, 75, 1), 101);

    int count = -1;
    CHECK_EQ(cudaGetDeviceCount(&count), 0);
    CHECK_EQ(count, 1);
    CHECK_EQ(cudaSetDevice(0), 0);
    CHECK_EQ(cudaGetDevice(&v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(cudaSetDevice(1), 101);
    CHECK_EQ(cudaGetLastError(), 101);
    CHECK_EQ(cudaGetLastError(), 0);

    unsigned char prop[1024];
    memset(prop, 0xAB, sizeof prop);
    CHECK_EQ(cudaGetDeviceProperties_v2(prop, 0), 0);
    CHECK(strcmp((char *)prop, "BlasLinear CUDA emulator") == 0, "device name '%s'", (char *)prop);
    int untouched = 1;
    for (size_t i = 256; i < sizeof prop; i++)
        untouched &= prop[i] == 0xAB;
    CHECK(untouched, "cudaGetDeviceProperties_v2 wrote past byte 256");
    memset(prop, 0xAB, sizeof prop);
    CHECK_EQ(cudaGetDeviceProperties(prop, 0), 0);
    CHECK(strcmp((char *)prop, "BlasLinear CUDA emulator") == 0, "device name '%s'", (char *)prop);

    CHECK(strcmp(cudaGetErrorName(700), "cudaErrorIllegalAddress") == 0, "name of 700");
    CHECK(strcmp(cudaGetErrorName(400), "cudaErrorInvalidResourceHandle") == 0, "name of 400");
    CHECK(strcmp(cudaGetErrorName(17), "cudaErrorInvalidDevicePointer") == 0, "name of 17");
    CHECK(strcmp(cudaGetErrorName(803), "cudaErrorSystemDriverMismatch") == 0, "name of 803");
    CHECK(strcmp(cudaGetErrorString(2), "out of memory") == 0, "string of 2");
    CHECK(strcmp(cudaGetErrorName(4242), "cudaErrorUnknown") == 0, "name of unknown");
    CHECK(strcmp(cudaGetErrorString(4242), "unrecognized error code") == 0, "string of unknown");
    CHECK(strcmp(cublasGetStatusName(13), "CUBLAS_STATUS_EXECUTION_FAILED") == 0, "cublas 13");
    CHECK(strcmp(cublasGetStatusName(7), "CUBLAS_STATUS_INVALID_VALUE") == 0, "cublas 7");
    CHECK(strlen(cublasGetStatusString(1)) > 0, "cublas string 1");

    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    CHECK_EQ(cublasGetVersion_v2(h, &v), 0);
    CHECK_EQ(v, 130000);
    CHECK_EQ(cublasGetMathMode(h, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(cublasSetMathMode(h, 3), 0);
    CHECK_EQ(cublasGetMathMode(h, &v), 0);
    CHECK_EQ(v, 3);
    CHECK_INVALID(cublasSetMathMode(h, 1), 7);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("device info, versions, attributes, error strings, math mode", f0);
}

/* Column-major reference: C = alpha*op(A)*op(B) + beta*C, in double, reading C only if beta != 0. */
static void ref_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double a = ta == OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
                double b = tb == OP_N ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb];
                s += a * b;
            }
            float *c = &C[i + (size_t)j * ldc];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

static void test_gemm_exact(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    /* Column-major A = [[1,3],[2,4]], B = [[5,7],[6,8]]. */
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float *dA = dev_upload(a, 4), *dB = dev_upload(b, 4), *dC = dev_upload(NULL, 4);
    float c[4];
    dev_download(c, dC, 4);
    CHECK(bits(c[0]) == 0x7FC00000u && bits(c[3]) == 0x7FC00000u,
          "fresh device memory is not NaN-filled (0x%08x)", bits(c[0]));

    const float one = 1, zero = 0;
    struct {
        int ta, tb;
        float want[4];
    } cases[] = {
        {OP_N, OP_N, {23, 34, 31, 46}}, /* A·B */
        {OP_T, OP_N, {17, 39, 23, 53}}, /* Aᵀ·B */
        {OP_N, OP_T, {26, 38, 30, 44}}, /* A·Bᵀ */
        {OP_T, OP_T, {19, 43, 22, 50}}, /* Aᵀ·Bᵀ = (B·A)ᵀ */
        {OP_C, OP_N, {17, 39, 23, 53}}, /* conjugate transpose of a real matrix is the transpose */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(cublasSgemm_v2(h, cases[i].ta, cases[i].tb, 2, 2, 2, &one, dA, 2, dB, 2, &zero, dC,
                                2),
                 0);
        dev_download(c, dC, 4);
        check_floats("golden C", c, cases[i].want, 4);
    }

    /* Sweep with padded leading dimensions and NaN sentinels in the padding: integer data keeps
     * every product exact, and the sentinels prove nothing outside the m×n block is written. */
    int dims[] = {1, 2, 3, 5, 8};
    float alphas[] = {1, 2, -1}, betas[] = {0, 1, -3};
    int cases_run = 0;
    for (int ta = 0; ta < 3; ta++)
        for (int tb = 0; tb < 3; tb++)
            for (int mi = 0; mi < 5; mi++)
                for (int ni = 0; ni < 5; ni++)
                    for (int ki = 0; ki < 5; ki++) {
                        int m = dims[mi], n = dims[ni], k = dims[ki];
                        int rowsA = ta == OP_N ? m : k, colsA = ta == OP_N ? k : m;
                        int rowsB = tb == OP_N ? k : n, colsB = tb == OP_N ? n : k;
                        int lda = rowsA + 1, ldb = rowsB + 2, ldc = m + 3;
                        size_t na = (size_t)lda * colsA, nb = (size_t)ldb * colsB,
                               nc = (size_t)ldc * n;
                        float *ha = malloc(na * 4), *hb = malloc(nb * 4), *hc = malloc(nc * 4),
                              *want = malloc(nc * 4);
                        for (size_t i = 0; i < na; i++)
                            ha[i] = (float)((int)((i * 7 + 3) % 7) - 3);
                        for (size_t i = 0; i < nb; i++)
                            hb[i] = (float)((int)((i * 5 + 1) % 5) - 2);
                        for (size_t i = 0; i < nc; i++)
                            hc[i] = (i % ldc) < (size_t)m ? (float)((int)(i % 4) - 1) : NAN;
                        float alpha = alphas[(m + k) % 3], beta = betas[(n + ta + tb) % 3];
                        memcpy(want, hc, nc * 4);
                        ref_gemm(ta == OP_C ? OP_T : ta, tb == OP_C ? OP_T : tb, m, n, k, alpha, ha,
                                 lda, hb, ldb, beta, want, ldc);
                        float *da = dev_upload(ha, na), *db = dev_upload(hb, nb),
                              *dc = dev_upload(hc, nc);
                        CHECK_EQ(cublasSgemm_v2(h, ta, tb, m, n, k, &alpha, da, lda, db, ldb, &beta,
                                                dc, ldc),
                                 0);
                        dev_download(hc, dc, nc);
                        for (size_t i = 0; i < nc; i++) {
                            int pad = (i % ldc) >= (size_t)m;
                            CHECK(pad ? bits(hc[i]) == bits(want[i]) : hc[i] == want[i],
                                  "sweep ta=%d tb=%d m=%d n=%d k=%d: C[%zu] = %g, expected %g", ta,
                                  tb, m, n, k, i, hc[i], want[i]);
                        }
                        CHECK_EQ(cudaFree(da), 0);
                        CHECK_EQ(cudaFree(db), 0);
                        CHECK_EQ(cudaFree(dc), 0);
                        free(ha);
                        free(hb);
                        free(hc);
                        free(want);
                        cases_run++;
                    }
    CHECK_EQ(cases_run, 9 * 125);
    CHECK_EQ(cudaFree(dA), 0);
    CHECK_EQ(cudaFree(dB), 0);
    CHECK_EQ(cudaFree(dC), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("sgemm exact products (golden 2x2, all transposes, padded sweep)", f0);
}

static void test_gemm_edges(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float *dA = dev_upload(a, 4), *dB = dev_upload(b, 4), *dC = dev_upload(NULL, 4);
    const float one = 1, zero = 0, two = 2;
    float c[4];

    /* beta == 0 over the NaN-filled fresh allocation: C must not be read. */
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, &zero, dC, 2), 0);
    dev_download(c, dC, 4);
    check_floats("beta=0 over NaN", c, (const float[]){23, 34, 31, 46}, 4);

    /* k == 0: C = beta*C, and A, B are neither read nor checked. */
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 0, &one, NULL, 2, NULL, 1, &two, dC, 2), 0);
    dev_download(c, dC, 4);
    check_floats("k=0 beta=2", c, (const float[]){46, 68, 62, 92}, 4);
    const float nan4[4] = {NAN, NAN, NAN, NAN};
    CHECK_EQ(cudaMemcpy(dC, nan4, sizeof nan4, H2D), 0);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 0, &one, NULL, 2, NULL, 1, &zero, dC, 2), 0);
    dev_download(c, dC, 4);
    check_floats("k=0 beta=0 over NaN", c, (const float[]){0, 0, 0, 0}, 4);

    /* alpha == 0 with NaN in A: C = beta*C, A not referenced. */
    float *dNanA = dev_upload(NULL, 4);
    CHECK_EQ(cudaMemcpy(dC, b, sizeof b, H2D), 0);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &zero, dNanA, 2, dB, 2, &two, dC, 2), 0);
    dev_download(c, dC, 4);
    check_floats("alpha=0 NaN A", c, (const float[]){10, 12, 14, 16}, 4);

    /* m == 0 or n == 0: success without touching (or checking) memory. */
    long long v0 = blemu_violations();
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 0, 2, 2, &one, NULL, 1, NULL, 2, &one, NULL, 1), 0);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 0, 2, &one, NULL, 2, NULL, 2, &one, NULL, 2), 0);
    CHECK_EQ(blemu_violations(), v0);

    /* Argument errors: INVALID_VALUE, counted, never a violation, never sticky. */
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 1, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_T, OP_N, 3, 2, 2, &one, dA, 1, dB, 2, &one, dC, 3), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 1, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_T, 2, 3, 2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, &one, dC, 1), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 0, 2, 2, &one, dA, 0, dB, 2, &one, dC, 0), 7);
    CHECK_INVALID(cublasSgemm_v2(h, 3, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, -1, 2, 2, 2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, -1, 2, 2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, -2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, NULL, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, NULL, dC, 2), 7);
    CHECK_INVALID(cublasSgemm_v2(NULL, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, &one, dC, 2), 7);
    CHECK(sticky_clear(), "an argument error made the emulator sticky");
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dB, 2, &zero, dC, 2), 0);

    CHECK_EQ(cudaFree(dA), 0);
    CHECK_EQ(cudaFree(dB), 0);
    CHECK_EQ(cudaFree(dC), 0);
    CHECK_EQ(cudaFree(dNanA), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("sgemm edge cases (beta=0 over NaN, k=0, alpha=0, m/n=0, argument errors)", f0);
}

static void test_gemv(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    /* A is 2x3 column-major [[1,3,5],[2,4,6]], stored with lda = 3 (one padding row). */
    const float a[9] = {1, 2, -1, 3, 4, -1, 5, 6, -1};
    const float x3[3] = {1, 1, 2}, x2[2] = {1, -1};
    const float one = 1, zero = 0, two = 2;
    float *dA = dev_upload(a, 9), *dx3 = dev_upload(x3, 3), *dx2 = dev_upload(x2, 2);
    float *dy = dev_upload(NULL, 3);
    float y[6];

    CHECK_EQ(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dx3, 1, &zero, dy, 1), 0); /* NaN y */
    dev_download(y, dy, 2);
    check_floats("gemv N", y, (const float[]){14, 18}, 2);
    CHECK_EQ(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dx3, 1, &two, dy, 1), 0);
    dev_download(y, dy, 2);
    check_floats("gemv N beta=2", y, (const float[]){42, 54}, 2);
    CHECK_EQ(cublasSgemv_v2(h, OP_T, 2, 3, &one, dA, 3, dx2, 1, &zero, dy, 1), 0);
    dev_download(y, dy, 3);
    check_floats("gemv T", y, (const float[]){-1, -1, -1}, 3);

    /* Strided and reversed vectors: x = {1, *, 1, *, 2} with incx = 2; incx = -2 walks it backwards. */
    const float xs[5] = {1, 99, 1, 99, 2};
    float *dxs = dev_upload(xs, 5), *dys = dev_upload(NULL, 3);
    CHECK_EQ(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dxs, 2, &zero, dys, 2), 0);
    dev_download(y, dys, 3);
    CHECK(y[0] == 14 && y[2] == 18 && bits(y[1]) == 0x7FC00000u, "gemv incx=2 incy=2: %g %g %g",
          y[0], y[1], y[2]);
    CHECK_EQ(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dxs, -2, &zero, dy, -1), 0);
    dev_download(y, dy, 2);
    /* x reversed = {2, 1, 1}: A·x = {10, 14}; y reversed stores element 0 at the far end. */
    check_floats("gemv incx=-2 incy=-1", y, (const float[]){14, 10}, 2);

    /* Quick return: m == 0 leaves y alone even with beta = 0. */
    CHECK_EQ(cublasSgemv_v2(h, OP_N, 0, 3, &one, NULL, 1, NULL, 1, &zero, NULL, 1), 0);

    CHECK_INVALID(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 1, dx3, 1, &zero, dy, 1), 7);
    CHECK_INVALID(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dx3, 0, &zero, dy, 1), 7);
    CHECK_INVALID(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dx3, 1, &zero, dy, 0), 7);
    CHECK_INVALID(cublasSgemv_v2(h, 5, 2, 3, &one, dA, 3, dx3, 1, &zero, dy, 1), 7);
    CHECK_INVALID(cublasSgemv_v2(h, OP_N, -2, 3, &one, dA, 3, dx3, 1, &zero, dy, 1), 7);

    /* x too short for trans = N (needs n = 3 floats, dx2 has 2): a device fault. */
    CHECK_VIOLATION(cublasSgemv_v2(h, OP_N, 2, 3, &one, dA, 3, dx2, 1, &zero, dy, 1), 13,
                    "operand x");
    CHECK(!sticky_clear(), "gemv fault did not make the emulator sticky");
    blemu_reset();

    float *ptrs[] = {dA, dx3, dx2, dy, dxs, dys};
    for (int i = 0; i < 6; i++)
        CHECK_EQ(cudaFree(ptrs[i]), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("sgemv (N, T, beta=0 over NaN, strided and negative increments, checks)", f0);
}

static void test_sscal(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    const float x[5] = {1, 2, 3, 4, 5};
    const float two = 2;
    float *dX = dev_upload(x, 5);
    CHECK_EQ(cublasSscal_v2(h, 3, &two, dX, 2), 0);
    float got[5];
    dev_download(got, dX, 5);
    check_floats("sscal stride 2", got, (const float[]){2, 2, 6, 4, 10}, 5);
    CHECK_EQ(cublasSscal_v2(h, 0, &two, dX, 1), 0);
    CHECK_EQ(cublasSscal_v2(h, 5, &two, dX, -1), 0);
    dev_download(got, dX, 5);
    check_floats("sscal quick returns", got, (const float[]){2, 2, 6, 4, 10}, 5);
    CHECK_INVALID(cublasSscal_v2(h, 5, NULL, dX, 1), 7);
    CHECK_VIOLATION(cublasSscal_v2(h, 6, &two, dX, 1), 13, "operand x");
    blemu_reset();
    CHECK_VIOLATION(cublasSscal_v2(h, 2, &two, (float *)x, 1), 13, "operand x");
    blemu_reset();
    CHECK_EQ(cudaFree(dX), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("sscal (strides, quick returns, range check)", f0);
}

static void test_batched(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    /* Three 2x2 A's, one shared B (stride 0), three C's with stride 5 (one float of padding). */
    const float a[12] = {1, 2, 3, 4, 0, 1, 1, 0, 2, 0, 0, 2};
    const float b[4] = {5, 6, 7, 8};
    const float one = 1, zero = 0;
    float *dA = dev_upload(a, 12), *dB = dev_upload(b, 4), *dC = dev_upload(NULL, 15);
    CHECK_EQ(cublasSgemmStridedBatched(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, 4, dB, 2, 0, &zero, dC,
                                       2, 5, 3),
             0);
    float c[15];
    dev_download(c, dC, 15);
    check_floats("batch 0", c, (const float[]){23, 34, 31, 46}, 4);
    check_floats("batch 1", c + 5, (const float[]){6, 5, 8, 7}, 4);
    check_floats("batch 2", c + 10, (const float[]){10, 12, 14, 16}, 4);
    CHECK(bits(c[4]) == 0x7FC00000u && bits(c[9]) == 0x7FC00000u, "stride padding was written");

    CHECK_EQ(cublasSgemmStridedBatched(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, 4, dB, 2, 0, &zero, dC,
                                       2, 5, 0),
             0);
    CHECK_INVALID(cublasSgemmStridedBatched(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, 4, dB, 2, 0, &zero,
                                            dC, 2, 5, -1),
                  7);
    /* A fourth batch would read A past its 12 floats: the whole call faults before computing. */
    CHECK_VIOLATION(cublasSgemmStridedBatched(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, 4, dB, 2, 0,
                                              &zero, dC, 2, 4, 4),
                    13, "operand A of batch 3");
    CHECK(!sticky_clear(), "batched fault did not make the emulator sticky");
    blemu_reset();

    CHECK_EQ(cudaFree(dA), 0);
    CHECK_EQ(cudaFree(dB), 0);
    CHECK_EQ(cudaFree(dC), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("sgemm strided batched (shared B, padded C stride, per-batch range check)", f0);
}

static void test_sticky_and_operand_violations(void)
{
    int f0 = g_failures;
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    const float a[4] = {1, 2, 3, 4};
    float host[4] = {5, 6, 7, 8};
    const float one = 1, zero = 0;
    float *dA = dev_upload(a, 4), *dC = dev_upload(NULL, 4), *dShort = dev_upload(NULL, 3);

    /* A host pointer as operand B: the kernel faults, and the context is lost. */
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, host, 2, &zero, dC, 2), 13,
                    "operand B");
    CHECK(strstr(blemu_last_violation(), "not inside a device allocation") != NULL, "reason: %s",
          blemu_last_violation());
    void *p = (void *)1;
    CHECK_EQ(cudaMalloc(&p, 16), 700);
    CHECK_EQ(cudaGetLastError(), 700); /* sticky: reported, and stays */
    CHECK_EQ(cudaGetLastError(), 700);
    CHECK_EQ(cudaFree(dA), 700);
    CHECK_EQ(cudaDeviceSynchronize(), 700);
    int count = 42;
    CHECK_EQ(cudaGetDeviceCount(&count), 700);
    cublasHandle_t h2 = NULL;
    CHECK_EQ(cublasCreate_v2(&h2), 13);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dA, 2, &zero, dC, 2), 13);
    CHECK(strcmp(cudaGetErrorName(700), "cudaErrorIllegalAddress") == 0, "names work when sticky");
    CHECK(strcmp(cudaGetErrorString(700), "an illegal memory access was encountered") == 0,
          "strings work when sticky");
    blemu_reset();
    CHECK_EQ(blemu_violations(), 0);
    CHECK(blemu_last_violation()[0] == '\0', "last violation not cleared by reset");
    CHECK(sticky_clear(), "blemu_reset did not clear the sticky state");
    CHECK_EQ(cudaGetLastError(), 0);

    /* Page-locked host memory is still host memory. */
    void *pinned = NULL;
    CHECK_EQ(cudaHostAlloc(&pinned, 16, 0), 0);
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dA, 2, &zero, pinned, 2), 13,
                    "page-locked");
    blemu_reset();

    /* C needs 4 floats; the allocation has 3. */
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 2, dA, 2, &zero, dShort, 2), 13,
                    "past the end");
    blemu_reset();
    /* A with lda = 3 spans (2-1)*3+2 = 5 floats: one past the 4-float allocation. */
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, dA, 3, dA, 2, &zero, dC, 2), 13,
                    "operand A");
    blemu_reset();
    /* An interior pointer is fine while its range fits. */
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 1, 1, 1, &one, dA + 3, 1, dA + 1, 1, &zero, dC + 2, 1), 0);

    CHECK_EQ(cudaFreeHost(pinned), 0);
    CHECK_EQ(cudaFree(dA), 0);
    CHECK_EQ(cudaFree(dC), 0);
    CHECK_EQ(cudaFree(dShort), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("operand violations (host, page-locked, past end) and the sticky state + reset", f0);
}

static void test_memory_violations(void)
{
    int f0 = g_failures;
    float host[8] = {0};
    float *d = dev_upload(NULL, 4);
    float *d2 = dev_upload(NULL, 4);

    /* Correct copies of every kind. */
    const float src[4] = {1, 2, 3, 4};
    float back[4];
    CHECK_EQ(cudaMemcpy(d, src, 16, H2D), 0);
    CHECK_EQ(cudaMemcpy(d2, d, 16, D2D), 0);
    CHECK_EQ(cudaMemcpy(back, d2, 16, D2H), 0);
    check_floats("round trip", back, src, 4);
    CHECK_EQ(cudaMemcpy(host, src, 16, H2H), 0);
    CHECK_EQ(cudaMemcpy(d, host, 16, DEFAULT), 0);
    CHECK_EQ(cudaMemcpy(back, d, 16, DEFAULT), 0);
    CHECK_EQ(cudaMemcpy(d + 1, d, 8, D2D), 0); /* overlapping, inside one allocation */
    CHECK_EQ(cudaMemcpy(NULL, NULL, 0, H2D), 0);

    /* Wrong direction, both ways round, and a device pointer given as host memory. */
    CHECK_VIOLATION(cudaMemcpy(d, host, 16, D2H), 1, "host memory is required");
    CHECK_EQ(cudaGetLastError(), 1);
    CHECK_EQ(cudaGetLastError(), 0);
    CHECK_VIOLATION(cudaMemcpy(host, src, 16, H2D), 1, "destination");
    CHECK_VIOLATION(cudaMemcpy(host, d, 16, H2H), 1, "source");
    CHECK_VIOLATION(cudaMemcpy(d, host, 16, D2D), 1, "not inside a device allocation");
    CHECK(sticky_clear(), "a copy violation made the emulator sticky");

    /* Past the end, with explicit and inferred kinds. */
    CHECK_VIOLATION(cudaMemcpy(d, host, 20, H2D), 1, "past the end");
    CHECK_VIOLATION(cudaMemcpy(host, d + 2, 12, D2H), 1, "past the end");
    CHECK_VIOLATION(cudaMemcpy(d, host, 32, DEFAULT), 1, "past the end");
    CHECK_VIOLATION(cudaMemcpy(d, host, 16, 9), 21, "not a cudaMemcpyKind");

    /* cudaMemsetAsync range check. */
    CHECK_EQ(cudaMemsetAsync(d, 0, 16, NULL), 0);
    CHECK_EQ(cudaMemcpy(back, d, 16, D2H), 0);
    check_floats("memset", back, (const float[]){0, 0, 0, 0}, 4);
    CHECK_VIOLATION(cudaMemsetAsync(d + 1, 0, 16, NULL), 1, "past the end");
    CHECK_VIOLATION(cudaMemsetAsync(host, 0, 16, NULL), 1, "not inside a device allocation");

    /* Frees of unknown pointers. */
    CHECK_VIOLATION(cudaFree(host), 1, "not a live device allocation");
    CHECK_VIOLATION(cudaFree(d + 1), 1, "inside device allocation");
    CHECK_EQ(cudaFree(NULL), 0);
    CHECK_VIOLATION(cudaFreeHost(host), 1, "not a live cudaHostAlloc");
    CHECK_VIOLATION(cudaFreeHost(d), 1, "device memory");

    /* cudaHostRegister / Unregister. */
    float *reg = malloc(64);
    long long live = blemu_live_host_allocations();
    CHECK_EQ(cudaHostRegister(reg, 64, 0), 0);
    CHECK_EQ(blemu_live_host_allocations(), live + 1);
    CHECK_VIOLATION(cudaHostRegister(reg + 4, 16, 0), 712, "overlaps");
    CHECK_VIOLATION(cudaFree(reg), 1, "page-locked");
    CHECK_VIOLATION(cudaFreeHost(reg), 1, "cudaHostRegister");
    CHECK_EQ(cudaMemcpy(d, reg, 16, H2D), 0);
    CHECK_EQ(cudaHostUnregister(reg), 0);
    CHECK_EQ(blemu_live_host_allocations(), live);
    CHECK_VIOLATION(cudaHostUnregister(reg), 713, "not the start");
    CHECK_VIOLATION(cudaHostRegister(d, 16, 0), 1, "device memory");
    free(reg);

    CHECK_EQ(cudaFree(d), 0);
    CHECK_VIOLATION(cudaFree(d), 1, "double free");
    CHECK_VIOLATION(cudaMemcpy(d2, d, 16, D2D), 1, "source");
    CHECK_EQ(cudaFree(d2), 0);
    CHECK(sticky_clear(), "memory violations made the emulator sticky");
    blemu_reset();
    section("copy/free/register violations (direction, past end, unknown and double free)", f0);
}

static void test_streams_and_handles(void)
{
    int f0 = g_failures;
    float host[4] = {1, 2, 3, 4};
    float *d = dev_upload(NULL, 4);
    cudaStream_t s = NULL, s2 = NULL;
    long long streams = blemu_live_streams(), handles = blemu_live_handles();
    CHECK_EQ(cudaStreamCreateWithFlags(&s, 1), 0);
    CHECK_EQ(blemu_live_streams(), streams + 1);
    CHECK_INVALID(cudaStreamCreateWithFlags(&s2, 8), 1);
    CHECK_EQ(cudaMemcpyAsync(d, host, 16, H2D, s), 0);
    CHECK_EQ(cudaStreamSynchronize(s), 0);
    CHECK_EQ(cudaMemcpyAsync(d, host, 16, H2D, NULL), 0); /* legacy default stream */
    CHECK_EQ(cudaStreamSynchronize(NULL), 0);

    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    CHECK_EQ(blemu_live_handles(), handles + 1);
    CHECK_EQ(cublasSetStream_v2(h, s), 0);
    const float one = 1, zero = 0;
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, d, 2), 0);

    CHECK_EQ(cudaStreamDestroy(s), 0);
    CHECK_EQ(blemu_live_streams(), streams);
    CHECK_VIOLATION(cudaMemcpyAsync(d, host, 16, H2D, s), 400, "destroyed");
    CHECK_VIOLATION(cudaMemsetAsync(d, 0, 16, s), 400, "destroyed");
    CHECK_VIOLATION(cudaStreamSynchronize(s), 400, "destroyed");
    CHECK_VIOLATION(cudaStreamDestroy(s), 400, "destroyed");
    CHECK_VIOLATION(cudaStreamSynchronize((cudaStream_t)host), 400, "not created");
    CHECK_VIOLATION(cudaStreamDestroy(NULL), 400, "built-in");
    /* The handle still points at the destroyed stream: the launch fails, not stickily. */
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, d, 2), 13,
                    "destroyed");
    CHECK(sticky_clear(), "a launch on a dead stream made the emulator sticky");
    CHECK_VIOLATION(cublasSetStream_v2(h, s), 7, "destroyed");
    CHECK_EQ(cublasSetStream_v2(h, NULL), 0);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, d, 2), 0);

    CHECK_EQ(cublasDestroy_v2(h), 0);
    CHECK_EQ(blemu_live_handles(), handles);
    CHECK_VIOLATION(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, d, 2), 1,
                    "handle");
    CHECK_VIOLATION(cublasSetMathMode(h, 0), 1, "destroyed");
    CHECK_VIOLATION(cublasDestroy_v2(h), 1, "destroyed");
    CHECK_VIOLATION(cublasSgemv_v2((cublasHandle_t)host, OP_N, 2, 2, &one, d, 2, d, 1, &zero, d, 1),
                    1, "not created by cublasCreate_v2");
    /* A new handle never reuses a dead one's address. */
    cublasHandle_t h3 = NULL;
    CHECK_EQ(cublasCreate_v2(&h3), 0);
    CHECK(h3 != h, "new handle reuses the destroyed handle's address");
    CHECK_EQ(cublasDestroy_v2(h3), 0);
    CHECK(sticky_clear(), "handle violations made the emulator sticky");

    CHECK_EQ(cudaFree(d), 0);
    blemu_reset();
    section("streams and handles (dead/unknown stream, dead/unknown handle)", f0);
}

static void test_injection(void)
{
    int f0 = g_failures;
    long long dev_total = blemu_total_device_allocations();
    long long host_total = blemu_total_host_allocations();

    /* The 2nd allocation of any kind fails, once. */
    blemu_fail_nth_allocation(2, 2);
    void *p1 = NULL, *p2 = (void *)1, *p3 = NULL;
    CHECK_EQ(cudaMalloc(&p1, 64), 0);
    CHECK_EQ(cudaHostAlloc(&p2, 64, 0), 2);
    CHECK(p2 == NULL, "failed cudaHostAlloc left a pointer");
    CHECK_EQ(cudaGetLastError(), 2);
    CHECK_EQ(cudaHostAlloc(&p3, 64, 0), 0);
    CHECK_EQ(blemu_total_device_allocations(), dev_total + 1);
    CHECK_EQ(blemu_total_host_allocations(), host_total + 1);
    CHECK(sticky_clear(), "an injected out-of-memory made the emulator sticky");
    CHECK_EQ(cudaFree(p1), 0);
    CHECK_EQ(cudaFreeHost(p3), 0);

    /* n <= 0 disables a pending allocation failure. */
    blemu_fail_nth_allocation(1, 2);
    blemu_fail_nth_allocation(0, 2);
    CHECK_EQ(cudaMalloc(&p1, 64), 0);
    CHECK_EQ(cudaFree(p1), 0);

    /* A named call: the 2nd sgemm fails with the given status and does nothing. */
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    const float one = 1, zero = 0, a[4] = {1, 2, 3, 4};
    float *d = dev_upload(a, 4), *dc = dev_upload(NULL, 4), c[4];
    blemu_fail_nth_call("cublasSgemm_v2", 2, 13);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, dc, 2), 0);
    CHECK_EQ(cudaMemsetAsync(dc, 0xFF, 16, NULL), 0);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, dc, 2), 13);
    dev_download(c, dc, 4);
    CHECK(bits(c[0]) == 0xFFFFFFFFu, "an injected sgemm failure still computed");
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, dc, 2), 0);
    CHECK(sticky_clear(), "an injected status 13 made the emulator sticky");

    /* Injected allocation-type failures of other calls, and clearing with n <= 0. */
    long long streams = blemu_live_streams();
    cudaStream_t s = NULL;
    blemu_fail_nth_call("cudaStreamCreateWithFlags", 1, 2);
    CHECK_EQ(cudaStreamCreateWithFlags(&s, 0), 2);
    CHECK_EQ(blemu_live_streams(), streams);
    blemu_fail_nth_call("cublasCreate_v2", 1, 3);
    blemu_fail_nth_call("cublasCreate_v2", 0, 3);
    cublasHandle_t h2 = NULL;
    CHECK_EQ(cublasCreate_v2(&h2), 0);
    CHECK_EQ(cublasDestroy_v2(h2), 0);
    blemu_fail_nth_call("cudaMemGetInfo", 1, 999);
    size_t fr = 0, tot = 0;
    CHECK_EQ(cudaMemGetInfo(&fr, &tot), 999);
    CHECK_EQ(cudaGetLastError(), 999);

    /* Several pending injections at once, on different functions. */
    blemu_fail_nth_call("cudaDeviceSynchronize", 1, 719);
    blemu_fail_nth_call("cudaMemcpy", 3, 700);
    CHECK_EQ(cudaMemcpy(c, d, 16, D2H), 0);
    CHECK_EQ(cudaMemcpy(c, d, 16, D2H), 0);
    CHECK_EQ(cudaMemcpy(c, d, 16, D2H), 700); /* the 3rd: sticky from here on */
    CHECK_EQ(cudaMalloc(&p1, 16), 700);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, dc, 2), 13);
    CHECK_EQ(cudaDeviceSynchronize(), 719); /* its own injection fires first */
    blemu_reset();
    CHECK(sticky_clear(), "reset did not clear an injected sticky error");

    /* 700 injected into a cuBLAS call: the kernel "faults", cuBLAS reports EXECUTION_FAILED and the
     * runtime is sticky. */
    blemu_fail_nth_call("cublasSgemm_v2", 1, 700);
    CHECK_EQ(cublasSgemm_v2(h, OP_N, OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, dc, 2), 13);
    CHECK_EQ(cudaGetLastError(), 700);
    CHECK_EQ(cublasSetMathMode(h, 0), 13);
    blemu_reset();
    CHECK(sticky_clear(), "reset did not clear a sticky error injected through cuBLAS");

    /* blemu_reset drops pending injections. */
    blemu_fail_nth_call("cudaFree", 1, 1);
    blemu_fail_nth_allocation(1, 2);
    blemu_reset();
    CHECK_EQ(cudaFree(d), 0);
    CHECK_EQ(cudaFree(dc), 0);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    section("failure injection (nth allocation, nth named call, sticky 700/719, clearing)", f0);
}

static void test_device_modes(void)
{
    int f0 = g_failures;
    int count = 42;
    blemu_set_device_mode(1);
    CHECK_EQ(cudaGetDeviceCount(&count), 0);
    CHECK_EQ(count, 0);
    blemu_set_device_mode(2);
    count = 42;
    CHECK_EQ(cudaGetDeviceCount(&count), 100);
    CHECK_EQ(count, 42);
    CHECK_EQ(cudaSetDevice(0), 100);
    blemu_set_device_mode(3);
    CHECK_EQ(cudaGetDeviceCount(&count), 35);
    CHECK_EQ(count, 42);
    CHECK_EQ(cudaGetLastError(), 35);
    blemu_set_device_mode(0);
    CHECK_EQ(cudaGetDeviceCount(&count), 0);
    CHECK_EQ(count, 1);
    CHECK_EQ(cudaGetLastError(), 0);
    section("device modes (normal, zero, no device, insufficient driver)", f0);
}

static void test_capacity(void)
{
    int f0 = g_failures;
    size_t fr = 0, total = 0;
    CHECK_EQ(cudaMemGetInfo(&fr, &total), 0);
    CHECK_EQ(total, 16LL << 30);
    CHECK_EQ(fr, (16LL << 30) - blemu_live_device_bytes());

    blemu_set_memory_capacity(1 << 20);
    void *big = NULL, *half = NULL, *rest = NULL;
    CHECK_EQ(cudaMalloc(&big, 2 << 20), 2);
    CHECK(big == NULL, "failed cudaMalloc left a pointer");
    CHECK_EQ(cudaGetLastError(), 2);
    CHECK(sticky_clear(), "out of memory is sticky");
    CHECK_EQ(cudaMalloc(&half, 512 << 10), 0);
    CHECK_EQ(cudaMemGetInfo(&fr, &total), 0);
    CHECK_EQ(total, 1 << 20);
    CHECK_EQ(blemu_live_device_bytes(), 512 << 10);
    CHECK_EQ(fr, 512 << 10);
    CHECK_EQ(cudaMalloc(&rest, (512 << 10) + 4), 2);
    /* Cutting the capacity below what is live reports zero free, never a negative wrapped to huge. */
    blemu_set_memory_capacity(256 << 10);
    CHECK_EQ(cudaMemGetInfo(&fr, &total), 0);
    CHECK_EQ(fr, 0);
    CHECK_EQ(cudaMalloc(&rest, 4), 2);
    blemu_set_memory_capacity(1 << 20);
    CHECK_EQ(cudaFree(half), 0);
    CHECK_EQ(cudaMalloc(&rest, 1 << 20), 0);
    CHECK_EQ(cudaFree(rest), 0);
    void *zero = (void *)1;
    CHECK_EQ(cudaMalloc(&zero, 0), 0);
    CHECK(zero == NULL, "cudaMalloc(0) did not return NULL");
    blemu_set_memory_capacity(16LL << 30);
    section("memory capacity and cudaMemGetInfo (out of memory is not sticky)", f0);
}

static void *thread_body(void *arg)
{
    int seed = (int)(intptr_t)arg, *bad = calloc(1, sizeof(int));
    enum { N = 24 };
    float a[N * N], b[N * N], c[N * N];
    cublasHandle_t h = NULL;
    cudaStream_t s = NULL;
    if (cublasCreate_v2(&h) || cudaStreamCreateWithFlags(&s, 1) || cublasSetStream_v2(h, s))
        (*bad)++;
    for (int it = 0; it < 100; it++) {
        for (int i = 0; i < N * N; i++) {
            a[i] = (float)((i + seed + it) % 5 - 2);
            b[i] = (float)((i * 3 + seed) % 7 - 3);
        }
        void *da = NULL, *db = NULL, *dc = NULL;
        const float one = 1, zero = 0;
        if (cudaMalloc(&da, sizeof a) || cudaMalloc(&db, sizeof b) || cudaMalloc(&dc, sizeof c) ||
            cudaMemcpyAsync(da, a, sizeof a, H2D, s) || cudaMemcpyAsync(db, b, sizeof b, H2D, s) ||
            cublasSgemm_v2(h, OP_N, OP_T, N, N, N, &one, da, N, db, N, &zero, dc, N) ||
            cudaMemcpyAsync(c, dc, sizeof c, D2H, s) || cudaStreamSynchronize(s))
            (*bad)++;
        float want[N * N];
        ref_gemm(OP_N, OP_T, N, N, N, 1, a, N, b, N, 0, want, N);
        if (memcmp(want, c, sizeof c) != 0)
            (*bad)++;
        if (cudaFree(da) || cudaFree(db) || cudaFree(dc))
            (*bad)++;
    }
    if (cublasDestroy_v2(h) || cudaStreamDestroy(s))
        (*bad)++;
    return bad;
}

static void test_threads(void)
{
    int f0 = g_failures;
    enum { T = 8 };
    pthread_t th[T];
    long long total = blemu_total_device_allocations();
    for (int i = 0; i < T; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, thread_body, (void *)(intptr_t)i), 0);
    for (int i = 0; i < T; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        CHECK(*(int *)r == 0, "thread %d saw %d failures", i, *(int *)r);
        free(r);
    }
    CHECK_EQ(blemu_total_device_allocations(), total + T * 100 * 3);
    CHECK_EQ(blemu_violations(), 0);
    section("8 threads x 100 allocate/copy/sgemm/free cycles", f0);
}

/* cuBLASLt with the bias epilogue: D = op(A)·op(B) + bias down D's rows, exact on integers; objects checked
 * for lifetime, the algorithm for its origin; every object freed. */
static void test_lt_bias(void)
{
    int f0 = g_failures;
    enum { COMPUTE_32F = 68, R_32F = 0, TRANSA = 3, EPILOGUE = 7, BIAS_POINTER = 8, BIAS = 4, NOT_SUPPORTED = 15 };
    long long live = blemu_live_lt_objects(), matmuls = blemu_lt_matmuls();
    void *h = NULL, *desc = NULL, *la = NULL, *lb = NULL, *ld = NULL, *pref = NULL;
    CHECK_EQ(cublasLtCreate(&h), 0);
    CHECK_EQ(cublasLtMatmulDescCreate(&desc, COMPUTE_32F, R_32F), 0);
    /* Column-major A = [[1,3],[2,4]] used transposed, B = [[5,7],[6,8]], bias (10, 20). */
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, bias[2] = {10, 20};
    float *dA = dev_upload(a, 4), *dB = dev_upload(b, 4), *dBias = dev_upload(bias, 2), *dD = dev_upload(NULL, 4);
    int transa = OP_T;
    unsigned epilogue = BIAS;
    CHECK_EQ(cublasLtMatmulDescSetAttribute(desc, TRANSA, &transa, sizeof transa), 0);
    CHECK_EQ(cublasLtMatmulDescSetAttribute(desc, EPILOGUE, &epilogue, sizeof epilogue), 0);
    CHECK_EQ(cublasLtMatmulDescSetAttribute(desc, BIAS_POINTER, &dBias, sizeof dBias), 0);
    CHECK_EQ(cublasLtMatrixLayoutCreate(&la, R_32F, 2, 2, 2), 0);
    CHECK_EQ(cublasLtMatrixLayoutCreate(&lb, R_32F, 2, 2, 2), 0);
    CHECK_EQ(cublasLtMatrixLayoutCreate(&ld, R_32F, 2, 2, 2), 0);
    CHECK_EQ(cublasLtMatmulPreferenceCreate(&pref), 0);
    cublasLtMatmulHeuristicResult_t result;
    int returned = 0;
    CHECK_EQ(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, ld, ld, pref, 1, &result, &returned), 0);
    CHECK_EQ(returned, 1);
    const float one = 1, zero = 0;
    CHECK_EQ(cublasLtMatmul(h, desc, &one, dA, la, dB, lb, &zero, dD, ld, dD, ld, &result.algo, NULL, 0, NULL), 0);
    float d[4];
    dev_download(d, dD, 4);
    const float want[4] = {17 + 10, 39 + 20, 23 + 10, 53 + 20}; /* Aᵀ·B, then the bias by row */
    check_floats("Lt D = Aᵀ·B + bias", d, want, 4);
    CHECK_EQ(blemu_lt_matmuls(), matmuls + 1);

    cublasLtMatmulAlgo_t forged = result.algo;
    forged.data[0] ^= 1;
    CHECK_VIOLATION(cublasLtMatmul(h, desc, &one, dA, la, dB, lb, &zero, dD, ld, dD, ld, &forged, NULL, 0, NULL), 7,
                    "did not come from");
    unsigned relu = 2;
    CHECK_EQ(cublasLtMatmulDescSetAttribute(desc, EPILOGUE, &relu, sizeof relu), 0);
    CHECK_EQ(cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, ld, ld, pref, 1, &result, &returned), NOT_SUPPORTED);
    CHECK_EQ(returned, 0);

    CHECK_EQ(cublasLtMatmulPreferenceDestroy(pref), 0);
    CHECK_EQ(cublasLtMatrixLayoutDestroy(la), 0);
    CHECK_EQ(cublasLtMatrixLayoutDestroy(lb), 0);
    CHECK_EQ(cublasLtMatrixLayoutDestroy(ld), 0);
    CHECK_EQ(cublasLtMatmulDescDestroy(desc), 0);
    CHECK_VIOLATION(cublasLtMatmulDescSetAttribute(desc, EPILOGUE, &epilogue, sizeof epilogue), 1, "destroyed");
    CHECK_VIOLATION(cublasLtMatrixLayoutDestroy(h), 1, "not a matrix layout");
    CHECK_EQ(cublasLtDestroy(h), 0);
    CHECK_EQ(blemu_live_lt_objects(), live);
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dBias);
    cudaFree(dD);
    section("cuBLASLt: the bias epilogue, object lifetimes, the algorithm's origin", f0);
}

static void test_live_counters_return_to_zero(void)
{
    int f0 = g_failures;
    CHECK_EQ(blemu_live_device_allocations(), 0);
    CHECK_EQ(blemu_live_host_allocations(), 0);
    CHECK_EQ(blemu_live_device_bytes(), 0);
    CHECK_EQ(blemu_live_handles(), 0);
    CHECK_EQ(blemu_live_streams(), 0);
    CHECK(blemu_total_device_allocations() > 0, "total device allocations not counted");
    CHECK(blemu_total_host_allocations() > 0, "total host allocations not counted");
    blemu_reset();
    CHECK_EQ(blemu_violations(), 0);
    CHECK_EQ(blemu_invalid_value_count(), 0);
    section("live counters back to zero, reset clears counters", f0);
}

/* BLASLINEAR_CUDAEMU_DEVICES is read when the library loads; this mode runs in its own process. */
static int check_env_mode(const char *mode)
{
    int count = 42, want_count = 42, want_status = 0;
    if (strcmp(mode, "normal") == 0)
        want_count = 1;
    else if (strcmp(mode, "zero") == 0)
        want_count = 0;
    else if (strcmp(mode, "nodevice") == 0)
        want_status = 100;
    else if (strcmp(mode, "driver") == 0)
        want_status = 35;
    else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    CHECK_EQ(cudaGetDeviceCount(&count), want_status);
    CHECK_EQ(count, want_count);
    section("BLASLINEAR_CUDAEMU_DEVICES from the environment", 0);
    return g_failures ? 1 : 0;
}

/* An asynchronous copy from pageable memory runs at the stream's next operation or synchronisation
 * point, so a source changed before then is what arrives; from page-locked memory it runs at once. */
static void test_deferred_pageable_copies(void)
{
    int f0 = g_failures;
    cudaStream_t s = NULL;
    float *d = NULL, *pinned = NULL;
    float pageable[4] = {1, 2, 3, 4}, back[4] = {0};
    CHECK_EQ(cudaStreamCreateWithFlags(&s, 1), 0);
    CHECK_EQ(cudaMalloc((void **)&d, sizeof pageable), 0);
    CHECK_EQ(cudaHostAlloc((void **)&pinned, sizeof pageable, 0), 0);
    long long deferred = blemu_deferred_copies();

    CHECK_EQ(cudaMemcpyAsync(d, pageable, sizeof pageable, 1, s), 0);
    CHECK_EQ(blemu_deferred_copies(), deferred + 1);
    pageable[0] = 99; /* changed after the call returned, before the stream got to the copy */
    CHECK_EQ(cudaStreamSynchronize(s), 0);
    CHECK_EQ(cudaMemcpyAsync(back, d, sizeof back, 2, s), 0);
    CHECK_EQ(cudaStreamSynchronize(s), 0);
    CHECK(back[0] == 99 && back[3] == 4, "the deferred copy read the source when the stream ran it");

    memcpy(pinned, (float[]){5, 6, 7, 8}, sizeof pageable);
    CHECK_EQ(cudaMemcpyAsync(d, pinned, sizeof pageable, 1, s), 0);
    CHECK_EQ(blemu_deferred_copies(), deferred + 1);
    pinned[0] = -1;
    CHECK_EQ(cudaMemcpyAsync(back, d, sizeof back, 2, s), 0);
    CHECK_EQ(cudaStreamSynchronize(s), 0);
    CHECK(back[0] == 5, "a copy from page-locked memory runs at once");

    /* A kernel on the stream runs the queued copies first, in order. */
    float one = 1, x[4] = {1, 1, 1, 1};
    cublasHandle_t h = NULL;
    CHECK_EQ(cublasCreate_v2(&h), 0);
    CHECK_EQ(cublasSetStream_v2(h, s), 0);
    CHECK_EQ(cudaMemcpyAsync(d, x, sizeof x, 1, s), 0);
    CHECK_EQ(cublasSscal_v2(h, 4, &one, d, 1), 0);
    x[0] = 50;
    CHECK_EQ(cudaMemcpyAsync(back, d, sizeof back, 2, s), 0);
    CHECK_EQ(cudaStreamSynchronize(s), 0);
    CHECK(back[0] == 1, "the kernel ran the queued copy before it read the destination");

    long long legacy = blemu_legacy_stream_calls();
    CHECK_EQ(cudaMemcpy(back, d, sizeof back, 2), 0);
    CHECK_EQ(blemu_legacy_stream_calls(), legacy + 1);
    CHECK_EQ(cublasDestroy_v2(h), 0);
    CHECK_EQ(cudaFreeHost(pinned), 0);
    CHECK_EQ(cudaFree(d), 0);
    CHECK_EQ(cudaStreamDestroy(s), 0);
    section("asynchronous copies from pageable memory are deferred to the stream's next operation", f0);
}

/* A thread's current device is its own; a handle made before cudaSetDevice is counted. */
static void *make_handle_without_set_device(void *arg)
{
    cublasHandle_t h = NULL;
    *(int *)arg = blemu_thread_device();
    if (cublasCreate_v2(&h) == 0)
        cublasDestroy_v2(h);
    return NULL;
}

static void test_current_device_per_thread(void)
{
    int f0 = g_failures, seen = 0;
    CHECK_EQ(cudaSetDevice(0), 0);
    CHECK_EQ(blemu_thread_device(), 0);
    long long without = blemu_handles_without_device();
    pthread_t t;
    pthread_create(&t, NULL, make_handle_without_set_device, &seen);
    pthread_join(t, NULL);
    CHECK_EQ(seen, -1);
    CHECK_EQ(blemu_handles_without_device(), without + 1);
    section("the current device is per thread", f0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--expect-env-mode") == 0)
        return check_env_mode(argv[2]);

    test_info();
    test_gemm_exact();
    test_gemm_edges();
    test_gemv();
    test_sscal();
    test_batched();
    test_sticky_and_operand_violations();
    test_memory_violations();
    test_streams_and_handles();
    test_injection();
    test_device_modes();
    test_capacity();
    blemu_reset();
    test_threads();
    test_deferred_pageable_copies();
    test_current_device_per_thread();
    test_lt_bias();
    test_live_counters_return_to_zero();

    if (g_failures) {
        printf("cudaemu_selftest: %d check(s) FAILED\n", g_failures);
        return 1;
    }
    printf("cudaemu_selftest: all checks passed\n");
    return 0;
}
