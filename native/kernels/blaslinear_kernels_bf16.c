/* See blaslinear_kernels.h: products with a weight stored as bfloat16, the upper 16 bits of a float32, in
 * panels of BLK_BF16_PANEL columns. A weight element is widened in a register (a zero-extension to 32 bits
 * and a 16-bit left shift, exact) and everything else is float32: the inputs, the products, the sums and C.
 *
 * Panel j holds columns [16j, 16j + 16) of op(W) [k, n] as k rows of 16 contiguous elements, so a tile of C
 * reads each of its panels as one sequential stream (the hardware prefetchers follow it, and no row of a
 * 4096-wide weight is cut into short stretches) and one row of a panel is exactly one widening load. A tile
 * of C (MR rows × NP panels) stays in registers while k runs; each a(i, p) is broadcast against the
 * tile's NP vectors of row p.
 *
 * Loops: rows of A in blocks of BF16_MC (A's block stays in L2), panels in groups of one full tile's width,
 * k in blocks of BF16_KC (a group's block of panels, 24 KiB at most, stays in L1 while every row block of A
 * passes), rows of A in tiles. The blocking does not depend on m: a row of C is summed in the same order
 * whatever the batch, so a row gives the same bits alone or in a batch (and on any slice of columns).
 *
 * AVX-512 tiles take 16 lanes (a panel row is one vector), AVX2 tiles 8 (two vectors a panel row, half the
 * registers, smaller tiles). Padding columns of the last panel are read and multiplied but never stored. */
#include "blaslinear_kernels.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define BF_TARGET512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define BF_TARGET2 __attribute__((target("avx2,fma")))
#define BF_INLINE512 static inline __attribute__((always_inline)) BF_TARGET512
#define BF_INLINE2 static inline __attribute__((always_inline)) BF_TARGET2
#define UNROLL _Pragma("GCC unroll 16")
#define MAX_ROWS 8
#define MAX_VECTORS 8
/* k per block: a full AVX-512 tile's panels (3 × 16 columns × 2 bytes × 256) are 24 KiB, within L1. */
#define BF16_KC 256
/* Rows of A per block: 128 rows × BF16_KC × 4 bytes = 128 KiB, within L2. */
#define BF16_MC 128
/* Rows of A per tile, AVX-512 / AVX2. */
#define ROW_BLOCK_512 8
#define ROW_BLOCK_2 4

/* ---- AVX-512: one vector per panel row ----------------------------------------------------------- */

BF_INLINE512 __m512 widen16(const uint16_t* p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
}

BF_INLINE512 __mmask16 lanes512(int cols, int v)
{
    int left = cols - 16 * v;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* C[MR, cols] = α·A[MR, kc]·P[kc, 16·NP] + β·C, cols ≤ 16·NP; panel v at p + v·ps. */
BF_INLINE512 void tile512(const int MR, const int NP, int cols, int kc, float alpha, const float* a, ptrdiff_t lda,
                          const uint16_t* p, ptrdiff_t ps, float beta, float* c, ptrdiff_t ldc)
{
    __m512 acc[MAX_ROWS][MAX_VECTORS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NP; v++)
            acc[i][v] = _mm512_setzero_ps();
    for (int q = 0; q < kc; q++) {
        __m512 bv[MAX_VECTORS];
        UNROLL for (int v = 0; v < NP; v++)
            bv[v] = widen16(p + v * ps + q * BLK_BF16_PANEL);
        UNROLL for (int i = 0; i < MR; i++) {
            const __m512 av = _mm512_set1_ps(a[i * lda + q]);
            UNROLL for (int v = 0; v < NP; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    UNROLL for (int v = 0; v < NP; v++) {
        const __mmask16 mask = lanes512(cols, v);
        UNROLL for (int i = 0; i < MR; i++) {
            float* out = c + i * ldc + 16 * v;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, out), r);
            _mm512_mask_storeu_ps(out, mask, r);
        }
    }
}

/* Panels per tile for MR rows: MR·NP accumulators + NP panel vectors + 1 broadcast ≤ 32 registers. */
static int panels512(int mr) { return mr <= 2 ? 8 : mr <= 4 ? 6 : mr <= 6 ? 4 : 3; }

#define T512(MR, NP) case (MR) * 16 + (NP): tile512(MR, NP, cols, kc, alpha, a, lda, p, ps, beta, c, ldc); break;

static BF_TARGET512 void block512(int mr, int np, int cols, int kc, float alpha, const float* a, ptrdiff_t lda,
                                  const uint16_t* p, ptrdiff_t ps, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 16 + np) {
    T512(1, 1) T512(1, 2) T512(1, 3) T512(1, 4) T512(1, 5) T512(1, 6) T512(1, 7) T512(1, 8)
    T512(2, 1) T512(2, 2) T512(2, 3) T512(2, 4) T512(2, 5) T512(2, 6) T512(2, 7) T512(2, 8)
    T512(3, 1) T512(3, 2) T512(3, 3) T512(3, 4) T512(3, 5) T512(3, 6)
    T512(4, 1) T512(4, 2) T512(4, 3) T512(4, 4) T512(4, 5) T512(4, 6)
    T512(5, 1) T512(5, 2) T512(5, 3) T512(5, 4)
    T512(6, 1) T512(6, 2) T512(6, 3) T512(6, 4)
    T512(7, 1) T512(7, 2) T512(7, 3)
    T512(8, 1) T512(8, 2) T512(8, 3)
    default: break;
    }
}

/* ---- AVX2: two vectors per panel row ------------------------------------------------------------- */

BF_INLINE2 __m256 widen8(const uint16_t* p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}

/* Lanes [0, left) of a vector, as a maskload/maskstore mask. */
BF_INLINE2 __m256i lanes2(int left)
{
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), index);
}

