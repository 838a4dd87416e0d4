/*
 * BlasLinear CUDA emulator: CUDA runtime + cuBLAS semantics computed on the host.
 *
 * The point is not speed but strictness. A real GPU punishes a host pointer passed as device memory,
 * a copy in the wrong direction or past the end of an allocation, and a destroyed stream or handle,
 * often with a sticky error that ends the process's use of the device. This library notices each of
 * those, records it as a "violation" that tests can assert on, and imitates the sticky error so the
 * managed error paths see what they would see on hardware.
 *
 * All state lives behind one mutex. The arithmetic (OpenBLAS) runs outside it so that tests running
 * on several threads still overlap.
 */
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
typedef struct {
    int live;
    unsigned flags;
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

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static registry_t g_device; /* cudaMalloc */
static registry_t g_pinned; /* cudaHostAlloc and cudaHostRegister */
static objlist_t g_streams, g_handles;

static long long g_live_device_bytes;
static long long g_total_device_allocs, g_total_host_allocs;
static long long g_live_handles, g_live_streams;
static long long g_violations, g_invalid_values;
static char g_last_violation[VIOLATION_TEXT];

static long long g_capacity = 16LL << 30;
static int g_device_mode = MODE_NORMAL;
static int g_current_device;
static cudaError_t g_sticky;     /* 0, or the sticky error every later call returns */
static cudaError_t g_last_error; /* non-sticky, returned and cleared by cudaGetLastError */

static int g_alloc_fail_countdown;
static int g_alloc_fail_error;
static injection_t g_injections[MAX_INJECTIONS];

static int g_trace; /* BLASLINEAR_CUDAEMU_TRACE=1 echoes every violation to stderr */

static void lock(void) { pthread_mutex_lock(&g_lock); }
static void unlock(void) { pthread_mutex_unlock(&g_lock); }

static int parse_device_mode(const char *s, int *mode)
{
    static const char *const names[] = {"normal", "zero", "nodevice", "driver"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *mode = i;
            return 1;
        }
    }
    return 0;
}

/* Runs at load, before any exported function can be called, so the environment decides the initial
 * device mode and a later blemu_set_device_mode always wins. */
__attribute__((constructor)) static void blemu_init(void)
{
    const char *mode = getenv("BLASLINEAR_CUDAEMU_DEVICES");
    if (mode && *mode && !parse_device_mode(mode, &g_device_mode))
        fprintf(stderr,
                "blaslinear_cudaemu: ignoring BLASLINEAR_CUDAEMU_DEVICES=%s "
                "(expected normal, zero, nodevice or driver)\n",
                mode);
    const char *trace = getenv("BLASLINEAR_CUDAEMU_TRACE");
    g_trace = trace && *trace && strcmp(trace, "0") != 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Bookkeeping helpers (all called with g_lock held)                                              */
/* ---------------------------------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last_violation, sizeof g_last_violation, fmt, ap);
    va_end(ap);
    g_violations++;
    if (g_trace)
        fprintf(stderr, "blaslinear_cudaemu violation: %s\n", g_last_violation);
}

/* An argument error the real library would reject with INVALID_VALUE. Counted separately from
 * violations so tests can prove the managed validation catches these first. */
static cudaError_t rt_invalid(void)
{
    g_invalid_values++;
    return cudaErrorInvalidValue;
}

static cublasStatus_t cb_invalid(void)
{
    g_invalid_values++;
    return CUBLAS_STATUS_INVALID_VALUE;
}

static int reg_add(registry_t *r, uintptr_t base, size_t size, range_kind kind)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        range_t *items = realloc(r->items, cap * sizeof *items);
        if (!items)
            return 0;
        r->items = items;
        r->cap = cap;
    }
    r->items[r->count++] = (range_t){base, size, kind};
    return 1;
}

static void reg_remove(registry_t *r, size_t index) { r->items[index] = r->items[--r->count]; }

