/* See blaslinear_kernels.h: products with a prepared weight in panels of BLK_PANEL columns, float32
 * (blk_sgemm_panels) or bfloat16, the upper 16 bits of a float32 (blk_sgemm_bf16_panels). A bfloat16 element is
 * widened in a register (a zero-extension to 32 bits and a 16-bit left shift, exact); everything else is
 * float32: the inputs, the products, the sums and C.
 *
 * Panel j holds columns [16j, 16j + 16) of op(W) [k, n] as k rows of 16 contiguous elements, so a tile of C
 * reads each of its panels as one sequential stream (the hardware prefetchers follow it, and no row of a
 * 4096-wide weight is cut into short stretches) and one row of a panel is exactly one vector load. A tile
 * of C (MR rows × NP panels) stays in registers while k runs; each a(i, p) is broadcast against the
 * tile's NP vectors of row p.
 *
 * Loops: rows of A in blocks of PANELS_MC (A's block stays in L2), panels in groups of one full tile's width,
 * k in blocks of PANELS_KC (a group's block of panels, 48 KiB of float32 at most, stays in L1/L2 while every
 * row block of A passes), rows of A in tiles. The blocking does not depend on m: a row of C is summed in the
 * same order whatever the batch, so a row gives the same bits alone or in a batch (and on any slice of
 * columns).
 *
 * AVX-512 tiles take 16 lanes (a panel row is one vector), AVX2 tiles 8 (two vectors a panel row, half the
 * registers, smaller tiles). Padding columns of the last panel are read and multiplied but never stored.
 * The tiles and loops are written once (blaslinear_kernels_panels.inc) and built for each element type. */
#include "blaslinear_kernels.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define PANELS_TARGET512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define PANELS_TARGET2 __attribute__((target("avx2,fma")))
#define PANELS_INLINE512 static inline __attribute__((always_inline)) PANELS_TARGET512
#define PANELS_INLINE2 static inline __attribute__((always_inline)) PANELS_TARGET2
#define UNROLL _Pragma("GCC unroll 16")
#define MAX_ROWS 8
#define MAX_VECTORS 8
/* k per block: a full AVX-512 tile's panels (3 × 16 columns × 256) are 48 KiB of float32, 24 KiB of bfloat16. */
#define PANELS_KC 256
/* Rows of A per block: 128 rows × PANELS_KC × 4 bytes = 128 KiB, within L2. */
#define PANELS_MC 128
/* AVX-512 tiles of PANELS_PREFETCH_FROM_MR rows or more (AVX2: PANELS_PREFETCH_FROM_MR_2, its full 4-row tile)
 * prefetch each panel PANELS_PREFETCH_ROWS rows ahead into L2
 * (8 KiB of float32, two pages; a panel is one sequential stream, but the hardware prefetchers stop at each
 * page, and three panels a tile stream at once). With the weight from memory, measured on a Zen 4 (4096 × 4096
 * and 11008 × 4096, two threads): 1.15–1.3 times at m = 8, 1.1–1.2 at 16 and 32, bfloat16 1.1 at 8. From cache
 * unchanged within noise at m ≥ 5; tiles of fewer rows do not (at 2–4 rows from cache 3072 × 768 ran 0.83–0.96
 * times with it; one row reads at the memory's rate without it). AVX2 from memory: 1.15–1.4 times at m = 4–32,
 * bfloat16 1.4 at 8; from cache within ±10 % noise either way. docs/cpu-routes.md, "Prepared weights". */
#define PANELS_PREFETCH_FROM_MR 5
#define PANELS_PREFETCH_FROM_MR_2 4
#define PANELS_PREFETCH_ROWS 128
/* Rows of A per tile, AVX-512 / AVX2. */
#define ROW_BLOCK_512 8
#define ROW_BLOCK_2 4

/* Sixteen (eight) bfloat16 widened to float32. */
PANELS_INLINE512 __m512 widen16(const uint16_t* p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
}

PANELS_INLINE2 __m256 widen8(const uint16_t* p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}

PANELS_INLINE512 __mmask16 lanes512(int cols, int v)
{
    int left = cols - 16 * v;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* Lanes [0, left) of a vector, as a maskload/maskstore mask. */
PANELS_INLINE2 __m256i lanes2(int left)
{
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), index);
}

/* Panels per tile for MR rows, AVX-512: MR·NP accumulators + NP panel vectors + 1 broadcast ≤ 32 registers.
 * One or two rows take few_rows panels, set per element type below: at one or two rows a tile does little
 * but read its panels, one stream each, and float32 panels read from L3 ran faster as 4 streams than as 8
 * (1024 × 1024 split over two threads: 2–5 % at one row, 10 % at two; equal from memory), while bfloat16
 * panels (half the bytes a stream, from L2 at 1024 × 1024) ran 5 % faster as 8 (docs/cpu-routes.md). */
static int panels512(int mr, int few_rows) { return mr <= 2 ? few_rows : mr <= 4 ? 6 : mr <= 6 ? 4 : 3; }

/* Panels per tile for MR rows, AVX2: 2·MR·NP accumulators + 2·NP panel vectors + 1 broadcast ≤ 16 registers,
 * and 8 accumulators at most (wider tiles spilled and ran at half the speed: docs/cpu-routes.md). */
static int panels2(int mr) { return mr <= 1 ? 3 : mr <= 2 ? 2 : 1; }

#define PANEL_T float
#define LOAD16(p) _mm512_loadu_ps(p)
#define LOAD8(p) _mm256_loadu_ps(p)
#define FEW_ROWS_PANELS 4
#define SUFFIX f32
#include "blaslinear_kernels_panels.inc"
#undef PANEL_T
#undef LOAD16
#undef LOAD8
#undef FEW_ROWS_PANELS
#undef SUFFIX

#define PANEL_T uint16_t
#define LOAD16(p) widen16(p)
#define LOAD8(p) widen8(p)
#define FEW_ROWS_PANELS 8
#define SUFFIX bf16
#include "blaslinear_kernels_panels.inc"

void blk_sgemm_panels(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                      const float* panels, float beta, const float* bias, float* c, int ldc)
{
    panels_loops_f32(isa == BLK_ISA_AVX512, m, n, k, alpha, a, lda, panels, beta, bias, c, ldc);
}

void blk_sgemm_bf16_panels(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                           const uint16_t* panels, float beta, const float* bias, float* c, int ldc)
{
    panels_loops_bf16(isa == BLK_ISA_AVX512, m, n, k, alpha, a, lda, panels, beta, bias, c, ldc);
}
