/* See blaslinear_kernels.h. This file holds the AVX-512 code path and the entry points;
 * blaslinear_kernels_avx2.c holds the AVX2 path, the same tiles cut for 16 ymm registers. Both kernels keep a tile of C in registers for the whole k loop, so each
 * element of the weight operand is loaded once per tile of rows and never packed:
 *
 *   blk_sgemm_abt  (X·Wᵀ with W[N,K]):  MR rows of A × NR rows of B, 16 k at a time, MR·NR vector
 *                 accumulators reduced to scalars at the end;
 *   blk_sgemm_ab   (X·W with W[K,N]) and
 *   blk_sgemm_atb  (Xᵀ·dY, weight gradients): MR rows of C × NV·16 columns, one k at a time, each
 *                 element of op(A) broadcast against NV vectors of a row of B (one tile code, op_ab_*).
 *
 * The tile shapes are compile-time constants (each instantiated through a switch) so that the
 * accumulators stay in the 32 vector registers: MR·NR + NR + 1 ≤ 32 and MR·NV + NV + 1 ≤ 32 (up to
 * 8 rows: a batch of 8 is one tile, so each row of the weight is loaded once). Ragged
 * edges use masked loads and stores, which never touch memory outside the operands.
 *
 * Every function runs on the calling thread only: the managed side (CpuWorkers.cs) splits a product
 * over the columns of C (the rows of C for Aᵀ·B) and gives each of its threads one slice, so that every
 * thread streams its own part of the weight (or of the gradient) and BlasLinear runs one pool of threads
 * whose spinning it controls. */
#include "blaslinear_kernels_isa.h"

#include <immintrin.h>
#include <stddef.h>

#define BLK_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define BLK_INLINE static inline __attribute__((always_inline)) BLK_TARGET
/* The tile loops have compile-time bounds; unrolled, every accumulator index is a constant and the
 * fixed-size arrays below become registers (a bound used as an array extent would make them VLAs). */
#define UNROLL _Pragma("GCC unroll 8")
#define ABT_MAX_MR 8
#define ABT_MAX_NR 6
#define OPAB_MAX_MR 8
#define OPAB_MAX_NV 8
/* Rows of A per tile in blk_sgemm_abt and blk_sgemm_ab: a batch of up to 8 is one tile, so each
 * element of the weight is loaded once per call. */
#define ABT_ROW_BLOCK 8
#define AB_ROW_BLOCK 8
/* blk_sgemm_ab reads the weight's rows this many at a time (see blk_sgemm_ab). */
#define AB_K_BLOCK 256
/* One row of X (m = 1) times a slice of the weight of at least AB_STREAM_FROM floats (8 MiB, which is
 * read from memory rather than from cache): the weight's rows streamed AB_STREAM_ROWS at a time (see
 * ab_stream). Below it the register tiles are faster (the weight comes from cache). Far above the
 * products CpuRouteTable keeps on one thread, so those give the same bits in a batch of any size. */
#define AB_STREAM_ROWS 8
#define AB_STREAM_FROM (1L << 21)
/* blk_sgemm_atb: tiles of 6 rows of C, walked left to right; up to ATB_ROWS_UP_TO_K (a batch of one or two),
 * atb_rows. */
#define ATB_ROW_BLOCK 6
#define ATB_ROWS_UP_TO_K 2

int blk_cpu_isa(void)
{
    __builtin_cpu_init();
    /* __builtin_cpu_supports also asks the OS (XGETBV) whether it saves the ymm or zmm state. AVX-512 asks
     * for AVX2 too, so that a CPU that runs the AVX-512 path runs the AVX2 one (callers may choose it). */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
        return BLK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return BLK_ISA_AVX2;
    return BLK_ISA_NONE;
}

/* ---- NT: dot products ------------------------------------------------------------------------ */

/* Keeps v in a register: without it the compiler folds a load used by several FMAs into each of them, so a
 * row of A in an 8 × 3 tile was loaded 3 times (27 loads for 24 FMAs). Measured 1.4–1.8 times faster at m = 8,
 * 1.2 at m = 16 (AVX2: 1.0–1.16), same bits (docs/cpu-routes.md). */
