/* See blaslinear_kernels.h: products with a weight stored as bfloat16, the upper 16 bits of a float32.
 * A weight element is widened in a register (a zero-extension to 32 bits and a 16-bit left shift, exact)
 * and everything else is float32: the inputs, the products, the sums and C. The tiles are those of
 * blaslinear_kernels.c (a tile of C in registers for the whole k loop, the weight read once per tile of
 * rows), with the weight's loads widened; at small batch a product reads little but the weight, so half
 * the bytes is close to half the time.
 *
 * AVX-512 tiles take 16 lanes, AVX2 tiles 8 with half the registers (smaller tiles). Ragged edges use
 * masked loads and stores with AVX-512; with AVX2, a partial vector of the weight goes through a
 * zero-padded copy on the stack and a partial dot product ends in scalar code, so nothing outside the
 * operands is read or written. */
#include "blaslinear_kernels.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define BF_TARGET512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define BF_TARGET2 __attribute__((target("avx2,fma")))
#define BF_INLINE512 static inline __attribute__((always_inline)) BF_TARGET512
#define BF_INLINE2 static inline __attribute__((always_inline)) BF_TARGET2
#define UNROLL _Pragma("GCC unroll 8")
#define MAX_ROWS 8
#define MAX_COLS 8
/* Rows of A per tile, AVX-512 / AVX2 (a batch up to the block is one tile: the weight is read once). */
#define ROW_BLOCK_512 8
#define ROW_BLOCK_2 4
/* The X·W form reads the weight's rows this many at a time (as blk_sgemm_ab does, for the TLB). */
#define AB_K_BLOCK 256
/* The X·Wᵀ form takes k this many at a time (see abt_loops). */
#define ABT_K_BLOCK 1024

static inline float bf16_to_float(uint16_t bits)
{
    union { uint32_t u; float f; } v = { (uint32_t)bits << 16 };
    return v.f;
}

/* ---- AVX-512 ------------------------------------------------------------------------------------- */

BF_INLINE512 __m512 widen16(const uint16_t* p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
}

BF_INLINE512 __m512 widen16_masked(__mmask16 mask, const uint16_t* p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p)), 16));
}

/* C[MR, NR] = α·A[MR, k]·B[NR, k]ᵀ + β·C: MR·NR dot products, 16 k at a time. */
BF_INLINE512 void abt_tile512(const int MR, const int NR, int k, float alpha, const float* a, ptrdiff_t lda,
                              const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __m512 acc[MAX_ROWS][MAX_COLS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++)
            acc[i][j] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 bv[MAX_COLS];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = widen16(b + j * ldb + p);
        UNROLL for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_loadu_ps(a + i * lda + p);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (p < k) {
        __mmask16 mask = (__mmask16)((1u << (k - p)) - 1u);
        __m512 bv[MAX_COLS];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = widen16_masked(mask, b + j * ldb + p);
        UNROLL for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_maskz_loadu_ps(mask, a + i * lda + p);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++) {
            float sum = alpha * _mm512_reduce_add_ps(acc[i][j]);
            float* out = c + i * ldc + j;
            *out = beta == 0.0f ? sum : sum + beta * *out;
        }
}

/* The widest NR for MR rows with MR·NR + NR + 1 ≤ 32 registers. */
static int abt_width512(int mr) { return mr <= 2 ? 6 : mr <= 4 ? 4 : 3; }

#define ABT512(MR, NR) case (MR) * 8 + (NR): abt_tile512(MR, NR, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static BF_TARGET512 void abt_block512(int mr, int nr, int k, float alpha, const float* a, ptrdiff_t lda,
                                      const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 8 + nr) {
    ABT512(1, 1) ABT512(1, 2) ABT512(1, 3) ABT512(1, 4) ABT512(1, 5) ABT512(1, 6)
    ABT512(2, 1) ABT512(2, 2) ABT512(2, 3) ABT512(2, 4) ABT512(2, 5) ABT512(2, 6)
    ABT512(3, 1) ABT512(3, 2) ABT512(3, 3) ABT512(3, 4)
    ABT512(4, 1) ABT512(4, 2) ABT512(4, 3) ABT512(4, 4)
    ABT512(5, 1) ABT512(5, 2) ABT512(5, 3)
    ABT512(6, 1) ABT512(6, 2) ABT512(6, 3)
    ABT512(7, 1) ABT512(7, 2) ABT512(7, 3)
    ABT512(8, 1) ABT512(8, 2) ABT512(8, 3)
    default: break;
    }
}