/* As tile512 with 8-lane vectors: vector v is half v % 2 of panel v / 2. */
BF_INLINE2 void tile2(const int MR, const int NP, int cols, int kc, float alpha, const float* a, ptrdiff_t lda,
                      const uint16_t* p, ptrdiff_t ps, float beta, float* c, ptrdiff_t ldc)
{
    __m256 acc[MAX_ROWS][MAX_VECTORS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < 2 * NP; v++)
            acc[i][v] = _mm256_setzero_ps();
    for (int q = 0; q < kc; q++) {
        __m256 bv[MAX_VECTORS];
        UNROLL for (int v = 0; v < 2 * NP; v++)
            bv[v] = widen8(p + (v / 2) * ps + q * BLK_BF16_PANEL + 8 * (v % 2));
        UNROLL for (int i = 0; i < MR; i++) {
            const __m256 av = _mm256_broadcast_ss(a + i * lda + q);
            UNROLL for (int v = 0; v < 2 * NP; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    UNROLL for (int v = 0; v < 2 * NP; v++) {
        const int left = cols - 8 * v;
        if (left <= 0)
            continue;
        UNROLL for (int i = 0; i < MR; i++) {
            float* out = c + i * ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (left >= 8) {
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(out), r);
                _mm256_storeu_ps(out, r);
            } else {
                const __m256i mask = lanes2(left);
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(out, mask), r);
                _mm256_maskstore_ps(out, mask, r);
            }
        }
    }
}

/* Panels per tile for MR rows: 2·MR·NP accumulators + 2·NP panel vectors + 1 broadcast ≤ 16 registers, and
 * 8 accumulators at most (wider tiles spilled and ran at half the speed: docs/cpu-routes.md). */
static int panels2(int mr) { return mr <= 1 ? 3 : mr <= 2 ? 2 : 1; }

#define T2(MR, NP) case (MR) * 16 + (NP): tile2(MR, NP, cols, kc, alpha, a, lda, p, ps, beta, c, ldc); break;

static BF_TARGET2 void block2(int mr, int np, int cols, int kc, float alpha, const float* a, ptrdiff_t lda,
                              const uint16_t* p, ptrdiff_t ps, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 16 + np) {
    T2(1, 1) T2(1, 2) T2(1, 3)
    T2(2, 1) T2(2, 2)
    T2(3, 1) T2(4, 1)
    default: break;
    }
}

/* ---- the loops over tiles, shared by both paths -------------------------------------------------- */

void blk_sgemm_bf16_panels(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                           const uint16_t* panels, float beta, float* c, int ldc)
{
    const int wide = isa == BLK_ISA_AVX512;
    const int row_block = wide ? ROW_BLOCK_512 : ROW_BLOCK_2;
    const int panel_count = (n + BLK_BF16_PANEL - 1) / BLK_BF16_PANEL;
    const ptrdiff_t ps = (ptrdiff_t)k * BLK_BF16_PANEL;
    for (int i0 = 0; i0 < m; i0 += BF16_MC) {
        const int i1 = m - i0 < BF16_MC ? m : i0 + BF16_MC;
        const int mr_full = i1 - i0 < row_block ? i1 - i0 : row_block;
        /* A group is one full-height tile wide; shorter row blocks fit as many panels or more. */
        const int group = wide ? panels512(mr_full) : panels2(mr_full);
        for (int j = 0; j < panel_count; j += group) {
            const int np = panel_count - j < group ? panel_count - j : group;
            const int cols = n - BLK_BF16_PANEL * j < BLK_BF16_PANEL * np ? n - BLK_BF16_PANEL * j : BLK_BF16_PANEL * np;
            for (int p0 = 0; p0 < k; p0 += BF16_KC) {
                const int kc = k - p0 < BF16_KC ? k - p0 : BF16_KC;
                const float beta_block = p0 == 0 ? beta : 1.0f;
                const uint16_t* pj = panels + j * ps + (ptrdiff_t)p0 * BLK_BF16_PANEL;
                for (int i = i0; i < i1; i += row_block) {
                    const int mr = i1 - i < row_block ? i1 - i : row_block;
                    const float* ai = a + (ptrdiff_t)i * lda + p0;
                    float* cij = c + (ptrdiff_t)i * ldc + BLK_BF16_PANEL * j;
                    if (wide)
                        block512(mr, np, cols, kc, alpha, ai, lda, pj, ps, beta_block, cij, ldc);
                    else
                        block2(mr, np, cols, kc, alpha, ai, lda, pj, ps, beta_block, cij, ldc);
                }
            }
        }
    }
}