BLK_INLINE void in_register(__m512* v) { __asm__("" : "+v"(*v)); }

BLK_INLINE void abt_tile(const int MR, const int NR, int k, float alpha, const float* a, ptrdiff_t lda,
                        const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __m512 acc[ABT_MAX_MR][ABT_MAX_NR];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++)
            acc[i][j] = _mm512_setzero_ps();

    int p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 bv[ABT_MAX_NR];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = _mm512_loadu_ps(b + j * ldb + p);
        UNROLL for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_loadu_ps(a + i * lda + p);
            in_register(&av);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (p < k) {
        __mmask16 mask = (__mmask16)((1u << (k - p)) - 1u);
        __m512 bv[ABT_MAX_NR];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = _mm512_maskz_loadu_ps(mask, b + j * ldb + p);
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

/* The widest NR for MR rows that keeps the tile in registers. */
static int abt_width(int mr) { return mr <= 2 ? 6 : mr <= 4 ? 4 : 3; }

#define ABT_CASE(MR, NR) case (MR) * 8 + (NR): abt_tile(MR, NR, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static BLK_TARGET void abt_block(int mr, int nr, int k, float alpha, const float* a, ptrdiff_t lda,
                                const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 8 + nr) {
    ABT_CASE(1, 1) ABT_CASE(1, 2) ABT_CASE(1, 3) ABT_CASE(1, 4) ABT_CASE(1, 5) ABT_CASE(1, 6)
    ABT_CASE(2, 1) ABT_CASE(2, 2) ABT_CASE(2, 3) ABT_CASE(2, 4) ABT_CASE(2, 5) ABT_CASE(2, 6)
    ABT_CASE(3, 1) ABT_CASE(3, 2) ABT_CASE(3, 3) ABT_CASE(3, 4)
    ABT_CASE(4, 1) ABT_CASE(4, 2) ABT_CASE(4, 3) ABT_CASE(4, 4)
    ABT_CASE(5, 1) ABT_CASE(5, 2) ABT_CASE(5, 3)
    ABT_CASE(6, 1) ABT_CASE(6, 2) ABT_CASE(6, 3)
    ABT_CASE(7, 1) ABT_CASE(7, 2) ABT_CASE(7, 3)
    ABT_CASE(8, 1) ABT_CASE(8, 2) ABT_CASE(8, 3)
    default: break;
    }
}

static BLK_TARGET void avx512_sgemm_abt(int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc)
{
    /* Rows of A in blocks of ABT_ROW_BLOCK (a small m takes one block with a wider NR); B's rows in blocks of NR. */
    const int mr_full = m < ABT_ROW_BLOCK ? m : ABT_ROW_BLOCK;
    const int nr_full = abt_width(mr_full);
    const int blocks = (n + nr_full - 1) / nr_full;
    for (int block = 0; block < blocks; block++) {
        const int j = block * nr_full;
        const int nr = n - j < nr_full ? n - j : nr_full;
        for (int i = 0; i < m; i += ABT_ROW_BLOCK) {
            const int mr = m - i < ABT_ROW_BLOCK ? m - i : ABT_ROW_BLOCK;
            const int width = abt_width(mr);
            /* A short last row block may allow a wider tile than nr_full; walk this block's columns in it. */
            for (int jj = 0; jj < nr; jj += width) {
                const int cols = nr - jj < width ? nr - jj : width;
                abt_block(mr, cols, k, alpha, a + (ptrdiff_t)i * lda, lda, b + (ptrdiff_t)(j + jj) * ldb, ldb,
                         beta, c + (ptrdiff_t)i * ldc + j + jj, ldc);
            }
        }
    }
}

/* ---- op(A)·B: broadcasts ---------------------------------------------------------------------------- */