BF_INLINE512 __mmask16 lanes512(int cols, int v)
{
    int left = cols - 16 * v;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* C[MR, cols] = α·A[MR, k]·B[k, cols] + β·C, cols ≤ 16·NV: each a(i, p) broadcast against a row of B. */
BF_INLINE512 void ab_tile512(const int MR, const int NV, int cols, int k, float alpha, const float* a, ptrdiff_t lda,
                             const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __mmask16 mask[MAX_COLS];
    UNROLL for (int v = 0; v < NV; v++)
        mask[v] = lanes512(cols, v);
    __m512 acc[MAX_ROWS][MAX_COLS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++)
            acc[i][v] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        const uint16_t* row = b + p * ldb;
        __m512 bv[MAX_COLS];
        UNROLL for (int v = 0; v < NV; v++)
            bv[v] = widen16_masked(mask[v], row + 16 * v);
        UNROLL for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(a[i * lda + p]);
            UNROLL for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++) {
            float* out = c + i * ldc + 16 * v;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], out), r);
            _mm512_mask_storeu_ps(out, mask[v], r);
        }
}

#define AB_NV512(MR) ((MR) <= 2 ? 8 : (MR) <= 4 ? 5 : (MR) <= 6 ? 4 : 3)
#define AB512(MR) case MR: ab_tile512(MR, AB_NV512(MR), cols, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static BF_TARGET512 void ab_block512(int mr, int cols, int k, float alpha, const float* a, ptrdiff_t lda,
                                     const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr) {
    AB512(1) AB512(2) AB512(3) AB512(4) AB512(5) AB512(6) AB512(7) AB512(8)
    default: break;
    }
}

static int ab_vectors512(int mr) { return AB_NV512(mr); }

/* ---- AVX2 ---------------------------------------------------------------------------------------- */

BF_INLINE2 __m256 widen8(const uint16_t* p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}

/* The first n (< 8) elements at p, the rest zero, without reading past p + n. */
BF_INLINE2 __m256 widen8_partial(const uint16_t* p, int n)
{
    uint16_t copy[8] = { 0 };
    for (int i = 0; i < n; i++)
        copy[i] = p[i];
    return widen8(copy);
}

BF_INLINE2 float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

BF_INLINE2 void abt_tile2(const int MR, const int NR, int k, float alpha, const float* a, ptrdiff_t lda,
                          const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __m256 acc[MAX_ROWS][MAX_COLS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++)
            acc[i][j] = _mm256_setzero_ps();
    int p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 bv[MAX_COLS];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = widen8(b + j * ldb + p);
        UNROLL for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_loadu_ps(a + i * lda + p);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++) {
            float dot = hsum8(acc[i][j]);
            for (int q = p; q < k; q++)
                dot += a[i * lda + q] * bf16_to_float(b[j * ldb + q]);
            float sum = alpha * dot;
            float* out = c + i * ldc + j;
            *out = beta == 0.0f ? sum : sum + beta * *out;
        }
}

/* MR·NR + NR + 1 ≤ 16 registers. */
static int abt_width2(int mr) { return mr <= 1 ? 6 : mr <= 2 ? 4 : mr <= 3 ? 3 : 2; }

#define ABT2(MR, NR) case (MR) * 8 + (NR): abt_tile2(MR, NR, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static BF_TARGET2 void abt_block2(int mr, int nr, int k, float alpha, const float* a, ptrdiff_t lda,
                                  const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 8 + nr) {
    ABT2(1, 1) ABT2(1, 2) ABT2(1, 3) ABT2(1, 4) ABT2(1, 5) ABT2(1, 6)
    ABT2(2, 1) ABT2(2, 2) ABT2(2, 3) ABT2(2, 4)
    ABT2(3, 1) ABT2(3, 2) ABT2(3, 3)
    ABT2(4, 1) ABT2(4, 2)
    default: break;
    }
}

BF_INLINE2 __m256i lanes2(int left)
{
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), index);
}

BF_INLINE2 void ab_tile2(const int MR, const int NV, int cols, int k, float alpha, const float* a, ptrdiff_t lda,
                         const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __m256 acc[MAX_ROWS][MAX_COLS];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++)
            acc[i][v] = _mm256_setzero_ps();
    /* Only the last vector can be partial; a vector wholly past cols stays zero and is never stored. */
    const int full = cols / 8, tail = cols % 8;
    for (int p = 0; p < k; p++) {
        const uint16_t* row = b + p * ldb;
        __m256 bv[MAX_COLS];
        UNROLL for (int v = 0; v < NV; v++)
            bv[v] = v < full ? widen8(row + 8 * v) : v == full && tail ? widen8_partial(row + 8 * v, tail) : _mm256_setzero_ps();
        UNROLL for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(a + i * lda + p);
            UNROLL for (int v = 0; v < NV; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++) {
            if (v > full || (v == full && !tail))
                continue;
            float* out = c + i * ldc + 8 * v;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (v < full) {
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(out), r);
                _mm256_storeu_ps(out, r);
            } else {
                __m256i mask = lanes2(tail);
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(out, mask), r);
                _mm256_maskstore_ps(out, mask, r);
            }
        }
}

#define AB_NV2(MR) ((MR) <= 1 ? 6 : (MR) <= 2 ? 4 : (MR) <= 3 ? 3 : 2)
#define AB2(MR) case MR: ab_tile2(MR, AB_NV2(MR), cols, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static BF_TARGET2 void ab_block2(int mr, int cols, int k, float alpha, const float* a, ptrdiff_t lda,
                                 const uint16_t* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr) {
    AB2(1) AB2(2) AB2(3) AB2(4)
    default: break;
    }
}

