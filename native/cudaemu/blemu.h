/*
 * BlasLinear CUDA emulator: the subset of the CUDA runtime and cuBLAS that BlasLinear binds, computed
 * on the host, plus the blemu_ control API that tests use to inspect and steer it.
 *
 * One shared library (libblaslinear_cudaemu.so) stands in for both libcudart and libcublas, so the C#
 * CUDA backend runs unchanged on machines without a GPU. Types follow NATIVE-API.md: enums and status
 * codes are int, handles and streams are opaque pointers, sizes are size_t.
 */
#ifndef BLASLINEAR_CUDAEMU_BLEMU_H
#define BLASLINEAR_CUDAEMU_BLEMU_H

#include <stddef.h>

#ifdef BLEMU_BUILDING
#define BLEMU_API __attribute__((visibility("default")))
#else
#define BLEMU_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef int cudaError_t;
typedef int cublasStatus_t;
typedef void *cudaStream_t;
typedef void *cublasHandle_t;

/* ---- CUDA runtime ---------------------------------------------------------------------------- */
BLEMU_API cudaError_t cudaGetDeviceCount(int *count);
BLEMU_API cudaError_t cudaSetDevice(int device);
BLEMU_API cudaError_t cudaGetDevice(int *device);
BLEMU_API cudaError_t cudaGetDeviceProperties(void *prop, int device);
BLEMU_API cudaError_t cudaGetDeviceProperties_v2(void *prop, int device);
BLEMU_API cudaError_t cudaDeviceGetAttribute(int *value, int attr, int device);
BLEMU_API cudaError_t cudaMalloc(void **devPtr, size_t size);
BLEMU_API cudaError_t cudaFree(void *devPtr);
BLEMU_API cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, int kind);
BLEMU_API cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, int kind,
                                      cudaStream_t stream);
BLEMU_API cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream);
BLEMU_API cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags);
BLEMU_API cudaError_t cudaFreeHost(void *ptr);
BLEMU_API cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags);
BLEMU_API cudaError_t cudaHostUnregister(void *ptr);
BLEMU_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags);
BLEMU_API cudaError_t cudaStreamSynchronize(cudaStream_t stream);
BLEMU_API cudaError_t cudaStreamDestroy(cudaStream_t stream);
BLEMU_API cudaError_t cudaDeviceSynchronize(void);
BLEMU_API cudaError_t cudaGetLastError(void);
BLEMU_API cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
BLEMU_API cudaError_t cudaRuntimeGetVersion(int *runtimeVersion);
BLEMU_API cudaError_t cudaDriverGetVersion(int *driverVersion);
BLEMU_API const char *cudaGetErrorName(cudaError_t error);
BLEMU_API const char *cudaGetErrorString(cudaError_t error);

/* ---- cuBLAS ---------------------------------------------------------------------------------- */
BLEMU_API cublasStatus_t cublasCreate_v2(cublasHandle_t *handle);
BLEMU_API cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
BLEMU_API cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream);
BLEMU_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, int mode);
BLEMU_API cublasStatus_t cublasGetMathMode(cublasHandle_t handle, int *mode);
BLEMU_API cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version);
BLEMU_API const char *cublasGetStatusName(cublasStatus_t status);
BLEMU_API const char *cublasGetStatusString(cublasStatus_t status);
BLEMU_API cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n,
                                        int k, const float *alpha, const float *A, int lda,
                                        const float *B, int ldb, const float *beta, float *C, int ldc);
BLEMU_API cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, int trans, int m, int n,
                                        const float *alpha, const float *A, int lda, const float *x,
                                        int incx, const float *beta, float *y, int incy);
BLEMU_API cublasStatus_t cublasSscal_v2(cublasHandle_t handle, int n, const float *alpha, float *x,
                                        int incx);
BLEMU_API cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, int transa, int transb,
                                                   int m, int n, int k, const float *alpha,
                                                   const float *A, int lda, long long strideA,
                                                   const float *B, int ldb, long long strideB,
                                                   const float *beta, float *C, int ldc,
                                                   long long strideC, int batchCount);

/* ---- Control API for tests ------------------------------------------------------------------- */
BLEMU_API long long blemu_live_device_allocations(void);
BLEMU_API long long blemu_live_host_allocations(void);
BLEMU_API long long blemu_total_device_allocations(void);
BLEMU_API long long blemu_total_host_allocations(void);
BLEMU_API long long blemu_live_device_bytes(void);
BLEMU_API long long blemu_live_handles(void);
BLEMU_API long long blemu_live_streams(void);
BLEMU_API long long blemu_violations(void);
/* ---- cuBLASLt: the product with a bias epilogue (float32 only) ------------------------------------ */
typedef struct {
    unsigned long long data[8];
} cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;
BLEMU_API cublasStatus_t cublasLtCreate(void **handle);
BLEMU_API cublasStatus_t cublasLtDestroy(void *handle);
BLEMU_API cublasStatus_t cublasLtMatmulDescCreate(void **desc, int compute, int scale);
BLEMU_API cublasStatus_t cublasLtMatmulDescDestroy(void *desc);
BLEMU_API cublasStatus_t cublasLtMatmulDescSetAttribute(void *desc, int attr, const void *buf, size_t size);
BLEMU_API cublasStatus_t cublasLtMatrixLayoutCreate(void **layout, int type, unsigned long long rows,
                                                    unsigned long long cols, long long ld);
BLEMU_API cublasStatus_t cublasLtMatrixLayoutDestroy(void *layout);
BLEMU_API cublasStatus_t cublasLtMatmulPreferenceCreate(void **pref);
BLEMU_API cublasStatus_t cublasLtMatmulPreferenceDestroy(void *pref);
BLEMU_API cublasStatus_t cublasLtMatmulPreferenceSetAttribute(void *pref, int attr, const void *buf, size_t size);
BLEMU_API cublasStatus_t cublasLtMatmulAlgoGetHeuristic(void *handle, void *desc, void *adesc, void *bdesc,
                                                        void *cdesc, void *ddesc, void *pref, int requested,
                                                        cublasLtMatmulHeuristicResult_t *results, int *returned);
BLEMU_API cublasStatus_t cublasLtMatmul(void *handle, void *desc, const float *alpha, const float *A, void *adesc,
                                        const float *B, void *bdesc, const float *beta, const float *C,
                                        void *cdesc, float *D, void *ddesc, const cublasLtMatmulAlgo_t *algo,
                                        void *workspace, size_t workspace_size, cudaStream_t stream);

/* cuBLASLt objects (handles, descriptors, layouts, preferences) created and not destroyed, and matmuls run. */
BLEMU_API long long blemu_live_lt_objects(void);
BLEMU_API long long blemu_lt_matmuls(void);
BLEMU_API long long blemu_invalid_value_count(void);
BLEMU_API long long blemu_deferred_copies(void);
BLEMU_API long long blemu_legacy_stream_calls(void);
BLEMU_API long long blemu_handles_without_device(void);
BLEMU_API int blemu_thread_device(void);
BLEMU_API const char *blemu_last_violation(void);
BLEMU_API void blemu_fail_nth_allocation(int n, int error);
BLEMU_API void blemu_fail_nth_call(const char *function, int n, int status);
BLEMU_API void blemu_set_device_mode(int mode);
BLEMU_API void blemu_set_memory_capacity(long long bytes);
BLEMU_API void blemu_reset(void);

#ifdef __cplusplus
}
#endif

#endif
