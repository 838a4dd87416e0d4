/* The few OpenBLAS entry points the floor uses. Debian's runtime package (libopenblas0-pthread) ships
 * no headers, so they are declared here with the signatures and enum values of OpenBLAS 0.3.21's
 * cblas.h (LP64 build: blasint is int; the enums are passed as int). */
#ifndef BLASLINEAR_OPENBLAS_DECL_H
#define BLASLINEAR_OPENBLAS_DECL_H

enum {
    BLF_CBLAS_ROW_MAJOR = 101,
    BLF_CBLAS_NO_TRANS = 111,
    BLF_CBLAS_TRANS = 112
};

void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#endif