static long reg_containing(const registry_t *r, uintptr_t p)
{
    for (size_t i = 0; i < r->count; i++)
        if (p >= r->items[i].base && p - r->items[i].base < r->items[i].size)
            return (long)i;
    return -1;
}

static long reg_exact(const registry_t *r, uintptr_t p)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->items[i].base == p)
            return (long)i;
    return -1;
}

static long reg_overlapping(const registry_t *r, uintptr_t p, uint64_t bytes)
{
    uintptr_t end = bytes > UINTPTR_MAX - p ? UINTPTR_MAX : p + (uintptr_t)bytes;
    for (size_t i = 0; i < r->count; i++)
        if (p < r->items[i].base + r->items[i].size && r->items[i].base < end)
            return (long)i;
    return -1;
}

static int obj_add(objlist_t *l, void *obj)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return 0;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = obj;
    return 1;
}

static int obj_known(const objlist_t *l, const void *obj)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i] == obj)
            return 1;
    return 0;
}

/* Consumes one call of `fn` from its pending injection; returns 1 with *status when this call is the
 * one that must fail. */
static int take_injection(const char *fn, int *status)
{
    for (int i = 0; i < MAX_INJECTIONS; i++) {
        injection_t *inj = &g_injections[i];
        if (inj->remaining > 0 && strcmp(inj->name, fn) == 0) {
            if (--inj->remaining == 0) {
                *status = inj->status;
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

static int is_sticky_code(int status)
{
    return status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure;
}

/* Entry of every status-returning runtime function: an injected failure, then the sticky state,
 * preempt the call. Returns 1 (and *err) when the call must not proceed. */
static int rt_begin(const char *fn, cudaError_t *err)
{
    int status;
    if (take_injection(fn, &status)) {
        if (is_sticky_code(status))
            g_sticky = status;
        *err = status;
        return 1;
    }
    if (g_sticky) {
        *err = g_sticky;
        return 1;
    }
    return 0;
}

/* Exit of every runtime function: remembers a non-sticky failure for cudaGetLastError, unlocks. */
static cudaError_t rt_end(cudaError_t err)
{
    if (err != cudaSuccess && err != g_sticky)
        g_last_error = err;
    unlock();
    return err;
}

/* cuBLAS has no sticky state of its own; once the context is poisoned every kernel launch fails,
 * which cuBLAS reports as EXECUTION_FAILED. An injected 700/719 poisons the context the same way. */
static int cb_begin(const char *fn, cublasStatus_t *st)
{
    int status;
    if (take_injection(fn, &status)) {
        if (is_sticky_code(status)) {
            g_sticky = status;
            status = CUBLAS_STATUS_EXECUTION_FAILED;
        }
        *st = status;
        return 1;
    }
    if (g_sticky) {
        *st = CUBLAS_STATUS_EXECUTION_FAILED;
        return 1;
    }
    return 0;
}

static cublasStatus_t cb_end(cublasStatus_t st)
{
    unlock();
    return st;
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {"cudaMemcpyHostToHost", "cudaMemcpyHostToDevice",
                                        "cudaMemcpyDeviceToHost", "cudaMemcpyDeviceToDevice",
                                        "cudaMemcpyDefault"};
    return kind >= 0 && kind <= 4 ? names[kind] : "invalid kind";
}

/* Does [p, p+bytes) lie wholly inside one device allocation? If not, records why. */
static int check_device_range(const char *fn, const char *role, const void *p, uint64_t bytes)
{
    uintptr_t a = (uintptr_t)p;
    if (!p) {
        violation("%s: %s is NULL where device memory is required", fn, role);
        return 0;
    }
    long i = reg_containing(&g_device, a);
    if (i < 0) {
        const char *what = reg_containing(&g_pinned, a) >= 0
                               ? "page-locked host memory, not a device allocation"
                               : "not inside a device allocation";
        violation("%s: %s [%p, +%llu bytes) is %s", fn, role, p, (unsigned long long)bytes, what);
        return 0;
    }
    const range_t *r = &g_device.items[i];
    uint64_t available = (uint64_t)(r->base + r->size - a);
    if (bytes > available) {
        violation("%s: %s [%p, +%llu bytes) runs %llu bytes past the end of device allocation "
                  "[%p, +%zu bytes)",
                  fn, role, p, (unsigned long long)bytes,
                  (unsigned long long)(bytes - available), (void *)r->base, r->size);
        return 0;
    }
    return 1;
}

/* Host memory must not touch any device allocation: on hardware those addresses mean nothing to
 * the CPU, so reading one through a "host" pointer is a bug even though it works here. */
static int check_host_range(const char *fn, const char *role, const void *p, uint64_t bytes)
{
    if (!p) {
        violation("%s: %s is NULL", fn, role);
        return 0;
    }
    long i = reg_overlapping(&g_device, (uintptr_t)p, bytes);
    if (i >= 0) {
        const range_t *r = &g_device.items[i];
        violation("%s: %s [%p, +%llu bytes) is device memory (allocation [%p, +%zu bytes)) where "
                  "host memory is required",
                  fn, role, p, (unsigned long long)bytes, (void *)r->base, r->size);
        return 0;
    }
    return 1;
}

/* Stream 0 is the legacy default stream; 1 and 2 are CUDA's cudaStreamLegacy and
 * cudaStreamPerThread special handles, valid without creation. */
static int check_stream(const char *fn, cudaStream_t s)
{
    if ((uintptr_t)s <= 2)
        return 1;
    if (!obj_known(&g_streams, s)) {
        violation("%s: stream %p was not created by cudaStreamCreateWithFlags", fn, s);
        return 0;
    }
    if (!((stream_obj *)s)->live) {
        violation("%s: stream %p has been destroyed", fn, s);
        return 0;
    }
    return 1;
}

/* A NULL handle is an argument error (INVALID_VALUE); an unknown or destroyed one is a lifetime bug
 * in the caller and so a violation (NOT_INITIALIZED, as cuBLAS reports an unusable handle). */
static handle_obj *get_handle(const char *fn, cublasHandle_t h, cublasStatus_t *st)
{
    if (!h) {
        *st = cb_invalid();
        return NULL;
    }
    if (!obj_known(&g_handles, h)) {
        violation("%s: handle %p was not created by cublasCreate_v2", fn, h);
        *st = CUBLAS_STATUS_NOT_INITIALIZED;
        return NULL;
    }
    handle_obj *obj = h;
    if (!obj->live) {
        violation("%s: handle %p has been destroyed", fn, h);
        *st = CUBLAS_STATUS_NOT_INITIALIZED;
        return NULL;
    }
    return obj;
}

/* Returns 0 to go ahead, or the error for an allocation that an injection says must fail. */
static cudaError_t take_alloc_injection(void)
{
    if (g_alloc_fail_countdown > 0 && --g_alloc_fail_countdown == 0) {
        if (is_sticky_code(g_alloc_fail_error))
            g_sticky = g_alloc_fail_error;
        /* "Fail with success" would silently allocate; out of memory is what such a test means. */
        return g_alloc_fail_error ? g_alloc_fail_error : cudaErrorMemoryAllocation;
    }
    return cudaSuccess;
}

/* Fills with quiet-NaN floats, so a kernel that reads memory nobody wrote produces NaN rather than
 * a plausible zero. */
static void *alloc_poisoned(size_t size)
{
    if (size > SIZE_MAX - DEVICE_ALIGNMENT)
        return NULL;
    size_t rounded = (size + DEVICE_ALIGNMENT - 1) / DEVICE_ALIGNMENT * DEVICE_ALIGNMENT;
    uint32_t *p = aligned_alloc(DEVICE_ALIGNMENT, rounded);
    if (!p)
        return NULL;
    for (size_t i = 0; i < rounded / 4; i++)
        p[i] = NAN_BITS;
    return p;
}

/* Device-ordinal functions fail the way the runtime does when the driver finds no usable device. */
static cudaError_t device_ordinal(int device)
{
    switch (g_device_mode) {
    case MODE_NODEVICE:
    case MODE_ZERO:
        return cudaErrorNoDevice;
    case MODE_DRIVER:
        return cudaErrorInsufficientDriver;
    default:
        return device == 0 ? cudaSuccess : cudaErrorInvalidDevice;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* CUDA runtime: device                                                                           */
/* ---------------------------------------------------------------------------------------------- */

BLEMU_API cudaError_t cudaGetDeviceCount(int *count)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!count)
            e = rt_invalid();
        else if (g_device_mode == MODE_NODEVICE)
            e = cudaErrorNoDevice;
        else if (g_device_mode == MODE_DRIVER)
            e = cudaErrorInsufficientDriver;
        else {
            *count = g_device_mode == MODE_ZERO ? 0 : 1;
            e = cudaSuccess;
        }
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaSetDevice(int device)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        e = device_ordinal(device);
        if (e == cudaSuccess)
            g_current_device = device;
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaGetDevice(int *device)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!device)
            e = rt_invalid();
        else if ((e = device_ordinal(0)) == cudaSuccess)
            *device = g_current_device;
    }
    return rt_end(e);
}

static cudaError_t get_properties(const char *fn, void *prop, int device)
{
    cudaError_t e;
    lock();
    if (!rt_begin(fn, &e)) {
        if (!prop)
            e = rt_invalid();
        else if ((e = device_ordinal(device)) == cudaSuccess) {
            /* cudaDeviceProp begins with char name[256]; the rest of its layout changes between CUDA
             * versions, so nothing past the name is written. */
            static const char name[] = "BlasLinear CUDA emulator";
            memset(prop, 0, 256);
            memcpy(prop, name, sizeof name);
        }
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaGetDeviceProperties(void *prop, int device)
{
    return get_properties(__func__, prop, device);
}

BLEMU_API cudaError_t cudaGetDeviceProperties_v2(void *prop, int device)
{
    return get_properties(__func__, prop, device);
}

BLEMU_API cudaError_t cudaDeviceGetAttribute(int *value, int attr, int device)
{
    /* An H100-like device: compute capability 9.0 with 132 SMs. */
    static const struct {
        int attr, value;
    } attrs[] = {
        {1, 1024},  /* MaxThreadsPerBlock */
        {10, 32},   /* WarpSize */
        {16, 132},  /* MultiProcessorCount */
        {39, 2048}, /* MaxThreadsPerMultiProcessor */
        {41, 1},    /* UnifiedAddressing */
        {75, 9},    /* ComputeCapabilityMajor */
        {76, 0},    /* ComputeCapabilityMinor */
    };
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!value)
            e = rt_invalid();
        else if ((e = device_ordinal(device)) == cudaSuccess) {
            size_t i = 0;
            while (i < sizeof attrs / sizeof attrs[0] && attrs[i].attr != attr)
                i++;
            if (i < sizeof attrs / sizeof attrs[0])
                *value = attrs[i].value;
            else
                e = rt_invalid();
        }
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaDeviceSynchronize(void)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e))
        e = cudaSuccess;
    return rt_end(e);
}

BLEMU_API cudaError_t cudaGetLastError(void)
{
    cudaError_t e;
    lock();
    /* Bypasses rt_end: reporting an error here must not store it as the next "last error". */
    if (!rt_begin(__func__, &e)) {
        e = g_last_error;
        g_last_error = cudaSuccess;
    }
    unlock();
    return e;
}

BLEMU_API cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!free_bytes || !total_bytes)
            e = rt_invalid();
        else {
            long long avail = g_capacity - g_live_device_bytes;
            *free_bytes = avail > 0 ? (size_t)avail : 0;
            *total_bytes = (size_t)g_capacity;
            e = cudaSuccess;
        }
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!runtimeVersion)
            e = rt_invalid();
        else {
            *runtimeVersion = 13000;
            e = cudaSuccess;
        }
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        if (!driverVersion)
            e = rt_invalid();
        else {
            *driverVersion = 13000;
            e = cudaSuccess;
        }
    }
    return rt_end(e);
}

