/*
 * The emulator's cuBLASLt: the calls BlasLinear makes for a product with the bias added inside it
 * (cublasLtMatmul with CUBLASLT_EPILOGUE_BIAS), float32 only, computed on the host like cuBLAS's GEMM.
 * Handles, descriptors, layouts and preferences are objects with a lifetime the emulator checks (an
 * unknown or destroyed one is a violation), and every count of live ones is visible to tests, so a leak
 * of any of them shows. What BlasLinear never asks for (other types, batches, orders, epilogues) is
 * CUBLAS_STATUS_NOT_SUPPORTED, as the real library answers for what it has no kernel for.
 */
#include "emu_internal.h"

enum { LT_HANDLE = 1, LT_DESC, LT_LAYOUT, LT_PREF };

/* cublasComputeType_t, cudaDataType_t and the attribute and epilogue values of cublasLt.h (CUDA 11.4 to 13). */
enum { COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77, R_32F = 0 };
enum { DESC_COMPUTE_TYPE = 0, DESC_SCALE_TYPE = 1, DESC_POINTER_MODE = 2, DESC_TRANSA = 3, DESC_TRANSB = 4,
       DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8, DESC_BIAS_DATA_TYPE = 26 };
enum { EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4 };
enum { PREF_SEARCH_MODE = 0, PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5, PREF_MIN_ALIGNMENT_D = 8 };
enum { CUBLAS_STATUS_NOT_SUPPORTED = 15 };

/* The heuristic's algorithm carries this in its first word, so a matmul given anything else is caught. */
#define LT_ALGO_MAGIC 0x426c4c7441676f31ull

typedef struct {
    int kind;
    int live;
    /* LT_DESC */
    int compute, scale, transa, transb, pointer_mode, bias_type;
    uint32_t epilogue;
    const float *bias;
    /* LT_LAYOUT */
    int type;
    uint64_t rows, cols;
    int64_t ld;
    /* LT_PREF */
    uint64_t max_workspace;
} lt_obj;

typedef cublasLtMatmulAlgo_t lt_algo;
typedef cublasLtMatmulHeuristicResult_t lt_heuristic;

static objlist_t g_lt_objects;
static long long g_live_lt[5];
static long long g_lt_matmuls;

static cublasStatus_t lt_create(const char *fn, void **out, lt_obj init)
{
    cublasStatus_t st;
    lock();
    if (cb_begin(fn, &st))
        return cb_end(st);
    if (!out)
        return cb_end(cb_invalid());
    lt_obj *o = malloc(sizeof *o);
    if (!o || !obj_add(&g_lt_objects, o)) {
        free(o);
        return cb_end(CUBLAS_STATUS_ALLOC_FAILED);
    }
    *o = init;
    o->live = 1;
    g_live_lt[o->kind]++;
    *out = o;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case LT_HANDLE: return "cuBLASLt handle";
    case LT_DESC: return "matmul descriptor";
    case LT_LAYOUT: return "matrix layout";
    default: return "matmul preference";
    }
}

/* With the lock held: the live object of this kind, or NULL with *st set (NULL is INVALID_VALUE; an
 * unknown or destroyed object is a violation, as a use-after-destroy would be on hardware). */
static lt_obj *lt_get(const char *fn, const void *p, int kind, cublasStatus_t *st)
{
    if (!p) {
        *st = cb_invalid();
        return NULL;
    }
    if (!obj_known(&g_lt_objects, p) || ((const lt_obj *)p)->kind != kind) {
        violation("%s: %p is not a %s this library created", fn, p, kind_name(kind));
        *st = CUBLAS_STATUS_NOT_INITIALIZED;
        return NULL;
    }
    lt_obj *o = (lt_obj *)p;
    if (!o->live) {
        violation("%s: %s %p has been destroyed", fn, kind_name(kind), p);
        *st = CUBLAS_STATUS_NOT_INITIALIZED;
        return NULL;
    }
    return o;
}

/* The start of a call that writes an attribute: the lock taken (released by cb_end), an injection or the sticky
 * state, the live object of this kind and a non-null value; NULL with *st set when the call ends here. */
static lt_obj *lt_attribute_begin(const char *fn, void *p, int kind, const void *buf, cublasStatus_t *st)
{
    lock();
    if (cb_begin(fn, st))
        return NULL;
    lt_obj *o = lt_get(fn, p, kind, st);
    if (o && !buf) {
        *st = cb_invalid();
        return NULL;
    }
    return o;
}

