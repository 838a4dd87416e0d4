/*
 * The emulated CUDA runtime: devices, memory, copies, streams and error strings, with the documented
 * semantics, on the host. A real GPU punishes a host pointer passed as device memory, a copy in the
 * wrong direction or past the end of an allocation, and a destroyed stream; each is recorded here as a
 * violation that tests can assert on.
 */
#include "emu_internal.h"

static const char *kind_name(int kind)
{
    static const char *const names[] = {"cudaMemcpyHostToHost", "cudaMemcpyHostToDevice",
                                        "cudaMemcpyDeviceToHost", "cudaMemcpyDeviceToDevice",
                                        "cudaMemcpyDefault"};
    return kind >= 0 && kind <= 4 ? names[kind] : "invalid kind";
}

/* Device-ordinal functions fail the way the runtime does when the driver finds no usable device. */
static cudaError_t device_ordinal(int device)
{
    if (BLEMU_RUNTIME_MAJOR > g_driver_major)
        return cudaErrorInsufficientDriver;
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
        else if (g_device_mode == MODE_DRIVER || BLEMU_RUNTIME_MAJOR > g_driver_major)
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
            t_current_device = device;
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
            *device = t_current_device < 0 ? 0 : t_current_device;
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
    if (!rt_begin(__func__, &e)) {
        flush_all();
        e = cudaSuccess;
    }
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
            *runtimeVersion = BLEMU_RUNTIME_MAJOR * 1000;
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
            *driverVersion = g_driver_major * 1000;
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
    flush_all(); /* freeing waits for the device, as in CUDA */
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
    flush_all(); /* freeing waits for the device, as in CUDA */
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
    flush_all(); /* freeing waits for the device, as in CUDA */
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

/* Shared by cudaMemcpy and cudaMemcpyAsync; lock held. A copy runs at once, except an asynchronous one
 * from pageable host memory (stream != NULL): CUDA may run that one later, so the emulator always does,
 * at the stream's next operation or synchronisation point. A caller that changes or frees the source
 * before then sees what it would on a GPU: the changed data, or garbage. */
static cudaError_t copy_locked(const char *fn, void *dst, const void *src, size_t count, int kind,
                               const cudaStream_t *stream)
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
    if (stream && !src_device && !is_page_locked(src, count))
        return defer_copy(*stream, dst, src, count) ? cudaSuccess : cudaErrorMemoryAllocation;
    if (stream)
        flush_stream(*stream);
    else
        flush_all();
    memmove(dst, src, count);
    return cudaSuccess;
}

BLEMU_API cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, int kind)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        note_stream_use(NULL);
        e = copy_locked(__func__, dst, src, count, kind, NULL);
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, int kind,
                                      cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e)) {
        note_stream_use(stream);
        e = check_stream(__func__, stream) ? copy_locked(__func__, dst, src, count, kind, &stream)
                                           : cudaErrorInvalidResourceHandle;
    }
    return rt_end(e);
}

BLEMU_API cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (rt_begin(__func__, &e))
        return rt_end(e);
    note_stream_use(stream);
    if (!check_stream(__func__, stream))
        return rt_end(cudaErrorInvalidResourceHandle);
    flush_stream(stream);
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
    *s = (stream_obj){.live = 1, .flags = flags};
    g_live_streams++;
    *pStream = s;
    return rt_end(cudaSuccess);
}

BLEMU_API cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    cudaError_t e;
    lock();
    if (!rt_begin(__func__, &e))
        if ((e = check_stream(__func__, stream) ? cudaSuccess : cudaErrorInvalidResourceHandle) == 0)
            flush_stream(stream);
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
    flush_stream(stream);
    free(((stream_obj *)stream)->pending.items);
    ((stream_obj *)stream)->pending = (copy_queue){0};
    ((stream_obj *)stream)->live = 0;
    g_live_streams--;
    return rt_end(cudaSuccess);
}


/* Error strings. */
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
    {702, "cudaErrorLaunchTimeout", "the launch timed out and was terminated"},
    {710, "cudaErrorAssert", "device-side assert triggered"},
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