/* ---------------------------------------------------------------------------------------------- */
/* CUDA runtime: memory                                                                           */
/* ---------------------------------------------------------------------------------------------- */

BLEMU_API cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!devPtr)
        return rt_end(rt_invalid());
    *devPtr = NULL;
    if (size == 0) /* CUDA returns success and a NULL pointer, allocating nothing */
        return rt_end(cudaSuccess);
    if ((e = take_alloc_injection()) != cudaSuccess)
        return rt_end(e);
    long long available = g_capacity - g_live_device_bytes; /* negative after a capacity cut */
    if (available <= 0 || size > (unsigned long long)available)
        return rt_end(cudaErrorMemoryAllocation);
    void *p = alloc_poisoned(size);
    if (!p)
        return rt_end(cudaErrorMemoryAllocation);
    if (!reg_add(&g_device, (uintptr_t)p, size, RANGE_DEVICE)) {
        free(p);
        return rt_end(cudaErrorMemoryAllocation);
    }
    g_live_device_bytes += (long long)size;
    g_total_device_allocs++;
    *devPtr = p;
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaFree(void *devPtr)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!devPtr)
        return rt_end(cudaSuccess);
    long i = reg_exact(&g_device, (uintptr_t)devPtr);
    if (i < 0) {
        long inner = reg_containing(&g_device, (uintptr_t)devPtr);
        if (inner >= 0)
            violation("cudaFree: %p points inside device allocation [%p, +%zu bytes), not at its "
                      "start",
                      devPtr, (void *)g_device.items[inner].base, g_device.items[inner].size);
        else if (reg_containing(&g_pinned, (uintptr_t)devPtr) >= 0)
            violation("cudaFree: %p is page-locked host memory (use cudaFreeHost/"
                      "cudaHostUnregister)",
                      devPtr);
        else
            violation("cudaFree: %p is not a live device allocation (double free or never "
                      "allocated)",
                      devPtr);
        return rt_end(cudaErrorInvalidValue);
    }
    g_live_device_bytes -= (long long)g_device.items[i].size;
    reg_remove(&g_device, (size_t)i);
    free(devPtr);
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!pHost || (flags & ~7u))
        return rt_end(rt_invalid());
    *pHost = NULL;
    if (size == 0)
        return rt_end(cudaSuccess);
    if ((e = take_alloc_injection()) != cudaSuccess)
        return rt_end(e);
    void *p = alloc_poisoned(size);
    if (!p)
        return rt_end(cudaErrorMemoryAllocation);
    if (!reg_add(&g_pinned, (uintptr_t)p, size, RANGE_HOST_ALLOC)) {
        free(p);
        return rt_end(cudaErrorMemoryAllocation);
    }
    g_total_host_allocs++;
    *pHost = p;
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaFreeHost(void *ptr)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!ptr)
        return rt_end(cudaSuccess);
    long i = reg_exact(&g_pinned, (uintptr_t)ptr);
    if (i < 0 || g_pinned.items[i].kind != RANGE_HOST_ALLOC) {
        if (i >= 0)
            violation("cudaFreeHost: %p was registered with cudaHostRegister, not allocated by "
                      "cudaHostAlloc",
                      ptr);
        else if (reg_containing(&g_device, (uintptr_t)ptr) >= 0)
            violation("cudaFreeHost: %p is device memory (use cudaFree)", ptr);
        else
            violation("cudaFreeHost: %p is not a live cudaHostAlloc allocation (double free or "
                      "never allocated)",
                      ptr);
        return rt_end(cudaErrorInvalidValue);
    }
    reg_remove(&g_pinned, (size_t)i);
    free(ptr);
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!ptr || size == 0 || (flags & ~0xFu))
        return rt_end(rt_invalid());
    long i = reg_overlapping(&g_pinned, (uintptr_t)ptr, size);
    if (i >= 0) {
        violation("cudaHostRegister: [%p, +%zu bytes) overlaps page-locked range [%p, +%zu bytes)",
                  ptr, size, (void *)g_pinned.items[i].base, g_pinned.items[i].size);
        return rt_end(cudaErrorHostMemoryAlreadyRegistered);
    }
    if (!check_host_range("cudaHostRegister", "range", ptr, size))
        return rt_end(cudaErrorInvalidValue);
    if (!reg_add(&g_pinned, (uintptr_t)ptr, size, RANGE_HOST_REGISTERED))
        return rt_end(cudaErrorMemoryAllocation);
    g_total_host_allocs++;
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaHostUnregister(void *ptr)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    long i = ptr ? reg_exact(&g_pinned, (uintptr_t)ptr) : -1;
    if (i < 0 || g_pinned.items[i].kind != RANGE_HOST_REGISTERED) {
        violation("cudaHostUnregister: %p %s", ptr,
                  i >= 0 ? "was allocated by cudaHostAlloc (use cudaFreeHost)"
                         : "is not the start of a range registered by cudaHostRegister");
        return rt_end(cudaErrorHostMemoryNotRegistered);
    }
    reg_remove(&g_pinned, (size_t)i);
    return rt_end(cudaSuccess);
}