BLK_INLINE __mmask16 lane_mask(int cols, int v)
{
    int left = cols - 16 * v;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* a(i, p) = a[i·si + p·sp]: si = lda, sp = 1 for A[m,k]; si = 1, sp = lda for A[k,m]ᵀ. FULL: cols = 16·NV, and
 * B and C are read and written with plain loads and stores instead of all-ones masks (same values). */
BLK_INLINE void op_ab_tile(const int MR, const int NV, const int FULL, const int PF, int cols, int k, float alpha,
                        const float* a, ptrdiff_t si, ptrdiff_t sp, const float* b, ptrdiff_t ldb,
                        float beta, float* c, ptrdiff_t ldc)
{
    __mmask16 mask[OPAB_MAX_NV];
    UNROLL for (int v = 0; v < NV; v++)
        mask[v] = lane_mask(cols, v);

    __m512 acc[OPAB_MAX_MR][OPAB_MAX_NV];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++)
            acc[i][v] = _mm512_setzero_ps();

    for (int p = 0; p < k; p++) {
        const float* brow = b + p * ldb;
        if (PF)
            UNROLL for (int v = 0; v < NV; v++)
                _mm_prefetch((const char*)(brow + PF * ldb + 16 * v), _MM_HINT_T1);
        __m512 bv[OPAB_MAX_NV];
        UNROLL for (int v = 0; v < NV; v++)
            bv[v] = FULL ? _mm512_loadu_ps(brow + 16 * v) : _mm512_maskz_loadu_ps(mask[v], brow + 16 * v);
        UNROLL for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(a[i * si + p * sp]);
            UNROLL for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }

    /* α = β = 1 (a gradient accumulated) takes one add: the same value as α·acc + β·C, since 1·acc is exact and
     * the FMA rounds once. The multiply and FMA cost Aᵀ·B up to 1.1 times at k = 8 (docs/cpu-routes.md). */
    const int add = alpha == 1.0f && beta == 1.0f;
    const __m512 va = _mm512_set1_ps(alpha);
    const __m512 vb = _mm512_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++) {
            float* out = c + i * ldc + 16 * v;
            __m512 r;
            if (add)
                r = _mm512_add_ps(acc[i][v], FULL ? _mm512_loadu_ps(out) : _mm512_maskz_loadu_ps(mask[v], out));
            else {
                r = _mm512_mul_ps(va, acc[i][v]);
                if (beta != 0.0f)
                    r = _mm512_fmadd_ps(vb, FULL ? _mm512_loadu_ps(out) : _mm512_maskz_loadu_ps(mask[v], out), r);
            }
            if (FULL)
                _mm512_storeu_ps(out, r);
            else
                _mm512_mask_storeu_ps(out, mask[v], r);
        }
}


/* Full tiles of this many rows or more use plain loads and stores (FULL): measured faster there (A·B at m = 8
 * from memory 2.2 times, Aᵀ·B at k = 4 and 8 1.2–1.8 times but for 1024 × 1024, 0.9), and slower in tiles of
 * up to 4 rows (A·B at m = 1 and 2, 0.8–0.85); docs/cpu-routes.md. */
#define OPAB_PLAIN_FROM_MR 5
/* blk_sgemm_ab's tiles of AB_PREFETCH_FROM_MR rows or more prefetch B (the weight) AB_PREFETCH_ROWS rows ahead into
 * L2 (OPAB_TILE; the three are in blaslinear_kernels_isa.h, shared with the AVX2 path). A
 * column panel walks down the weight's rows at a stride of ldb, one short stretch per row, which the hardware
 * prefetchers do not follow across pages: a weight that was not in cache (a backward's dX after the weight
 * gradient's pass evicted it) arrived about one row's latency at a time. Into L2, not L1: rows 4 KiB apart map to
 * one set of L1, and prefetching there evicted the rows in use (1024 × 1024 on AVX2, 4096 × 4096 on AVX-512 ran
 * 10–35 % slower with it; into L2 they gain). Measured on a Zen 4 (docs/cpu-routes.md, "A·B: the weight
 * prefetched"), weight from memory: 1.5–1.6 times at m = 4, 1.05–1.25 at m = 8 and 16; 4096 × 4096 1.2–1.5 times;
 * from cache unchanged within noise. Tiles of one or two rows do not (slower from cache: they have more loads per
 * FMA). A prefetch never faults, so rows past the end of a block or of B need no test. */
/* The rows a batch leaves under AB_ROW_BLOCK (m = 9 leaves 1) run over the full block's column panel of
 * 16·OPAB_NV(AB_ROW_BLOCK) columns: their own tile's width (8 vectors for one row) would be masked down to it,
 * FMAs on all-off lanes included. That tile is as wide as the panel: A·B at m = 9–12 1.15–1.8 times (m = 8 and 15,
 * whose tiles fit the panel, unchanged; same operations per element, so the same bits). */