/* The start of a call on a matmul: the lock taken (released by cb_end), an injection or the sticky state, then
 * the live handle, descriptor and four layouts; 0 with *st set when the call ends here. */
static int lt_matmul_begin(const char *fn, void *handle, void *desc, void *const layouts[4], lt_obj **d,
                           lt_obj *l[4], cublasStatus_t *st)
{
    lock();
    if (cb_begin(fn, st) || !lt_get(fn, handle, LT_HANDLE, st) || !(*d = lt_get(fn, desc, LT_DESC, st)))
        return 0;
    for (int i = 0; i < 4; i++)
        if (!(l[i] = lt_get(fn, layouts[i], LT_LAYOUT, st)))
            return 0;
    return 1;
}

static cublasStatus_t lt_destroy(const char *fn, void *p, int kind)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lock();
    if (cb_begin(fn, &st))
        return cb_end(st);
    lt_obj *o = lt_get(fn, p, kind, &st);
    if (o) {
        o->live = 0;
        g_live_lt[kind]--;
    }
    return cb_end(st);
}

BLEMU_API cublasStatus_t cublasLtCreate(void **handle)
{
    return lt_create(__func__, handle, (lt_obj){.kind = LT_HANDLE});
}

BLEMU_API cublasStatus_t cublasLtDestroy(void *handle)
{
    return lt_destroy(__func__, handle, LT_HANDLE);
}

BLEMU_API cublasStatus_t cublasLtMatmulDescCreate(void **desc, int compute, int scale)
{
    return lt_create(__func__, desc, (lt_obj){.kind = LT_DESC, .compute = compute, .scale = scale,
                                    .epilogue = EPILOGUE_DEFAULT, .bias_type = -1});
}

BLEMU_API cublasStatus_t cublasLtMatmulDescDestroy(void *desc)
{
    return lt_destroy(__func__, desc, LT_DESC);
}

static int read_int32(const void *buf, size_t size, int *out)
{
    if (size != sizeof(int32_t))
        return 0;
    int32_t v;
    memcpy(&v, buf, sizeof v);
    *out = v;
    return 1;
}

BLEMU_API cublasStatus_t cublasLtMatmulDescSetAttribute(void *desc, int attr, const void *buf, size_t size)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lt_obj *d = lt_attribute_begin(__func__, desc, LT_DESC, buf, &st);
    if (!d)
        return cb_end(st);
    int ok;
    switch (attr) {
    case DESC_COMPUTE_TYPE: ok = read_int32(buf, size, &d->compute); break;
    case DESC_SCALE_TYPE: ok = read_int32(buf, size, &d->scale); break;
    case DESC_POINTER_MODE: ok = read_int32(buf, size, &d->pointer_mode); break;
    case DESC_TRANSA: ok = read_int32(buf, size, &d->transa); break;
    case DESC_TRANSB: ok = read_int32(buf, size, &d->transb); break;
    case DESC_BIAS_DATA_TYPE: ok = read_int32(buf, size, &d->bias_type); break;
    case DESC_EPILOGUE:
        ok = size == sizeof(uint32_t);
        if (ok)
            memcpy(&d->epilogue, buf, sizeof d->epilogue);
        break;
    case DESC_BIAS_POINTER:
        ok = size == sizeof(void *);
        if (ok)
            memcpy(&d->bias, buf, sizeof d->bias);
        break;
    default:
        ok = 0;
    }
    return cb_end(ok ? CUBLAS_STATUS_SUCCESS : cb_invalid());
}

BLEMU_API cublasStatus_t cublasLtMatrixLayoutCreate(void **layout, int type, unsigned long long rows,
                                                    unsigned long long cols, long long ld)
{
    return lt_create(__func__, layout, (lt_obj){.kind = LT_LAYOUT, .type = type, .rows = rows, .cols = cols, .ld = ld});
}

BLEMU_API cublasStatus_t cublasLtMatrixLayoutDestroy(void *layout)
{
    return lt_destroy(__func__, layout, LT_LAYOUT);
}

BLEMU_API cublasStatus_t cublasLtMatmulPreferenceCreate(void **pref)
{
    return lt_create(__func__, pref, (lt_obj){.kind = LT_PREF});
}