/* Shared by cudaMemcpy and cudaMemcpyAsync; lock held. Copies run synchronously, which is a valid
 * implementation of the asynchronous API. */
static cudaError_t copy_locked(const char *fn, void *dst, const void *src, size_t count, int kind)
{
    if (count == 0)
        return cudaSuccess;
    if (kind < KIND_H2H || kind > KIND_DEFAULT) {
        violation("%s: kind %d is not a cudaMemcpyKind", fn, kind);
        return cudaErrorInvalidMemcpyDirection;
    }
    int dst_device, src_device;
    if (kind == KIND_DEFAULT) {
        dst_device = reg_containing(&g_device, (uintptr_t)dst) >= 0;
        src_device = reg_containing(&g_device, (uintptr_t)src) >= 0;
    } else {
        dst_device = kind == KIND_H2D || kind == KIND_D2D;
        src_device = kind == KIND_D2H || kind == KIND_D2D;
    }
    char what[96];
    snprintf(what, sizeof what, "%s (%s)", fn, kind_name(kind));
    int ok = dst_device ? check_device_range(what, "destination", dst, count)
                        : check_host_range(what, "destination", dst, count);
    if (ok)
        ok = src_device ? check_device_range(what, "source", src, count)
                        : check_host_range(what, "source", src, count);
    if (!ok)
        return cudaErrorInvalidValue;
    memmove(dst, src, count);
    return cudaSuccess;
}

