/*
 * The emulated cuBLAS: handles, status strings and the products, with cuBLAS's argument checks, computed
 * by OpenBLAS in column-major order. A bad device address faults like a kernel on a GPU would: the call
 * fails with EXECUTION_FAILED and the context is lost.
 */
#include "emu_internal.h"

static const code_text k_cublas_status[] = {
    {0, "CUBLAS_STATUS_SUCCESS", "success"},
    {1, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {3, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {7, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {8, "CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"},
    {11, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {13, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {14, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {15, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
    {16, "CUBLAS_STATUS_LICENSE_ERROR", "an error was detected when checking the current licensing"},
};

BLEMU_API const char *cublasGetStatusName(cublasStatus_t status)
{
    const code_text *c = find_code(k_cublas_status, COUNT_OF(k_cublas_status), status);
    return c ? c->name : "CUBLAS_STATUS_UNKNOWN";
}

BLEMU_API const char *cublasGetStatusString(cublasStatus_t status)
{
    const code_text *c = find_code(k_cublas_status, COUNT_OF(k_cublas_status), status);
    return c ? c->text : "unknown error";
}


/* ---------------------------------------------------------------------------------------------- */
/* cuBLAS: handles                                                                                */
/* ---------------------------------------------------------------------------------------------- */

BLEMU_API cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    cublasStatus_t st;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    if (!handle)
        return cb_end(cb_invalid());
    handle_obj *h = malloc(sizeof *h);
    if (!h || !obj_add(&g_handles, h)) {
        free(h);
        return cb_end(CUBLAS_STATUS_ALLOC_FAILED);
    }
    *h = (handle_obj){.live = 1, .math_mode = 0, .stream = NULL};
    /* A handle belongs to the device current on its thread; one made before cudaSetDevice lands on
     * device 0 whatever the caller meant. */
    if (t_current_device < 0)
        g_handles_without_device++;
    g_live_handles++;
    *handle = h;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

BLEMU_API cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (h) {
        h->live = 0;
        g_live_handles--;
    }
    return cb_end(st);
}

BLEMU_API cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    /* A dead stream is a lifetime bug (violation), reported with the status cuBLAS uses for a
     * bad argument. */
    if (!check_stream(__func__, stream))
        return cb_end(CUBLAS_STATUS_INVALID_VALUE);
    h->stream = stream;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

BLEMU_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, int mode)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if (mode != 0 && mode != 2 && mode != 3)
        return cb_end(cb_invalid());
    h->math_mode = mode;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

BLEMU_API cublasStatus_t cublasGetMathMode(cublasHandle_t handle, int *mode)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if (!mode)
        return cb_end(cb_invalid());
    *mode = h->math_mode;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

/* The version does not depend on the handle, and cuBLAS answers it for a NULL handle too; a
 * non-NULL handle must still be live. */
BLEMU_API cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    if (handle && !get_handle(__func__, handle, &st))
        return cb_end(st);
    if (!version)
        return cb_end(cb_invalid());
    *version = BLEMU_RUNTIME_MAJOR * 10000;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

/* ---------------------------------------------------------------------------------------------- */
/* cuBLAS: compute                                                                                */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    int ta, tb, m, n, k;
    float alpha, beta;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float *C;
    int ldc;
} gemm_job;

static int max1(int v) { return v > 1 ? v : 1; }
static int valid_op(int op) { return op >= 0 && op <= 2; }

static uint64_t vector_floats(int len, int inc)
{
    uint64_t step = inc < 0 ? (uint64_t)(-(int64_t)inc) : (uint64_t)inc;
    return (uint64_t)(len - 1) * step + 1;
}

/* cuBLAS's own argument checks, in its order. Not violations: only counted as invalid values. */
static cublasStatus_t gemm_args(int ta, int tb, int m, int n, int k, const float *alpha,
                                const float *beta, int lda, int ldb, int ldc)
{
    if (!alpha || !beta || !valid_op(ta) || !valid_op(tb) || m < 0 || n < 0 || k < 0)
        return cb_invalid();
    if (lda < max1(ta == 0 ? m : k) || ldb < max1(tb == 0 ? k : n) || ldc < max1(m))
        return cb_invalid();
    return CUBLAS_STATUS_SUCCESS;
}

static int gemm_operands_ok(const char *fn, long batch, const gemm_job *j)
{
    char role[64];
    if (j->k > 0) {
        int rowsA = j->ta == 0 ? j->m : j->k, colsA = j->ta == 0 ? j->k : j->m;
        int rowsB = j->tb == 0 ? j->k : j->n, colsB = j->tb == 0 ? j->n : j->k;
        snprintf(role, sizeof role, batch < 0 ? "operand A" : "operand A of batch %ld", batch);
        if (!check_device_range(fn, role, j->A, float_bytes(matrix_floats(rowsA, colsA, j->lda))))
            return 0;
        snprintf(role, sizeof role, batch < 0 ? "operand B" : "operand B of batch %ld", batch);
        if (!check_device_range(fn, role, j->B, float_bytes(matrix_floats(rowsB, colsB, j->ldb))))
            return 0;
    }
    snprintf(role, sizeof role, batch < 0 ? "operand C" : "operand C of batch %ld", batch);
    return check_device_range(fn, role, j->C, float_bytes(matrix_floats(j->m, j->n, j->ldc)));
}

/* On hardware a bad device address faults inside the kernel: the launch reports
 * EXECUTION_FAILED and the context is lost for good. */
static cublasStatus_t kernel_fault(void)
{
    g_sticky = cudaErrorIllegalAddress;
    return CUBLAS_STATUS_EXECUTION_FAILED;
}

/* A launch into a destroyed stream fails without poisoning the context. */
static int handle_stream_ok(const char *fn, const handle_obj *h)
{
    note_stream_use(h->stream);
    return check_stream(fn, h->stream);
}

/* C := beta*C over the m×n block only (the padding rows beyond m belong to the caller). beta == 0
 * writes zeros without reading, so NaN or Inf already in C cannot leak through. */
static void scale_matrix(float *C, int m, int n, int ldc, float beta)
{
    for (int c = 0; c < n; c++) {
        float *col = C + (size_t)c * (size_t)ldc;
        if (beta == 0.0f)
            for (int r = 0; r < m; r++)
                col[r] = 0.0f;
        else if (beta != 1.0f)
            for (int r = 0; r < m; r++)
                col[r] *= beta;
    }
}

/* Kernels run one at a time, as on one stream of a device. This also keeps concurrent callers away
 * from OpenBLAS 0.3.21, which is not safe for concurrent multithreaded GEMMs. */
static pthread_mutex_t g_compute = PTHREAD_MUTEX_INITIALIZER;

void compute_lock(void) { pthread_mutex_lock(&g_compute); }
void compute_unlock(void) { pthread_mutex_unlock(&g_compute); }

static void run_gemm_unlocked(const gemm_job *j);

static void run_gemm(const gemm_job *j)
{
    pthread_mutex_lock(&g_compute);
    run_gemm_unlocked(j);
    pthread_mutex_unlock(&g_compute);
}

static void run_gemm_unlocked(const gemm_job *j)
{
    /* BLAS semantics: with k == 0 or alpha == 0 the product is zero and A, B are not referenced. */
    if (j->k == 0 || j->alpha == 0.0f) {
        scale_matrix(j->C, j->m, j->n, j->ldc, j->beta);
        return;
    }
    if (j->beta == 0.0f)
        scale_matrix(j->C, j->m, j->n, j->ldc, 0.0f);
    cblas_sgemm(CblasColMajor, j->ta == 0 ? CblasNoTrans : CblasTrans,
                j->tb == 0 ? CblasNoTrans : CblasTrans, j->m, j->n, j->k, j->alpha, j->A, j->lda,
                j->B, j->ldb, j->beta, j->C, j->ldc);
}

BLEMU_API cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n,
                                        int k, const float *alpha, const float *A, int lda,
                                        const float *B, int ldb, const float *beta, float *C, int ldc)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if ((st = gemm_args(transa, transb, m, n, k, alpha, beta, lda, ldb, ldc)))
        return cb_end(st);
    if (m == 0 || n == 0)
        return cb_end(CUBLAS_STATUS_SUCCESS);
    if (!handle_stream_ok(__func__, h))
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    flush_stream(h->stream); /* the copies queued before this kernel land first */
    gemm_job j = {transa, transb, m, n, k, *alpha, *beta, A, lda, B, ldb, C, ldc};
    if (!gemm_operands_ok(__func__, -1, &j))
        return cb_end(kernel_fault());
    unlock();
    run_gemm(&j);
    return CUBLAS_STATUS_SUCCESS;
}

/* Address of batch i of an operand, in integer arithmetic so that absurd strides cannot trigger
 * pointer-overflow undefined behaviour; an overflow yields an address no allocation contains. */
static const float *batch_ptr(const float *base, long long stride, int i)
{
    long long elems, bytes;
    if (__builtin_mul_overflow((long long)i, stride, &elems) ||
        __builtin_mul_overflow(elems, 4LL, &bytes))
        return (const float *)(uintptr_t)UINTPTR_MAX;
    return (const float *)((uintptr_t)base + (uintptr_t)bytes);
}

BLEMU_API cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, int transa, int transb,
                                                   int m, int n, int k, const float *alpha,
                                                   const float *A, int lda, long long strideA,
                                                   const float *B, int ldb, long long strideB,
                                                   const float *beta, float *C, int ldc,
                                                   long long strideC, int batchCount)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if ((st = gemm_args(transa, transb, m, n, k, alpha, beta, lda, ldb, ldc)))
        return cb_end(st);
    if (batchCount < 0)
        return cb_end(cb_invalid());
    if (m == 0 || n == 0 || batchCount == 0)
        return cb_end(CUBLAS_STATUS_SUCCESS);
    if (!handle_stream_ok(__func__, h))
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    flush_stream(h->stream); /* the copies queued before this kernel land first */
    /* Every batch is checked before any is computed: a fault anywhere in a real batched kernel leaves
     * the whole output undefined, and the sticky state must not depend on the order of work. */
    for (int i = 0; i < batchCount; i++) {
        gemm_job j = {transa, transb, m, n, k, *alpha, *beta, batch_ptr(A, strideA, i), lda,
                      batch_ptr(B, strideB, i), ldb, (float *)batch_ptr(C, strideC, i), ldc};
        if (!gemm_operands_ok(__func__, i, &j))
            return cb_end(kernel_fault());
    }
    float a = *alpha, b = *beta;
    unlock();
    for (int i = 0; i < batchCount; i++) {
        gemm_job j = {transa, transb, m, n, k, a, b, batch_ptr(A, strideA, i), lda,
                      batch_ptr(B, strideB, i), ldb, (float *)batch_ptr(C, strideC, i), ldc};
        run_gemm(&j);
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* Negative increments follow BLAS: the pointer is the lowest address and the vector is walked from
 * its far end, so the memory spanned is the same as for |inc|. */
BLEMU_API cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, int trans, int m, int n,
                                        const float *alpha, const float *A, int lda, const float *x,
                                        int incx, const float *beta, float *y, int incy)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if (!alpha || !beta || !valid_op(trans) || m < 0 || n < 0 || lda < max1(m) || incx == 0 ||
        incy == 0)
        return cb_end(cb_invalid());
    if (m == 0 || n == 0) /* BLAS quick return: y is left as it is, not scaled by beta */
        return cb_end(CUBLAS_STATUS_SUCCESS);
    if (!handle_stream_ok(__func__, h))
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    flush_stream(h->stream); /* the copies queued before this kernel land first */
    int lenx = trans == 0 ? n : m, leny = trans == 0 ? m : n;
    if (!check_device_range(__func__, "operand A", A, float_bytes(matrix_floats(m, n, lda))) ||
        !check_device_range(__func__, "operand x", x, float_bytes(vector_floats(lenx, incx))) ||
        !check_device_range(__func__, "operand y", y, float_bytes(vector_floats(leny, incy))))
        return cb_end(kernel_fault());
    float a = *alpha, b = *beta;
    unlock();

    size_t step = (size_t)(incy < 0 ? -(long long)incy : incy);
    pthread_mutex_lock(&g_compute);
    if (b == 0.0f || a == 0.0f)
        for (int i = 0; i < leny; i++)
            y[(size_t)i * step] = b == 0.0f ? 0.0f : y[(size_t)i * step] * b;
    if (a != 0.0f) /* with beta == 0, y now holds zeros, so whatever OpenBLAS does with it is safe */
        cblas_sgemv(CblasColMajor, trans == 0 ? CblasNoTrans : CblasTrans, m, n, a, A, lda, x, incx,
                    b, y, incy);
    pthread_mutex_unlock(&g_compute);
    return CUBLAS_STATUS_SUCCESS;
}

/* BLAS semantics: n <= 0 or incx <= 0 returns at once and touches nothing. */
BLEMU_API cublasStatus_t cublasSscal_v2(cublasHandle_t handle, int n, const float *alpha, float *x,
                                        int incx)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(__func__, &st))
        return cb_end(st);
    handle_obj *h = get_handle(__func__, handle, &st);
    if (!h)
        return cb_end(st);
    if (!alpha)
        return cb_end(cb_invalid());
    if (n <= 0 || incx <= 0)
        return cb_end(CUBLAS_STATUS_SUCCESS);
    if (!handle_stream_ok(__func__, h))
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    flush_stream(h->stream); /* the copies queued before this kernel land first */
    if (!check_device_range(__func__, "operand x", x, float_bytes(vector_floats(n, incx))))
        return cb_end(kernel_fault());
    float a = *alpha;
    unlock();

    pthread_mutex_lock(&g_compute);
    for (int i = 0; i < n; i++)
        x[(size_t)i * (size_t)incx] *= a;
    pthread_mutex_unlock(&g_compute);
    return CUBLAS_STATUS_SUCCESS;
}
