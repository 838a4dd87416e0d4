/*
 * The emulator's bookkeeping: the state every call checks (device and page-locked ranges, streams,
 * handles, counters, injected failures, the sticky error), the helpers that check arguments against it,
 * and the blemu_ control API through which tests inspect and steer it.
 *
 * All state lives behind one mutex. The arithmetic (OpenBLAS, in emu_cublas.c) runs outside it so that
 * tests running on several threads still overlap.
 */
#include "emu_internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

registry_t g_device; /* cudaMalloc */
registry_t g_pinned; /* cudaHostAlloc and cudaHostRegister */
objlist_t g_streams, g_handles;

long long g_live_device_bytes;
long long g_total_device_allocs, g_total_host_allocs;
long long g_live_handles, g_live_streams;
long long g_violations, g_invalid_values;
char g_last_violation[VIOLATION_TEXT];

long long g_capacity = 16LL << 30;
int g_device_mode = MODE_NORMAL;
_Thread_local int t_current_device = -1;
int g_driver_major = 13;
long long g_handles_without_device, g_legacy_stream_calls, g_deferred_copies;
static copy_queue g_builtin_pending[3]; /* streams 0, 1 and 2 */
cudaError_t g_sticky;     /* 0, or the sticky error every later call returns */
cudaError_t g_last_error; /* non-sticky, returned and cleared by cudaGetLastError */

int g_alloc_fail_countdown;
int g_alloc_fail_error;
injection_t g_injections[MAX_INJECTIONS];

int g_trace; /* BLASLINEAR_CUDAEMU_TRACE=1 echoes every violation to stderr */

void lock(void) { pthread_mutex_lock(&g_lock); }
void unlock(void) { pthread_mutex_unlock(&g_lock); }

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
    const char *driver = getenv("BLASLINEAR_CUDAEMU_DRIVER_MAJOR");
    if (driver && *driver)
        g_driver_major = atoi(driver);
    const char *trace = getenv("BLASLINEAR_CUDAEMU_TRACE");
    g_trace = trace && *trace && strcmp(trace, "0") != 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Bookkeeping helpers (all called with g_lock held)                                              */
/* ---------------------------------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) void violation(const char *fmt, ...)
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
cudaError_t rt_invalid(void)
{
    g_invalid_values++;
    return cudaErrorInvalidValue;
}

cublasStatus_t cb_invalid(void)
{
    g_invalid_values++;
    return CUBLAS_STATUS_INVALID_VALUE;
}

int reg_add(registry_t *r, uintptr_t base, size_t size, range_kind kind)
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

void reg_remove(registry_t *r, size_t index) { r->items[index] = r->items[--r->count]; }

long reg_containing(const registry_t *r, uintptr_t p)
{
    for (size_t i = 0; i < r->count; i++)
        if (p >= r->items[i].base && p - r->items[i].base < r->items[i].size)
            return (long)i;
    return -1;
}

long reg_exact(const registry_t *r, uintptr_t p)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->items[i].base == p)
            return (long)i;
    return -1;
}

long reg_overlapping(const registry_t *r, uintptr_t p, uint64_t bytes)
{
    uintptr_t end = bytes > UINTPTR_MAX - p ? UINTPTR_MAX : p + (uintptr_t)bytes;
    for (size_t i = 0; i < r->count; i++)
        if (p < r->items[i].base + r->items[i].size && r->items[i].base < end)
            return (long)i;
    return -1;
}

int obj_add(objlist_t *l, void *obj)
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

int obj_known(const objlist_t *l, const void *obj)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i] == obj)
            return 1;
    return 0;
}

/* Consumes one call of `fn` from its pending injection; returns 1 with *status when this call is the
 * one that must fail. */
int take_injection(const char *fn, int *status)
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

/* driver_types.h: 700 illegal address, 702 launch timeout, 710 assert, 714-719 hardware stack error
 * to launch failure leave the context unusable. */
int is_sticky_code(int status)
{
    return status == 700 || status == 702 || status == 710 || (status >= 714 && status <= 719);
}

/* Entry of every status-returning runtime function: an injected failure, then the sticky state,
 * preempt the call. Returns 1 (and *err) when the call must not proceed. */