BLEMU_API cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, int kind)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e))
        e = copy_locked(__func__, dst, src, count, kind);
    return rt_end(e);
}

BLEMU_API cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, int kind,
                                      cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e))
        e = check_stream(__func__, stream) ? copy_locked(__func__, dst, src, count, kind)
                                           : cudaErrorInvalidResourceHandle;
    return rt_end(e);
}

BLEMU_API cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!check_stream(__func__, stream))
        return rt_end(cudaErrorInvalidResourceHandle);
    if (count == 0)
        return rt_end(cudaSuccess);
    if (!check_device_range(__func__, "destination", devPtr, count))
        return rt_end(cudaErrorInvalidValue);
    memset(devPtr, value, count);
    return rt_end(cudaSuccess);
}

/* ---------------------------------------------------------------------------------------------- */
/* CUDA runtime: streams                                                                          */
/* ---------------------------------------------------------------------------------------------- */

BLEMU_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if (!pStream || flags > 1)
        return rt_end(rt_invalid());
    stream_obj *s = malloc(sizeof *s);
    if (!s || !obj_add(&g_streams, s)) {
        free(s);
        return rt_end(cudaErrorMemoryAllocation);
    }
    s->live = 1;
    s->flags = flags;
    g_live_streams++;
    *pStream = s;
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e))
        e = check_stream(__func__, stream) ? cudaSuccess : cudaErrorInvalidResourceHandle;
    return rt_end(e);
}

