/* BlasLinear's own small-batch GEMM kernels (AVX-512, or AVX2 with FMA): the routes the CPU backend takes where
 * a general BLAS spends more time preparing a product than computing it, that is when one operand has
 * few rows (a batch of 1 to a few dozen) and the weight is read once per call.
 *
 * Row-major, β = 0 never reads C, and no argument is checked here: the managed caller
 * (src/Interop/Cpu/CpuRouter.cs) validates every one before it calls, and calls only with an isa that
 * blk_cpu_isa() allows. Each function runs on the calling thread; CpuWorkers.cs splits larger products
 * over the columns of C (over its rows for blk_sgemm_atb) and calls once per slice. */
#ifndef BLASLINEAR_KERNELS_H
#define BLASLINEAR_KERNELS_H

#include <stdint.h>

#define BLK_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/* The instruction sets the kernels are built for, each a code path of its own (AVX-512 in
 * blaslinear_kernels.c, AVX2 in blaslinear_kernels_avx2.c). Every entry point below takes one as its first
 * argument, BLK_ISA_AVX2 up to what blk_cpu_isa() returned (never checked here), and runs that path;
 * a caller may choose a narrower path than the widest, e.g. to test the AVX2 one on an AVX-512 CPU. */
#define BLK_ISA_NONE 0
#define BLK_ISA_AVX2 1   /* AVX2 and FMA */
#define BLK_ISA_AVX512 2 /* AVX-512 F/VL/BW/DQ and FMA */

/* The widest of the instruction sets above that this CPU (and its OS) runs: BLK_ISA_AVX512, BLK_ISA_AVX2
 * on a CPU with AVX2 and FMA but not the AVX-512 set, BLK_ISA_NONE when the kernels cannot run. Uses
 * no AVX instruction itself (check_portable.sh). */
BLK_API int blk_cpu_isa(void);

/* C[m,n] = α·A[m,k]·B[n,k]ᵀ + β·C: every element a dot product of two contiguous rows. */
BLK_API void blk_sgemm_abt(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc);

/* C[m,n] = α·A[m,k]·B[k,n] + β·C: rows of B scaled by elements of A and summed into register tiles of C. */
BLK_API void blk_sgemm_ab(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                          const float* b, int ldb, float beta, float* c, int ldc);

/* C[m,n] = α·A[k,m]ᵀ·B[k,n] + β·C (the weight gradient; k is the batch): the same tiles as blk_sgemm_ab. */
BLK_API void blk_sgemm_atb(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc);

/* dst[c,r] = src[r,c] + β·dst[c,r] for a rows×cols source (β = 0 never reads dst): brings back the
 * result of a product computed with its operands swapped, (A·Bᵀ)ᵀ = B·Aᵀ (see CpuRouter.cs). Both paths
 * run the same code (8×8 blocks in ymm registers, blaslinear_kernels_avx2.c). */
BLK_API void blk_transpose(int isa, int rows, int cols, const float* src, int lds, float beta, float* dst, int ldd);

/* Products with a weight prepared in panels (blaslinear_kernels_panels.c): op(W) [k, n] as ⌈n / BLK_PANEL⌉
 * panels of BLK_PANEL columns, panel j holding columns [16j, 16j + 16) as k rows of 16 contiguous elements
 * (element (p, col) at panels[(col / 16)·16k + 16p + col % 16]), the columns of the last panel past n zero.
 * C[m,n] = α·A[m,k]·op(W) + β·C + bias, bias n floats added to every row of C (NULL: none); a slice of
 * columns starting at a multiple of 16 passes its first panel (and its first column of bias). isa:
 * BLK_ISA_AVX512 or BLK_ISA_AVX2. A row of C gets the same bits whatever m and whichever slice of columns
 * holds it. */
#define BLK_PANEL 16

/* float32 panels. */
BLK_API void blk_sgemm_panels(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                              const float* panels, float beta, const float* bias, float* c, int ldc);

/* bfloat16 panels (the upper 16 bits of a float32, in a uint16_t): each element is widened to float32
 * exactly in a register; A, the products, the sums and C are float32. */
BLK_API void blk_sgemm_bf16_panels(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                                   const uint16_t* panels, float beta, const float* bias, float* c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
