/* The code paths behind the entry points of blaslinear_kernels.h, one set per instruction set; the entry
 * points (blaslinear_kernels.c) call the set their isa argument names. Not exported. */
#ifndef BLASLINEAR_KERNELS_ISA_H
#define BLASLINEAR_KERNELS_ISA_H

#include "blaslinear_kernels.h"

#include <immintrin.h>
#include <stddef.h>

/* blaslinear_kernels_avx2.c: AVX2 and FMA. */
void avx2_sgemm_abt(int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc);
void avx2_sgemm_ab(int m, int n, int k, float alpha, const float* a, int lda,
                   const float* b, int ldb, float beta, float* c, int ldc);
void avx2_sgemm_atb(int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc);
void avx2_transpose(int rows, int cols, const float* src, int lds, float beta, float* dst, int ldd);

/* Both paths' A·B tiles of AB_PREFETCH_FROM_MR rows or more prefetch the weight AB_PREFETCH_ROWS rows ahead into
 * L2 (blaslinear_kernels.c says why). OPAB_TILE(MR, NV, FULL) calls the file's own op_ab_tile with or without
 * it, inside its op_ab_block (which names prefetch_b and the tile's arguments). */
#define AB_PREFETCH_FROM_MR 4
#define AB_PREFETCH_ROWS 16
#define OPAB_TILE(MR, NV, FULL)                                                                            \
    do {                                                                                                   \
        if (prefetch_b && (MR) >= AB_PREFETCH_FROM_MR)                                                     \
            op_ab_tile(MR, NV, FULL, AB_PREFETCH_ROWS, cols, k, alpha, a, si, sp, b, ldb, beta, c, ldc);   \
        else                                                                                               \
            op_ab_tile(MR, NV, FULL, 0, cols, k, alpha, a, si, sp, b, ldb, beta, c, ldc);                  \
    } while (0)

/* Both paths' Aᵀ·B (the weight gradient) prefetch C into L2 ATB_PREFETCH_COLUMNS columns ahead of the full tile they
 * are on, past the end of a row into the next row block, when the slice's C has ATB_PREFETCH_FROM_FLOATS elements or
 * more. C is read and written once, at the end of a tile that spent k FMAs per element on registers alone, and a
 * gradient that was not in cache arrived a tile at a time: the hardware prefetchers did not run ahead of a block's
 * interleaved rows. It was not in cache in a backward's dW after its dX read the weight, once the two no longer fit
 * in the last-level cache beside each other. Measured on a Zen 4 (docs/cpu-routes.md, "Aᵀ·B: the gradient
 * prefetched"): dX then dW 1.15–1.43 times as fast at 3072 × 768 and 4096 × 4096 on AVX-512. A 1024 × 1024 gradient,
 * two slices of 2 MiB that stay in cache, lost 5 % with it, hence the floor, which it is under. Into L2, as the
 * weight in A·B. */
#define ATB_PREFETCH_FROM_FLOATS (1L << 20)
#define ATB_PREFETCH_COLUMNS 256
/* Whether an Aᵀ·B slice whose C is m × n prefetches C (ATB_PREFETCH_FROM_FLOATS). */
static inline int atb_prefetches_c(int m, int n) { return (long)m * n >= ATB_PREFETCH_FROM_FLOATS; }
/* Prefetches the lines of the tile ATB_PREFETCH_COLUMNS columns after the one at (i, j) of an m × n C. */
static inline __attribute__((always_inline)) void atb_prefetch_c(const float* c, ptrdiff_t ldc, int m, int n, int i,
                                                                 int j, int rows, int cols)
{
    int pi = i, pj = j + ATB_PREFETCH_COLUMNS;
    if (pj >= n) {
        pi += rows;
        pj -= n;
    }
    if (pj >= n)
        return;
    for (int r = 0; r < rows && pi + r < m; r++)
        for (int v = 0; v < cols; v += 16)
            _mm_prefetch((const char*)(c + (ptrdiff_t)(pi + r) * ldc + pj + v), _MM_HINT_T1);
}

#endif