BLEMU_API cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    if ((uintptr_t)stream <= 2) {
        violation("cudaStreamDestroy: %p is a built-in stream and cannot be destroyed", stream);
        return rt_end(cudaErrorInvalidResourceHandle);
    }
    if (!check_stream(__func__, stream))
        return rt_end(cudaErrorInvalidResourceHandle);
    ((stream_obj *)stream)->live = 0;
    g_live_streams--;
    return rt_end(cudaSuccess);
}

/* ---------------------------------------------------------------------------------------------- */
/* Error strings                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    int code;
    const char *name;
    const char *text;
} code_text;

static const code_text k_cuda_errors[] = {
    {0, "cudaSuccess", "no error"},
    {1, "cudaErrorInvalidValue", "invalid argument"},
    {2, "cudaErrorMemoryAllocation", "out of memory"},
    {3, "cudaErrorInitializationError", "initialization error"},
    {17, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {21, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"},
    {35, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {100, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {101, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {400, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {700, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {712, "cudaErrorHostMemoryAlreadyRegistered",
     "part or all of the requested memory range is already mapped"},
    {713, "cudaErrorHostMemoryNotRegistered",
     "pointer does not correspond to a registered memory region"},
    {719, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {800, "cudaErrorNotPermitted", "operation not permitted"},
    {801, "cudaErrorNotSupported", "operation not supported"},
    {803, "cudaErrorSystemDriverMismatch",
     "system has unsupported display driver / cuda driver combination"},
    {999, "cudaErrorUnknown", "unknown error"},
};

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

static const code_text *find_code(const code_text *table, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].code == code)
            return &table[i];
    return NULL;
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The string functions never fail and ignore the sticky state, as in CUDA: they are how a caller
 * describes the sticky error it just received. */