int rt_begin(const char *fn, cudaError_t *err)
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
cudaError_t rt_end(cudaError_t err)
{
    if (err != cudaSuccess && err != g_sticky)
        g_last_error = err;
    unlock();
    return err;
}

/* cuBLAS has no sticky state of its own; once the context is poisoned every kernel launch fails,
 * which cuBLAS reports as EXECUTION_FAILED. An injected 700/719 poisons the context the same way. */
int cb_begin(const char *fn, cublasStatus_t *st)
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

cublasStatus_t cb_end(cublasStatus_t st)
{
    unlock();
    return st;
}


/* Does [p, p+bytes) lie wholly inside one device allocation? If not, records why. */
int check_device_range(const char *fn, const char *role, const void *p, uint64_t bytes)
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
int check_host_range(const char *fn, const char *role, const void *p, uint64_t bytes)
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
int check_stream(const char *fn, cudaStream_t s)
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
handle_obj *get_handle(const char *fn, cublasHandle_t h, cublasStatus_t *st)
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
cudaError_t take_alloc_injection(void)
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
void *alloc_poisoned(size_t size)
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


const code_text *find_code(const code_text *table, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].code == code)
            return &table[i];
    return NULL;
}

/* Is [p, p+bytes) inside one cudaHostAlloc or cudaHostRegister range? */
int is_page_locked(const void *p, size_t bytes)
{
    long i = reg_containing(&g_pinned, (uintptr_t)p);
    return i >= 0 && bytes <= g_pinned.items[i].base + g_pinned.items[i].size - (uintptr_t)p;
}

static copy_queue *queue_of(cudaStream_t s)
{
    return (uintptr_t)s <= 2 ? &g_builtin_pending[(uintptr_t)s] : &((stream_obj *)s)->pending;
}

/* Queues a checked copy from pageable memory on stream s; it reads the source only when it runs. */
int defer_copy(cudaStream_t s, void *dst, const void *src, size_t count)
{
    copy_queue *q = queue_of(s);
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        pending_copy *items = realloc(q->items, cap * sizeof *items);
        if (!items)
            return 0;
        q->items = items;
        q->cap = cap;
    }
    q->items[q->count++] = (pending_copy){dst, src, count};
    g_deferred_copies++;
    return 1;
}

/* Runs the copies queued on s, in order: its next operation or a synchronisation point has come. */
void flush_stream(cudaStream_t s)
{
    copy_queue *q = queue_of(s);
    for (size_t i = 0; i < q->count; i++)
        memmove(q->items[i].dst, q->items[i].src, q->items[i].count);
    q->count = 0;
}

/* A device-wide synchronisation point (cudaDeviceSynchronize, cudaMemcpy, cudaFree). */
void flush_all(void)
{
    for (uintptr_t s = 0; s <= 2; s++)
        flush_stream((cudaStream_t)s);
    for (size_t i = 0; i < g_streams.count; i++)
        if (((stream_obj *)g_streams.items[i])->live)
            flush_stream(g_streams.items[i]);
}

/* Work on the legacy default stream serialises with every blocking stream; BlasLinear never uses it. */
void note_stream_use(cudaStream_t s)
{
    if (s == NULL)
        g_legacy_stream_calls++;
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
BLEMU_API long long blemu_deferred_copies(void) { return read_counter(&g_deferred_copies); }
BLEMU_API long long blemu_legacy_stream_calls(void) { return read_counter(&g_legacy_stream_calls); }
BLEMU_API long long blemu_handles_without_device(void)
{
    return read_counter(&g_handles_without_device);
}

/* The device this thread made current with cudaSetDevice, or -1 when it never did. */
BLEMU_API int blemu_thread_device(void) { return t_current_device; }

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
    "cublasSgemmStridedBatched", "cublasLtCreate", "cublasLtDestroy", "cublasLtMatmulDescCreate",
    "cublasLtMatmulDescDestroy", "cublasLtMatmulDescSetAttribute", "cublasLtMatrixLayoutCreate",
    "cublasLtMatrixLayoutDestroy", "cublasLtMatmulPreferenceCreate", "cublasLtMatmulPreferenceDestroy",
    "cublasLtMatmulPreferenceSetAttribute", "cublasLtMatmulAlgoGetHeuristic", "cublasLtMatmul",
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