#define OPAB_CASE(MR)                                                                                      \
    case MR:                                                                                               \
        if ((MR) >= OPAB_PLAIN_FROM_MR && cols == 16 * OPAB_NV(MR))                                        \
            OPAB_TILE(MR, OPAB_NV(MR), 1);                                                                 \
        else if ((MR) < AB_ROW_BLOCK && cols == 16 * OPAB_NV(AB_ROW_BLOCK))                                 \
            OPAB_TILE(MR, OPAB_NV(AB_ROW_BLOCK), (MR) >= OPAB_PLAIN_FROM_MR);                              \
        else                                                                                               \
            OPAB_TILE(MR, OPAB_NV(MR), 0);                                                                 \
        break;
#define OPAB_NV(MR) ((MR) <= 2 ? 8 : (MR) <= 4 ? 5 : (MR) <= 6 ? 4 : 3)
/* The widest tile for MR rows, for the loops; the switch below needs the macro's constant form. */
static int op_ab_vectors(int mr) { return OPAB_NV(mr); }

/* prefetch_b: B is the weight (blk_sgemm_ab), not the batch's few rows (blk_sgemm_atb). */
static BLK_TARGET void op_ab_block(int mr, int cols, int k, float alpha, const float* a, ptrdiff_t si, ptrdiff_t sp,
                                const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc, int prefetch_b)
{
    switch (mr) {
    OPAB_CASE(1) OPAB_CASE(2) OPAB_CASE(3) OPAB_CASE(4) OPAB_CASE(5) OPAB_CASE(6) OPAB_CASE(7) OPAB_CASE(8)
    default: break;
    }
}

/* Aᵀ·B at k ≤ ATB_ROWS_UP_TO_K (a batch of one or two): C one row at a time, 64 columns a step, in one loop,
 * so C is read and written as one sequential stream (a slice's rows are contiguous) where 6-row tiles make 6
 * short ones, and no tile is set up per 64 columns: at such k a tile has only a few operations per element of
 * C, and the switch, masks and zeroing of op_ab_block's tiles cost as much. Measured 1.1–1.8 times the 6-row
 * tiles at k = 1 and 1.1–1.3 at k = 2 (AVX2: 1.4 and 1.2; docs/cpu-routes.md). Each element gets the operations
 * of op_ab_tile in the same order (a sum from zero over p, then α, then β·C), so the bits are the same. */
static BLK_TARGET void atb_rows(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                                float beta, float* c, int ldc)
{
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < m; i++) {
        float* ci = c + (ptrdiff_t)i * ldc;
        int j = 0;
        for (; j + 64 <= n; j += 64) {
            __m512 acc[4];
            UNROLL for (int v = 0; v < 4; v++)
                acc[v] = _mm512_setzero_ps();
            for (int p = 0; p < k; p++) {
                const __m512 av = _mm512_set1_ps(a[i + (ptrdiff_t)p * lda]);
                const float* bp = b + (ptrdiff_t)p * ldb + j;
                UNROLL for (int v = 0; v < 4; v++)
                    acc[v] = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 16 * v), acc[v]);
            }
            UNROLL for (int v = 0; v < 4; v++) {
                __m512 r = _mm512_mul_ps(va, acc[v]);
                if (beta != 0.0f)
                    r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + j + 16 * v), r);
                _mm512_storeu_ps(ci + j + 16 * v, r);
            }
        }
        for (; j < n; j += 16) {
            const __mmask16 mask = lane_mask(n - j, 0);
            __m512 acc = _mm512_setzero_ps();
            for (int p = 0; p < k; p++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(a[i + (ptrdiff_t)p * lda]),
                                      _mm512_maskz_loadu_ps(mask, b + (ptrdiff_t)p * ldb + j), acc);
            __m512 r = _mm512_mul_ps(va, acc);
            if (beta != 0.0f)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci + j), r);
            _mm512_mask_storeu_ps(ci + j, mask, r);
        }
    }
}