BLEMU_API const char *cudaGetErrorName(cudaError_t error)
{
    const code_text *c = find_code(k_cuda_errors, COUNT_OF(k_cuda_errors), error);
    return c ? c->name : "cudaErrorUnknown";
}

BLEMU_API const char *cudaGetErrorString(cudaError_t error)
{
    const code_text *c = find_code(k_cuda_errors, COUNT_OF(k_cuda_errors), error);
    return c ? c->text : "unrecognized error code";
}

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
    *version = 130000;
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

/* Floats spanned by a column-major rows×cols matrix with leading dimension ld (rows, cols ≥ 1). */
static uint64_t matrix_floats(int rows, int cols, int ld)
{
    return (uint64_t)(cols - 1) * (uint64_t)ld + (uint64_t)rows;
}

static uint64_t vector_floats(int len, int inc)
{
    uint64_t step = inc < 0 ? (uint64_t)(-(int64_t)inc) : (uint64_t)inc;
    return (uint64_t)(len - 1) * step + 1;
}

/* Byte counts of up to 2^62 floats would overflow; saturating keeps such a range "past the end". */
static uint64_t float_bytes(uint64_t floats)
{
    return floats > UINT64_MAX / 4 ? UINT64_MAX : floats * 4;
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

/* ---------------------------------------------------------------------------------------------- */
/* Control API                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

static long long read_counter(const long long *counter)
{
    lock();
    long long v = *counter;
    unlock();
    return v;
}

BLEMU_API long long blemu_live_device_allocations(void)
{
    lock();
    long long v = (long long)g_device.count;
    unlock();
    return v;
}

BLEMU_API long long blemu_live_host_allocations(void)
{
    lock();
    long long v = (long long)g_pinned.count;
    unlock();
    return v;
}

BLEMU_API long long blemu_total_device_allocations(void)
{
    return read_counter(&g_total_device_allocs);
}

BLEMU_API long long blemu_total_host_allocations(void)
{
    return read_counter(&g_total_host_allocs);
}

BLEMU_API long long blemu_live_device_bytes(void) { return read_counter(&g_live_device_bytes); }
BLEMU_API long long blemu_live_handles(void) { return read_counter(&g_live_handles); }
BLEMU_API long long blemu_live_streams(void) { return read_counter(&g_live_streams); }
BLEMU_API long long blemu_violations(void) { return read_counter(&g_violations); }
BLEMU_API long long blemu_invalid_value_count(void) { return read_counter(&g_invalid_values); }

/* Returned through a per-thread copy: the shared buffer may be rewritten by another thread while the
 * caller is still reading the string. */
BLEMU_API const char *blemu_last_violation(void)
{
    static _Thread_local char copy[VIOLATION_TEXT];
    lock();
    memcpy(copy, g_last_violation, sizeof copy);
    unlock();
    return copy;
}

BLEMU_API void blemu_fail_nth_allocation(int n, int error)
{
    lock();
    g_alloc_fail_countdown = n > 0 ? n : 0;
    g_alloc_fail_error = error;
    unlock();
}

/* Every exported function that returns a status; the string functions cannot fail. */
static const char *const k_injectable[] = {
    "cudaGetDeviceCount", "cudaSetDevice", "cudaGetDevice", "cudaGetDeviceProperties",
    "cudaGetDeviceProperties_v2", "cudaDeviceGetAttribute", "cudaMalloc", "cudaFree",
    "cudaMemcpy", "cudaMemcpyAsync", "cudaMemsetAsync", "cudaHostAlloc", "cudaFreeHost",
    "cudaHostRegister", "cudaHostUnregister", "cudaStreamCreateWithFlags",
    "cudaStreamSynchronize", "cudaStreamDestroy", "cudaDeviceSynchronize", "cudaGetLastError",
    "cudaMemGetInfo", "cudaRuntimeGetVersion", "cudaDriverGetVersion", "cublasCreate_v2",
    "cublasDestroy_v2", "cublasSetStream_v2", "cublasSetMathMode", "cublasGetMathMode",
    "cublasGetVersion_v2", "cublasSgemm_v2", "cublasSgemv_v2", "cublasSscal_v2",
    "cublasSgemmStridedBatched",
};

BLEMU_API void blemu_fail_nth_call(const char *function, int n, int status)
{
    int known = 0;
    for (size_t i = 0; function && i < COUNT_OF(k_injectable); i++)
        known |= strcmp(function, k_injectable[i]) == 0;
    if (!known) {
        /* A typo here would make a test silently inject nothing; say so loudly. */
        fprintf(stderr, "blaslinear_cudaemu: blemu_fail_nth_call: '%s' is not an injectable function\n",
                function ? function : "(null)");
        return;
    }
    lock();
    injection_t *slot = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_INJECTIONS; i++) {
        if (g_injections[i].remaining > 0 && strcmp(g_injections[i].name, function) == 0)
            slot = &g_injections[i];
        else if (g_injections[i].remaining == 0 && !free_slot)
            free_slot = &g_injections[i];
    }
    if (!slot)
        slot = free_slot;
    if (slot) {
        snprintf(slot->name, sizeof slot->name, "%s", function);
        slot->remaining = n > 0 ? n : 0;
        slot->status = status;
    }
    unlock();
    if (!slot && n > 0)
        fprintf(stderr, "blaslinear_cudaemu: blemu_fail_nth_call: more than %d pending injections\n",
                MAX_INJECTIONS);
}

BLEMU_API void blemu_set_device_mode(int mode)
{
    lock();
    g_device_mode = mode >= MODE_NORMAL && mode <= MODE_DRIVER ? mode : MODE_NORMAL;
    unlock();
}

BLEMU_API void blemu_set_memory_capacity(long long bytes)
{
    lock();
    g_capacity = bytes > 0 ? bytes : 0;
    unlock();
}

BLEMU_API void blemu_reset(void)
{
    lock();
    g_sticky = cudaSuccess;
    g_last_error = cudaSuccess;
    g_alloc_fail_countdown = 0;
    memset(g_injections, 0, sizeof g_injections);
    g_violations = 0;
    g_invalid_values = 0;
    g_last_violation[0] = '\0';
    unlock();
}
