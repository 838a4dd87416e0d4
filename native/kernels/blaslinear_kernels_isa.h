/* The code paths behind the entry points of blaslinear_kernels.h, one set per instruction set; the entry
 * points (blaslinear_kernels.c) call the set their isa argument names. Not exported. */
#ifndef BLASLINEAR_KERNELS_ISA_H
#define BLASLINEAR_KERNELS_ISA_H

#include "blaslinear_kernels.h"

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

#endif