BLEMU_API cublasStatus_t cublasLtMatmulPreferenceDestroy(void *pref)
{
    return lt_destroy(__func__, pref, LT_PREF);
}

BLEMU_API cublasStatus_t cublasLtMatmulPreferenceSetAttribute(void *pref, int attr, const void *buf, size_t size)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lt_obj *p = lt_attribute_begin(__func__, pref, LT_PREF, buf, &st);
    if (!p)
        return cb_end(st);
    if (attr == PREF_MAX_WORKSPACE_BYTES && size == sizeof(uint64_t)) {
        memcpy(&p->max_workspace, buf, sizeof p->max_workspace);
        return cb_end(CUBLAS_STATUS_SUCCESS);
    }
    int word = attr == PREF_SEARCH_MODE || (attr >= PREF_MIN_ALIGNMENT_A && attr <= PREF_MIN_ALIGNMENT_D);
    return cb_end(word && size == sizeof(uint32_t) ? CUBLAS_STATUS_SUCCESS : cb_invalid());
}

/* The product's shape from the descriptors, checked as cuBLASLt checks it: m×n D = op(A) m×k · op(B) k×n,
 * C shaped as D, every leading dimension at least its rows, float32 throughout, one of the two epilogues. */
typedef struct {
    int ta, tb;
    int m, n, k;
    int lda, ldb, ldc, ldd; /* checked to fit */
    int bias;
    const float *bias_ptr;
} lt_shape;