static BLK_TARGET void avx512_sgemm_atb(int m, int n, int k, float alpha, const float* a, int lda,
                   const float* b, int ldb, float beta, float* c, int ldc)
{
    /* Aᵀ·B, the weight gradient: C is the large matrix and the batch is k; a(i, p) = a[i + p·lda]. Blocks
     * of ATB_ROW_BLOCK rows of C, left to right, so that C is read and written as ATB_ROW_BLOCK streams of
     * whole rows. (Walking down a strip of columns instead stores a tile and then loads B at the same
     * offset within a 4 KiB page, a false store-to-load dependency when rows are 4 KiB apart: measured
     * 1.7 times slower at k = 1 and 1.4 times at k = 8, 1024×1024, one thread.) At k ≤ ATB_ROWS_UP_TO_K,
     * atb_rows. */
    if (k <= ATB_ROWS_UP_TO_K) {
        atb_rows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    const int prefetch_c = atb_prefetches_c(m, n);
    for (int i = 0; i < m; i += ATB_ROW_BLOCK) {
        const int mr = m - i < ATB_ROW_BLOCK ? m - i : ATB_ROW_BLOCK;
        const int step = 16 * op_ab_vectors(mr);
        int j = 0;
        /* Full tiles inline, not through op_ab_block: at a batch of 8 a tile is only about 200 FMAs, and the call
         * and switch per tile cost Aᵀ·B 1.1–1.2 times (docs/cpu-routes.md). The tile op_ab_block would choose. */
        _Static_assert(ATB_ROW_BLOCK >= OPAB_PLAIN_FROM_MR, "op_ab_block runs a full tile of these rows unmasked");
        if (mr == ATB_ROW_BLOCK)
            for (; j + step <= n; j += step) {
                if (prefetch_c)
                    atb_prefetch_c(c, ldc, m, n, i, j, ATB_ROW_BLOCK, step);
                op_ab_tile(ATB_ROW_BLOCK, OPAB_NV(ATB_ROW_BLOCK), 1, 0, step, k, alpha, a + i, 1, lda, b + j, ldb, beta,
                           c + (ptrdiff_t)i * ldc + j, ldc);
            }
        for (; j < n; j += step) {
            const int cols = n - j < step ? n - j : step;
            op_ab_block(mr, cols, k, alpha, a + i, 1, lda, b + j, ldb, beta, c + (ptrdiff_t)i * ldc + j, ldc, 0);
        }
    }
}

/* One row of X times W, W streamed: c[0, :] = α·Σ_p a[p]·B[p, :] + β·c. B's rows are read AB_STREAM_ROWS
 * at a time, each over the whole width of this slice, so that the weight is read as a few long
 * sequential streams (the hardware prefetchers follow them), and c, one row, stays in L1 between groups. */
BLK_INLINE void ab_stream_group(const int G, int n, const float* x, const float* b, ptrdiff_t ldb,
                                float scale, float* c)
{
    /* scale: 0 for the first group when β = 0 (c is never read), β for the first group, 1 after it. */
    __m512 xv[AB_STREAM_ROWS];
    const float* row[AB_STREAM_ROWS];
    UNROLL for (int q = 0; q < G; q++) {
        xv[q] = _mm512_set1_ps(x[q]);
        row[q] = b + q * ldb;
    }
    const __m512 vs = _mm512_set1_ps(scale);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 acc = scale == 0.0f ? _mm512_setzero_ps()
                   : scale == 1.0f ? _mm512_loadu_ps(c + j) : _mm512_mul_ps(vs, _mm512_loadu_ps(c + j));
        UNROLL for (int q = 0; q < G; q++)
            acc = _mm512_fmadd_ps(xv[q], _mm512_loadu_ps(row[q] + j), acc);
        _mm512_storeu_ps(c + j, acc);
    }
    if (j < n) {
        const __mmask16 mask = lane_mask(n - j, 0);
        __m512 acc = scale == 0.0f ? _mm512_setzero_ps() : _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(mask, c + j));
        UNROLL for (int q = 0; q < G; q++)
            acc = _mm512_fmadd_ps(xv[q], _mm512_maskz_loadu_ps(mask, row[q] + j), acc);
        _mm512_mask_storeu_ps(c + j, mask, acc);
    }
}