static int ab_vectors2(int mr) { return AB_NV2(mr); }

/* ---- the loops over tiles, one per form, the ISA's tile chosen by a flag ------------------------- */

static void abt_panel(int wide, int m, int n, int k, float alpha, const float* a, int lda,
                      const uint16_t* b, int ldb, float beta, float* c, int ldc);

static void abt_loops(int wide, int m, int n, int k, float alpha, const float* a, int lda,
                      const uint16_t* b, int ldb, float beta, float* c, int ldc)
{
    /* k in blocks of ABT_K_BLOCK, so that a row block of A (8 rows × 4 KiB) stays in L1 while the whole
     * weight's stretch of those columns streams past; later blocks add to C (β = 1). Within a block, B's
     * rows in blocks of the widest NR, and for each every row block of A; a short last row block may take
     * a wider tile. */
    for (int p0 = 0; p0 < k; p0 += ABT_K_BLOCK) {
        const int kb = k - p0 < ABT_K_BLOCK ? k - p0 : ABT_K_BLOCK;
        abt_panel(wide, m, n, kb, alpha, a + p0, lda, b + p0, ldb, p0 == 0 ? beta : 1.0f, c, ldc);
    }
}

static void abt_panel(int wide, int m, int n, int k, float alpha, const float* a, int lda,
                      const uint16_t* b, int ldb, float beta, float* c, int ldc)
{
    const int row_block = wide ? ROW_BLOCK_512 : ROW_BLOCK_2;
    const int mr_full = m < row_block ? m : row_block;
    const int nr_full = wide ? abt_width512(mr_full) : abt_width2(mr_full);
    for (int j = 0; j < n; j += nr_full) {
        const int nr = n - j < nr_full ? n - j : nr_full;
        for (int i = 0; i < m; i += row_block) {
            const int mr = m - i < row_block ? m - i : row_block;
            const int width = wide ? abt_width512(mr) : abt_width2(mr);
            for (int jj = 0; jj < nr; jj += width) {
                const int cols = nr - jj < width ? nr - jj : width;
                const float* ai = a + (ptrdiff_t)i * lda;
                const uint16_t* bj = b + (ptrdiff_t)(j + jj) * ldb;
                float* cij = c + (ptrdiff_t)i * ldc + j + jj;
                if (wide)
                    abt_block512(mr, cols, k, alpha, ai, lda, bj, ldb, beta, cij, ldc);
                else
                    abt_block2(mr, cols, k, alpha, ai, lda, bj, ldb, beta, cij, ldc);
            }
        }
    }
}

static void ab_loops(int wide, int m, int n, int k, float alpha, const float* a, int lda,
                     const uint16_t* b, int ldb, float beta, float* c, int ldc)
{
    /* As blk_sgemm_ab: B's rows AB_K_BLOCK at a time, column panels of one full-height tile's width, every
     * row block of A down each panel; blocks after the first add to C. */
    const int row_block = wide ? ROW_BLOCK_512 : ROW_BLOCK_2;
    const int lanes = wide ? 16 : 8;
    const int mr_full = m < row_block ? m : row_block;
    const int panel = lanes * (wide ? ab_vectors512(mr_full) : ab_vectors2(mr_full));
    for (int p0 = 0; p0 < k; p0 += AB_K_BLOCK) {
        const int kb = k - p0 < AB_K_BLOCK ? k - p0 : AB_K_BLOCK;
        const float beta_block = p0 == 0 ? beta : 1.0f;
        const uint16_t* b_block = b + (ptrdiff_t)p0 * ldb;
        for (int j = 0; j < n; j += panel) {
            const int width = n - j < panel ? n - j : panel;
            for (int i = 0; i < m; i += row_block) {
                const int mr = m - i < row_block ? m - i : row_block;
                const int step = lanes * (wide ? ab_vectors512(mr) : ab_vectors2(mr));
                for (int jj = 0; jj < width; jj += step) {
                    const int cols = width - jj < step ? width - jj : step;
                    const float* ai = a + (ptrdiff_t)i * lda + p0;
                    float* cij = c + (ptrdiff_t)i * ldc + j + jj;
                    if (wide)
                        ab_block512(mr, cols, kb, alpha, ai, lda, b_block + j + jj, ldb, beta_block, cij, ldc);
                    else
                        ab_block2(mr, cols, kb, alpha, ai, lda, b_block + j + jj, ldb, beta_block, cij, ldc);
                }
            }
        }
    }
}

/* ---- entry points -------------------------------------------------------------------------------- */

void blk_sgemm_abt_bf16(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                        const uint16_t* b, int ldb, float beta, float* c, int ldc)
{
    abt_loops(isa == BLK_ISA_AVX512, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blk_sgemm_ab_bf16(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                       const uint16_t* b, int ldb, float beta, float* c, int ldc)
{
    ab_loops(isa == BLK_ISA_AVX512, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