static cublasStatus_t lt_check(const lt_obj *d, const lt_obj *a, const lt_obj *b, const lt_obj *c,
                               const lt_obj *dd, lt_shape *s)
{
    if ((d->compute != COMPUTE_32F && d->compute != COMPUTE_32F_FAST_TF32) || d->scale != R_32F
        || a->type != R_32F || b->type != R_32F || c->type != R_32F || dd->type != R_32F
        || d->pointer_mode != 0 || (d->epilogue != EPILOGUE_DEFAULT && d->epilogue != EPILOGUE_BIAS)
        || (d->bias_type != -1 && d->bias_type != R_32F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d->transa < 0 || d->transa > 1 || d->transb < 0 || d->transb > 1)
        return cb_invalid();
    uint64_t m = d->transa ? a->cols : a->rows, k = d->transa ? a->rows : a->cols;
    uint64_t kb = d->transb ? b->cols : b->rows, n = d->transb ? b->rows : b->cols;
    if (k != kb || c->rows != m || c->cols != n || dd->rows != m || dd->cols != n
        || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return cb_invalid();
    const lt_obj *all[4] = {a, b, c, dd};
    for (int i = 0; i < 4; i++)
        if (all[i]->ld < (int64_t)(all[i]->rows > 1 ? all[i]->rows : 1) || all[i]->ld > INT32_MAX)
            return cb_invalid();
    *s = (lt_shape){d->transa, d->transb, (int)m, (int)n, (int)k, (int)a->ld, (int)b->ld, (int)c->ld, (int)dd->ld,
                    d->epilogue == EPILOGUE_BIAS, d->bias};
    return CUBLAS_STATUS_SUCCESS;
}

BLEMU_API cublasStatus_t cublasLtMatmulAlgoGetHeuristic(void *handle, void *desc, void *adesc, void *bdesc,
                                                        void *cdesc, void *ddesc, void *pref, int requested,
                                                        lt_heuristic *results, int *returned)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lt_obj *d, *l[4];
    void *const layouts[4] = {adesc, bdesc, cdesc, ddesc};
    if (!lt_matmul_begin(__func__, handle, desc, layouts, &d, l, &st) || !lt_get(__func__, pref, LT_PREF, &st))
        return cb_end(st);
    if (requested < 1 || !results || !returned)
        return cb_end(cb_invalid());
    lt_shape s;
    *returned = 0;
    if ((st = lt_check(d, l[0], l[1], l[2], l[3], &s)))
        return cb_end(st);
    memset(&results[0], 0, sizeof results[0]);
    results[0].algo.data[0] = LT_ALGO_MAGIC;
    results[0].workspaceSize = 0;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *returned = 1;
    return cb_end(CUBLAS_STATUS_SUCCESS);
}

BLEMU_API cublasStatus_t cublasLtMatmul(void *handle, void *desc, const float *alpha, const float *A, void *adesc,
                                        const float *B, void *bdesc, const float *beta, const float *C, void *cdesc,
                                        float *D, void *ddesc, const lt_algo *algo, void *workspace,
                                        size_t workspace_size, cudaStream_t stream)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    lt_obj *d, *l[4];
    void *const layouts[4] = {adesc, bdesc, cdesc, ddesc};
    if (!lt_matmul_begin(__func__, handle, desc, layouts, &d, l, &st))
        return cb_end(st);
    if (!alpha || !beta)
        return cb_end(cb_invalid());
    lt_shape s;
    if ((st = lt_check(d, l[0], l[1], l[2], l[3], &s)))
        return cb_end(st);
    if (algo && algo->data[0] != LT_ALGO_MAGIC) {
        violation("%s: the algorithm did not come from cublasLtMatmulAlgoGetHeuristic", __func__);
        return cb_end(cb_invalid());
    }
    if (s.m == 0 || s.n == 0)
        return cb_end(CUBLAS_STATUS_SUCCESS);
    note_stream_use(stream);
    if (!check_stream(__func__, stream))
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    flush_stream(stream); /* the copies queued before this kernel land first */
    int rowsA = s.ta ? s.k : s.m, colsA = s.ta ? s.m : s.k;
    int rowsB = s.tb ? s.n : s.k, colsB = s.tb ? s.k : s.n;
    int in_place = (const void *)C == (const void *)D;
    if (in_place && s.ldc != s.ldd) {
        violation("%s: C and D are one matrix with two leading dimensions (%d, %d)", __func__, s.ldc, s.ldd);
        return cb_end(cb_invalid());
    }
    int ok = 1;
    if (s.k > 0 && *alpha != 0.0f)
        ok = check_device_range(__func__, "operand A", A, float_bytes(matrix_floats(rowsA, colsA, s.lda)))
             && check_device_range(__func__, "operand B", B, float_bytes(matrix_floats(rowsB, colsB, s.ldb)));
    if (ok && *beta != 0.0f && !in_place)
        ok = check_device_range(__func__, "operand C", C, float_bytes(matrix_floats(s.m, s.n, s.ldc)));
    if (ok)
        ok = check_device_range(__func__, "operand D", D, float_bytes(matrix_floats(s.m, s.n, s.ldd)));
    if (ok && s.bias)
        ok = check_device_range(__func__, "the bias", s.bias_ptr, (uint64_t)s.m * 4);
    if (ok && workspace_size > 0)
        ok = check_device_range(__func__, "the workspace", workspace, workspace_size);
    if (!ok) {
        g_sticky = cudaErrorIllegalAddress; /* a bad address faults inside the kernel */
        return cb_end(CUBLAS_STATUS_EXECUTION_FAILED);
    }
    g_lt_matmuls++;
    float al = *alpha, be = *beta;
    unlock();

    compute_lock();
    /* D = beta·C (C is not read when beta is 0), then D += alpha·op(A)·op(B), then the bias down each column. */
    for (int col = 0; col < s.n; col++) {
        float *dc = D + (size_t)col * (size_t)s.ldd;
        const float *cc = C + (size_t)col * (size_t)s.ldc;
        for (int r = 0; r < s.m; r++)
            dc[r] = be == 0.0f ? 0.0f : be * cc[r];
    }
    if (s.k > 0 && al != 0.0f)
        cblas_sgemm(CblasColMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, s.m, s.n,
                    s.k, al, A, s.lda, B, s.ldb, 1.0f, D, s.ldd);
    if (s.bias)
        for (int col = 0; col < s.n; col++) {
            float *dc = D + (size_t)col * (size_t)s.ldd;
            for (int r = 0; r < s.m; r++)
                dc[r] += s.bias_ptr[r];
        }
    compute_unlock();
    return CUBLAS_STATUS_SUCCESS;
}

BLEMU_API long long blemu_live_lt_objects(void)
{
    lock();
    long long n = g_live_lt[LT_HANDLE] + g_live_lt[LT_DESC] + g_live_lt[LT_LAYOUT] + g_live_lt[LT_PREF];
    unlock();
    return n;
}

BLEMU_API long long blemu_lt_matmuls(void)
{
    lock();
    long long n = g_lt_matmuls;
    unlock();
    return n;
}