static BLK_TARGET void ab_stream(int n, int k, float alpha, const float* a, const float* b, ptrdiff_t ldb,
                                 float beta, float* c)
{
    float x[AB_STREAM_ROWS];
    for (int p = 0; p < k; p += AB_STREAM_ROWS) {
        const int g = k - p < AB_STREAM_ROWS ? k - p : AB_STREAM_ROWS;
        for (int q = 0; q < g; q++)
            x[q] = alpha * a[p + q];
        const float scale = p == 0 ? beta : 1.0f;
        const float* rows = b + (ptrdiff_t)p * ldb;
        if (g == AB_STREAM_ROWS)
            ab_stream_group(AB_STREAM_ROWS, n, x, rows, ldb, scale, c);
        else
            for (int q = 0; q < g; q++)
                ab_stream_group(1, n, x + q, rows + (ptrdiff_t)q * ldb, ldb, q == 0 ? scale : 1.0f, c);
    }
}

static BLK_TARGET void avx512_sgemm_ab(int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc)
{
    /* X·W: B (the weight) is the large matrix; a(i, p) = a[i·lda + p]. A batch of up to AB_ROW_BLOCK
     * rows of X is one tile, so each element of B is loaded once per call. B's rows are taken AB_K_BLOCK
     * at a time: a column panel reads a short stretch of each row, and with all of K at once a
     * 4096-wide weight would touch 4096 pages per panel; a block's pages stay in the TLB while its
     * panels are read. Later blocks add to C (β = 1). */
    if (m == 1 && (long)n * k >= AB_STREAM_FROM) {
        ab_stream(n, k, alpha, a, b, ldb, beta, c);
        return;
    }
    const int mr_full = m < AB_ROW_BLOCK ? m : AB_ROW_BLOCK;
    const int panel = 16 * op_ab_vectors(mr_full);
    for (int p0 = 0; p0 < k; p0 += AB_K_BLOCK) {
        const int kb = k - p0 < AB_K_BLOCK ? k - p0 : AB_K_BLOCK;
        const float beta_block = p0 == 0 ? beta : 1.0f;
        const float* b_block = b + (ptrdiff_t)p0 * ldb;
        for (int j = 0; j < n; j += panel) {
            const int width = n - j < panel ? n - j : panel;
            for (int i = 0; i < m; i += AB_ROW_BLOCK) {
                const int mr = m - i < AB_ROW_BLOCK ? m - i : AB_ROW_BLOCK;
                const int step = 16 * op_ab_vectors(mr);
                for (int jj = 0; jj < width; jj += step) {
                    const int cols = width - jj < step ? width - jj : step;
                    op_ab_block(mr, cols, kb, alpha, a + (ptrdiff_t)i * lda + p0, lda, 1, b_block + j + jj, ldb,
                                beta_block, c + (ptrdiff_t)i * ldc + j + jj, ldc, 1);
                }
            }
        }
    }
}

/* ---- entry points: the code path for the ISA the caller chose (AVX2: blaslinear_kernels_avx2.c) ---- */

void blk_sgemm_abt(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                   const float* b, int ldb, float beta, float* c, int ldc)
{
    if (isa == BLK_ISA_AVX2)
        avx2_sgemm_abt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        avx512_sgemm_abt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blk_sgemm_ab(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc)
{
    if (isa == BLK_ISA_AVX2)
        avx2_sgemm_ab(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        avx512_sgemm_ab(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blk_sgemm_atb(int isa, int m, int n, int k, float alpha, const float* a, int lda,
                   const float* b, int ldb, float beta, float* c, int ldc)
{
    if (isa == BLK_ISA_AVX2)
        avx2_sgemm_atb(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        avx512_sgemm_atb(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blk_transpose(int isa, int rows, int cols, const float* src, int lds, float beta, float* dst, int ldd)
{
    /* One transpose for both paths: 8×8 blocks in ymm registers, which an AVX-512 CPU runs too
     * (blk_cpu_isa asks it for AVX2 and FMA); 16-lane blocks would write the same 64-byte lines. */
    (void)isa;
    avx2_transpose(rows, cols, src, lds, beta, dst, ldd);
}
