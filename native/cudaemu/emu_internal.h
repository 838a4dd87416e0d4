/*
 * The emulator's private header: the CUDA and cuBLAS codes it uses, the bookkeeping types, the
 * shared state (defined in emu_registry.c, guarded by lock()/unlock()) and the helpers the runtime
 * (emu_runtime.c) and cuBLAS (emu_cublas.c) parts share. Nothing here is exported.
 */
#ifndef BLASLINEAR_CUDAEMU_EMU_INTERNAL_H
#define BLASLINEAR_CUDAEMU_EMU_INTERNAL_H

#include "blemu.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS ships no headers in the runtime package, so declare the two CBLAS entry points we use. */
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cblas_sgemv(int order, int trans, int M, int N, float alpha, const float *A, int lda,
                 const float *x, int incx, float beta, float *y, int incy);

enum { CblasColMajor = 102, CblasNoTrans = 111, CblasTrans = 112 };

enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalAddress = 700,
    cudaErrorHostMemoryAlreadyRegistered = 712,
    cudaErrorHostMemoryNotRegistered = 713,
    cudaErrorLaunchFailure = 719,
};

enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
};

enum { KIND_H2H = 0, KIND_H2D = 1, KIND_D2H = 2, KIND_D2D = 3, KIND_DEFAULT = 4 };
enum { MODE_NORMAL = 0, MODE_ZERO = 1, MODE_NODEVICE = 2, MODE_DRIVER = 3 };

/* Real cudaMalloc guarantees 256-byte alignment; matching it (which also satisfies 64) keeps any
 * alignment assumption the managed side makes honest. */
#define DEVICE_ALIGNMENT 256u
#define NAN_BITS 0x7FC00000u
#define VIOLATION_TEXT 512
#define MAX_INJECTIONS 16

/* The CUDA major version this copy plays (cudaRuntimeGetVersion, cublasGetVersion); CMake builds one
 * copy per major for the library-set tests. */
#ifndef BLEMU_RUNTIME_MAJOR
#define BLEMU_RUNTIME_MAJOR 13
#endif


/* ---------------------------------------------------------------------------------------------- */
/* State                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

typedef enum { RANGE_DEVICE, RANGE_HOST_ALLOC, RANGE_HOST_REGISTERED } range_kind;

typedef struct {
    uintptr_t base;
    size_t size;
    range_kind kind;
} range_t;

typedef struct {
    range_t *items;
    size_t count, cap;
} registry_t;

/* Streams and handles are never freed, only marked dead: if their memory were reused, a stale
 * pointer held by buggy managed code could alias a new object and the use-after-destroy would go
 * unnoticed. The cost is a few bytes per object for the life of the process. */
/* An asynchronous copy from pageable host memory, not yet executed: CUDA may defer it, so the emulator
 * always does, until the stream's next operation or synchronisation point. */
typedef struct {
    void *dst;
    const void *src;
    size_t count;
} pending_copy;

typedef struct {
    pending_copy *items;
    size_t count, cap;
} copy_queue;

typedef struct {
    int live;
    unsigned flags;
    copy_queue pending;
} stream_obj;

typedef struct {
    int live;
    int math_mode;
    cudaStream_t stream;
} handle_obj;

typedef struct {
    void **items;
    size_t count, cap;
} objlist_t;

typedef struct {
    char name[64];
    long long remaining; /* calls left until the one that fails; 0 = slot unused */
    int status;
} injection_t;


extern registry_t g_device; /* cudaMalloc */
extern registry_t g_pinned; /* cudaHostAlloc and cudaHostRegister */
extern objlist_t g_streams, g_handles;

extern long long g_live_device_bytes;
extern long long g_total_device_allocs, g_total_host_allocs;
extern long long g_live_handles, g_live_streams;
extern long long g_violations, g_invalid_values;
extern char g_last_violation[VIOLATION_TEXT];

extern long long g_capacity;
extern int g_device_mode;
extern _Thread_local int t_current_device; /* -1 until this thread calls cudaSetDevice */
extern int g_driver_major;                /* the newest CUDA major the emulated driver supports */
extern long long g_handles_without_device, g_legacy_stream_calls, g_deferred_copies;
extern cudaError_t g_sticky;     /* 0, or the sticky error every later call returns */
extern cudaError_t g_last_error; /* non-sticky, returned and cleared by cudaGetLastError */

extern int g_alloc_fail_countdown;
extern int g_alloc_fail_error;
extern injection_t g_injections[MAX_INJECTIONS];

extern int g_trace; /* BLASLINEAR_CUDAEMU_TRACE=1 echoes every violation to stderr */

typedef struct {
    int code;
    const char *name;
    const char *text;
} code_text;

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Bookkeeping helpers: all but lock() are called with the lock held. */
void lock(void);
void unlock(void);
__attribute__((format(printf, 1, 2))) void violation(const char *fmt, ...);
cudaError_t rt_invalid(void);
cublasStatus_t cb_invalid(void);
int reg_add(registry_t *r, uintptr_t base, size_t size, range_kind kind);
void reg_remove(registry_t *r, size_t index);
long reg_containing(const registry_t *r, uintptr_t p);
long reg_exact(const registry_t *r, uintptr_t p);
long reg_overlapping(const registry_t *r, uintptr_t p, uint64_t bytes);
int obj_add(objlist_t *l, void *obj);
int obj_known(const objlist_t *l, const void *obj);
int take_injection(const char *fn, int *status);
int is_sticky_code(int status);
int rt_begin(const char *fn, cudaError_t *err);
cudaError_t rt_end(cudaError_t err);
int cb_begin(const char *fn, cublasStatus_t *st);
cublasStatus_t cb_end(cublasStatus_t st);
int check_device_range(const char *fn, const char *role, const void *p, uint64_t bytes);
int check_host_range(const char *fn, const char *role, const void *p, uint64_t bytes);
int check_stream(const char *fn, cudaStream_t s);
handle_obj *get_handle(const char *fn, cublasHandle_t h, cublasStatus_t *st);
cudaError_t take_alloc_injection(void);
void *alloc_poisoned(size_t size);
int is_page_locked(const void *p, size_t bytes);
int defer_copy(cudaStream_t s, void *dst, const void *src, size_t count);
void flush_stream(cudaStream_t s);
void flush_all(void);
void note_stream_use(cudaStream_t s);
const code_text *find_code(const code_text *table, size_t n, int code);
/* Floats spanned by a column-major rows×cols matrix with leading dimension ld (rows, cols ≥ 1). */
static inline uint64_t matrix_floats(int rows, int cols, int ld)
{
    return (uint64_t)(cols - 1) * (uint64_t)ld + (uint64_t)rows;
}

/* Byte counts of up to 2^62 floats would overflow; saturating keeps such a range "past the end". */
static inline uint64_t float_bytes(uint64_t floats)
{
    return floats > UINT64_MAX / 4 ? UINT64_MAX : floats * 4;
}

/* The one-kernel-at-a-time lock of the computing calls (cuBLAS and cuBLASLt), taken without the state lock. */
void compute_lock(void);
void compute_unlock(void);

#endif
