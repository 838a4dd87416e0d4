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

#endif
