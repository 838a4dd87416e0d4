/* The raw-BLAS floor: the GEMMs of BlasLinear's two layer forms, called straight from C on
 * cblas_sgemm, so the managed benchmark can report its throughput as a ratio to what OpenBLAS itself
 * reaches on the same shapes, in the same process and the same run; and the machine's read bandwidth
 * at a given footprint, the memory side of the benchmark's roofline.
 *
 * All matrices are row-major and contiguous. M = batch rows, K = in_features, N = out_features; the
 * exact cblas_sgemm arguments of each operation are the ones in DESIGN.md's "BLAS argument mapping"
 * table and are written out once, in blaslinear_floor.c.
 *
 * A context is not thread-safe: one thread at a time per context. The library prints nothing and
 * never passes an argument to OpenBLAS that it has not checked. */
#ifndef BLASLINEAR_FLOOR_H
#define BLASLINEAR_FLOOR_H

#include <stddef.h>

#if defined(_WIN32)
#  define BLFLOOR_API __declspec(dllexport)
#else
#  define BLFLOOR_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum blfloor_op {
    BLFLOOR_LINEAR_FORWARD = 0,  /* Y[M,N] = X[M,K]·W[N,K]ᵀ                       (β = 0)        */
    BLFLOOR_PARAM_FORWARD = 1,   /* Y[M,N] = X[M,K]·W[K,N]                        (β = 0)        */
    BLFLOOR_LINEAR_BACKWARD = 2, /* dX[M,K] = dY·W[N,K] (β = 0), then dW[N,K] += dYᵀ·X (β = 1)     */
    BLFLOOR_PARAM_BACKWARD = 3,  /* dX[M,K] = dY·W[K,N]ᵀ (β = 0), then dW[K,N] += Xᵀ·dY (β = 1)    */
    BLFLOOR_SQUARE = 4,          /* C[n,n] = A·B with n = m; n and k are ignored: the machine's peak */
    BLFLOOR_OP_COUNT = 5
};

typedef struct blfloor_ctx blfloor_ctx;

/* Allocates 64-byte aligned buffers for `op` at this shape, fills the inputs with uniform(-1, 1) data
 * from `seed` (same seed, same data) and zeroes the outputs. NULL when op is out of range, a used
 * dimension is < 1, a buffer size does not fit in size_t, or an allocation fails. */
BLFLOOR_API blfloor_ctx* blfloor_create(int op, int m, int n, int k, unsigned long long seed);

/* Runs the operation `iterations` times back to back (0 runs nothing). 0 on success, -1 when ctx is
 * NULL or iterations < 0. */
BLFLOOR_API int blfloor_run(blfloor_ctx* ctx, int iterations);

/* Wall seconds (CLOCK_MONOTONIC) taken by `iterations` back-to-back runs; negative on the errors of
 * blfloor_run or when the clock cannot be read. Does no warm-up of its own. */
BLFLOOR_API double blfloor_time(blfloor_ctx* ctx, int iterations);

/* Floating-point operations of one run: 2·M·N·K for the forwards, 4·M·N·K for the backwards (two
 * GEMMs), 2·m³ for square. Negative for an op out of range or a used dimension < 1. */
BLFLOOR_API double blfloor_flops(int op, int m, int n, int k);

/* Frees the context and its buffers; NULL is a no-op. */
BLFLOOR_API void blfloor_destroy(blfloor_ctx* ctx);

/* The read bandwidth, in bytes per second, of `threads` threads reading one buffer of about `bytes`
 * bytes together: the memory side of the benchmark's roofline. The buffer is split into `threads`
 * contiguous parts (each rounded up to a whole number of 256-byte blocks, so the footprint read is
 * `bytes` rounded up to a multiple of 256·threads); each thread writes its part once, then all read
 * their parts with the widest vector loads the CPU has (AVX-512, AVX2 or plain 64-bit loads, chosen at
 * run time), starting together and timed until the last one finishes. A repetition reads the buffer
 * as many times as it takes to move at least 256 MiB; one untimed repetition comes first (caches,
 * clocks), and the result is the best of the `repetitions` timed ones. The calling thread is one of
 * the threads. Negative when bytes is 0, threads is outside [1, 4096], repetitions < 1, or the buffer,
 * a thread or the clock is not available. */
BLFLOOR_API double blfloor_read_bandwidth(size_t bytes, int threads, int repetitions);

#ifdef __cplusplus
}
#endif

#endif
