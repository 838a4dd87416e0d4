/* The AVX2+FMA code path of the kernels (see blaslinear_kernels.h, and blaslinear_kernels.c for the
 * AVX-512 one, whose structure this follows): the same three tile codes, cut for the 16 ymm registers
 * of 8 floats that AVX2 has instead of 32 zmm registers of 16.
 *
 *   avx2_sgemm_abt: MR rows of A × NR rows of B, 8 k at a time, MR·NR vector accumulators reduced to
 *                   scalars at the end; MR·NR + NR + 1 ≤ 16 (1×7, 2×5, 3×3, 4×3, 5×2, 6×2).
 *   avx2_sgemm_ab and avx2_sgemm_atb: MR rows of C × NV·8 columns, one k at a time; MR·NV + NV + 1 ≤ 16
 *                   (2×5, 3×3, 4×3, 5×2, 6×2), and 1×8 for one row, whose vectors of B go straight into
 *                   their FMAs (measured at 1×1024·1024×512: 1×8 32 GFLOP/s, 1×7 26, 1×12 9, spilling).
 *
 * Row blocks are 6 rows (a batch of up to 6 reads each element of the weight once per call; 8 rows would
 * leave one vector per row of C). AVX2 has no mask registers: ragged edges use _mm256_maskload_ps and
 * _mm256_maskstore_ps, which never touch memory outside the operands, and only on the edge tiles (a whole
 * tile takes plain loads and stores, since masked stores are slow on some CPUs).
 *
 * Every function carries the target attribute: the file is compiled for plain x86-64 like the rest of the
 * library, and only blk_cpu_isa() decides that this code runs. */
#include "blaslinear_kernels_isa.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdlib.h>

#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline)) AVX2_TARGET
#define UNROLL _Pragma("GCC unroll 8")
#define ABT_MAX_MR 6
#define ABT_MAX_NR 7
#define OPAB_MAX_MR 6
#define OPAB_MAX_NV 8
#define ABT_ROW_BLOCK 6
#define AB_ROW_BLOCK 6
/* The weight's rows, this many at a time, as in the AVX-512 blk_sgemm_ab (TLB reach of a panel). */
#define AB_K_BLOCK 256
/* avx2_sgemm_atb: tiles of 4 rows × 24 columns, walked left to right; up to ATB_ROWS_UP_TO_K, atb_rows. */
#define ATB_ROW_BLOCK 4
#define ATB_ROWS_UP_TO_K 2
/* avx2_sgemm_atb copies B into 24-column panels (atb_pack) when B's rows are a multiple of ATB_PACK_STRIDE floats
 * (4 KiB) apart, k ≥ ATB_PACK_FROM_K, C has at least ATB_PACK_FROM_M rows to share the copy, and the copy takes at
 * most ATB_PACK_MAX_FLOATS (2 MiB). The router's route table mirrors this condition (CpuRouteTable.CopiesB), since
 * its AVX2 limits for Aᵀ·B differ where B is copied. */
#define ATB_PACK_STRIDE 1024
#define ATB_PACK_FROM_K 4
#define ATB_PACK_FROM_M 16
#define ATB_PACK_MAX_FLOATS (1L << 19)
/* The columns of a full avx2_sgemm_atb tile, and of a panel of the copy. */
#define ATB_PANEL_WIDTH (8 * OPAB_NV(ATB_ROW_BLOCK))

/* Lanes 0..left-1 on (all ones), the rest off, for the masked loads and stores. */
AVX2_INLINE __m256i lanes(int left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2_INLINE float reduce(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- NT: dot products ------------------------------------------------------------------------ */

/* Keeps v in a register, so that a row of A is loaded once per chunk rather than folded into each of its FMAs
 * (see the AVX-512 in_register). */
AVX2_INLINE void in_register(__m256* v) { __asm__("" : "+v"(*v)); }

AVX2_INLINE void abt_tile(const int MR, const int NR, int k, float alpha, const float* a, ptrdiff_t lda,
                          const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    __m256 acc[ABT_MAX_MR][ABT_MAX_NR];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++)
            acc[i][j] = _mm256_setzero_ps();

    int p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 bv[ABT_MAX_NR];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = _mm256_loadu_ps(b + j * ldb + p);
        UNROLL for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_loadu_ps(a + i * lda + p);
            in_register(&av);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (p < k) {
        const __m256i mask = lanes(k - p);
        __m256 bv[ABT_MAX_NR];
        UNROLL for (int j = 0; j < NR; j++)
            bv[j] = _mm256_maskload_ps(b + j * ldb + p, mask);
        UNROLL for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_maskload_ps(a + i * lda + p, mask);
            UNROLL for (int j = 0; j < NR; j++)
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }

    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++) {
            float sum = alpha * reduce(acc[i][j]);
            float* out = c + i * ldc + j;
            *out = beta == 0.0f ? sum : sum + beta * *out;
        }
}

/* The widest NR for MR rows that keeps the tile in the 16 registers. */
static int abt_width(int mr) { return mr == 1 ? 7 : mr == 2 ? 5 : mr <= 4 ? 3 : 2; }

#define ABT_CASE(MR, NR) case (MR) * 8 + (NR): abt_tile(MR, NR, k, alpha, a, lda, b, ldb, beta, c, ldc); break;

static AVX2_TARGET void abt_block(int mr, int nr, int k, float alpha, const float* a, ptrdiff_t lda,
                                  const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc)
{
    switch (mr * 8 + nr) {
    ABT_CASE(1, 1) ABT_CASE(1, 2) ABT_CASE(1, 3) ABT_CASE(1, 4) ABT_CASE(1, 5) ABT_CASE(1, 6) ABT_CASE(1, 7)
    ABT_CASE(2, 1) ABT_CASE(2, 2) ABT_CASE(2, 3) ABT_CASE(2, 4) ABT_CASE(2, 5)
    ABT_CASE(3, 1) ABT_CASE(3, 2) ABT_CASE(3, 3)
    ABT_CASE(4, 1) ABT_CASE(4, 2) ABT_CASE(4, 3)
    ABT_CASE(5, 1) ABT_CASE(5, 2)
    ABT_CASE(6, 1) ABT_CASE(6, 2)
    default: break;
    }
}

AVX2_TARGET void avx2_sgemm_abt(int m, int n, int k, float alpha, const float* a, int lda,
                                const float* b, int ldb, float beta, float* c, int ldc)
{
    const int mr_full = m < ABT_ROW_BLOCK ? m : ABT_ROW_BLOCK;
    const int nr_full = abt_width(mr_full);
    const int blocks = (n + nr_full - 1) / nr_full;
    for (int block = 0; block < blocks; block++) {
        const int j = block * nr_full;
        const int nr = n - j < nr_full ? n - j : nr_full;
        for (int i = 0; i < m; i += ABT_ROW_BLOCK) {
            const int mr = m - i < ABT_ROW_BLOCK ? m - i : ABT_ROW_BLOCK;
            const int width = abt_width(mr);
            for (int jj = 0; jj < nr; jj += width) {
                const int cols = nr - jj < width ? nr - jj : width;
                abt_block(mr, cols, k, alpha, a + (ptrdiff_t)i * lda, lda, b + (ptrdiff_t)(j + jj) * ldb, ldb,
                          beta, c + (ptrdiff_t)i * ldc + j + jj, ldc);
            }
        }
    }
}

/* ---- op(A)·B: broadcasts ---------------------------------------------------------------------------- */

/* a(i, p) = a[i·si + p·sp]: si = lda, sp = 1 for A[m,k]; si = 1, sp = lda for A[k,m]ᵀ. FULL: the tile
 * is NV·8 columns wide (cols is then ignored), so no load or store needs a mask. */
AVX2_INLINE void op_ab_tile(const int MR, const int NV, const int FULL, const int PF, int cols, int k, float alpha,
                            const float* a, ptrdiff_t si, ptrdiff_t sp, const float* b, ptrdiff_t ldb,
                            float beta, float* c, ptrdiff_t ldc)
{
    __m256i mask[OPAB_MAX_NV];
    UNROLL for (int v = 0; v < NV; v++)
        mask[v] = FULL ? _mm256_set1_epi32(-1) : lanes(cols - 8 * v);

    __m256 acc[OPAB_MAX_MR][OPAB_MAX_NV];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++)
            acc[i][v] = _mm256_setzero_ps();

    for (int p = 0; p < k; p++) {
        const float* brow = b + p * ldb;
        if (PF)
            UNROLL for (int v = 0; v < NV; v += 2) /* one prefetch per 64-byte line */
                _mm_prefetch((const char*)(brow + PF * ldb + 8 * v), _MM_HINT_T1);
        __m256 bv[OPAB_MAX_NV];
        UNROLL for (int v = 0; v < NV; v++)
            bv[v] = FULL ? _mm256_loadu_ps(brow + 8 * v) : _mm256_maskload_ps(brow + 8 * v, mask[v]);
        UNROLL for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(a + i * si + p * sp);
            UNROLL for (int v = 0; v < NV; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }

    /* α = β = 1: one add, the same value (see the AVX-512 op_ab_tile). */
    const int add = alpha == 1.0f && beta == 1.0f;
    const __m256 va = _mm256_set1_ps(alpha);
    const __m256 vb = _mm256_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++) {
            float* out = c + i * ldc + 8 * v;
            __m256 r;
            if (add)
                r = _mm256_add_ps(acc[i][v], FULL ? _mm256_loadu_ps(out) : _mm256_maskload_ps(out, mask[v]));
            else {
                r = _mm256_mul_ps(va, acc[i][v]);
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, FULL ? _mm256_loadu_ps(out) : _mm256_maskload_ps(out, mask[v]), r);
            }
            if (FULL)
                _mm256_storeu_ps(out, r);
            else
                _mm256_maskstore_ps(out, mask[v], r);
        }
}

#define OPAB_NV(MR) ((MR) == 1 ? 8 : (MR) == 2 ? 5 : (MR) <= 4 ? 3 : 2)
/* avx2_sgemm_ab's tiles of AB_PREFETCH_FROM_MR rows or more prefetch the weight AB_PREFETCH_ROWS rows ahead into L2
 * (OPAB_TILE, blaslinear_kernels_isa.h), as the AVX-512 path does (blaslinear_kernels.c says why), when the batch
 * is one row block (m ≤ AB_ROW_BLOCK): at m = 8 (a 6-row tile, then a 2-row one over the same rows) it ran
 * 7–14 % slower, at m = 4 1.1–1.6 times faster (docs/cpu-routes.md). */
/* The rows a batch leaves under AB_ROW_BLOCK (m = 8 leaves 2) run over the full block's 16-column panel as one
 * full 2-vector tile, not their own wider tile masked down to it (_mm256_maskload_ps and _mm256_maskstore_ps on
 * all-off lanes, and their FMAs): A·B at m = 7, 8, 13, 14 and 20 1.2–3 times, as the AVX-512 path (same
 * operations per element, so the same bits). */
#define OPAB_CASE(MR)                                                                                      \
    case MR:                                                                                               \
        if (cols == 8 * OPAB_NV(MR))                                                                       \
            OPAB_TILE(MR, OPAB_NV(MR), 1);                                                                 \
        else if ((MR) < AB_ROW_BLOCK && cols == 8 * OPAB_NV(AB_ROW_BLOCK))                                  \
            OPAB_TILE(MR, OPAB_NV(AB_ROW_BLOCK), 1);                                                       \
        else                                                                                               \
            OPAB_TILE(MR, OPAB_NV(MR), 0);                                                                 \
        break;
static int op_ab_vectors(int mr) { return OPAB_NV(mr); }

/* prefetch_b: B is the weight (avx2_sgemm_ab), not the batch's few rows (avx2_sgemm_atb). */
static AVX2_TARGET void op_ab_block(int mr, int cols, int k, float alpha, const float* a, ptrdiff_t si,
                                    ptrdiff_t sp, const float* b, ptrdiff_t ldb, float beta, float* c, ptrdiff_t ldc,
                                    int prefetch_b)
{
    switch (mr) {
    OPAB_CASE(1) OPAB_CASE(2) OPAB_CASE(3) OPAB_CASE(4) OPAB_CASE(5) OPAB_CASE(6)
    default: break;
    }
}

/* Aᵀ·B at k ≤ ATB_ROWS_UP_TO_K: C one row at a time, 32 columns a step, in one loop; the AVX-512 atb_rows
 * (blaslinear_kernels.c) says why. The operations of op_ab_tile, in its order, so the same bits. */
static AVX2_TARGET void atb_rows(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                                 float beta, float* c, int ldc)
{
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < m; i++) {
        float* ci = c + (ptrdiff_t)i * ldc;
        int j = 0;
        for (; j + 32 <= n; j += 32) {
            __m256 acc[4];
            UNROLL for (int v = 0; v < 4; v++)
                acc[v] = _mm256_setzero_ps();
            for (int p = 0; p < k; p++) {
                const __m256 av = _mm256_broadcast_ss(a + i + (ptrdiff_t)p * lda);
                const float* bp = b + (ptrdiff_t)p * ldb + j;
                UNROLL for (int v = 0; v < 4; v++)
                    acc[v] = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8 * v), acc[v]);
            }
            UNROLL for (int v = 0; v < 4; v++) {
                __m256 r = _mm256_mul_ps(va, acc[v]);
                if (beta != 0.0f)
                    r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + j + 8 * v), r);
                _mm256_storeu_ps(ci + j + 8 * v, r);
            }
        }
        for (; j < n; j += 8) {
            const __m256i mask = lanes(n - j);
            __m256 acc = _mm256_setzero_ps();
            for (int p = 0; p < k; p++)
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i + (ptrdiff_t)p * lda),
                                      _mm256_maskload_ps(b + (ptrdiff_t)p * ldb + j, mask), acc);
            __m256 r = _mm256_mul_ps(va, acc);
            if (beta != 0.0f)
                r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + j, mask), r);
            _mm256_maskstore_ps(ci + j, mask, r);
        }
    }
}

/* B's first `panels` × 24 columns, panel by panel: panel q holds B[0..k-1][24q .. 24q+23] as k rows of 24 floats,
 * so that a full tile reads its k rows of B as one contiguous run. NULL when the memory is not there (the caller then
 * reads B where it is). */
static AVX2_TARGET float* atb_pack(int panels, int k, const float* b, int ldb)
{
    float* packed = aligned_alloc(32, (size_t)panels * k * ATB_PANEL_WIDTH * sizeof(float));
    if (!packed)
        return NULL;
    float* out = packed;
    for (int q = 0; q < panels; q++)
        for (int p = 0; p < k; p++, out += ATB_PANEL_WIDTH)
            UNROLL for (int v = 0; v < OPAB_NV(ATB_ROW_BLOCK); v++)
                _mm256_store_ps(out + 8 * v, _mm256_loadu_ps(b + (ptrdiff_t)p * ldb + q * ATB_PANEL_WIDTH + 8 * v));
    return packed;
}

AVX2_TARGET void avx2_sgemm_atb(int m, int n, int k, float alpha, const float* a, int lda,
                                const float* b, int ldb, float beta, float* c, int ldc)
{
    /* Aᵀ·B: C is the large matrix; row blocks left to right, and at small k one row at a time, as in AVX-512
     * (see avx512_sgemm_atb). */
    if (k <= ATB_ROWS_UP_TO_K) {
        atb_rows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* B's rows a multiple of 4 KiB apart (B 1024, 2048, 3072 or 4096 floats wide) fall in one set of L1 (64 sets of
     * 64 bytes), as do a tile's rows of C when C is as wide: the 4 × 24 tiles ran 52–62 GFLOP/s a thread at k = 8–32
     * on a Zen 4 with B at C's offset in a 4 KiB page, 65–79 with it 1 KiB further (the AVX-512 tiles 79–101 either
     * way). From the packed copy they ran 70–103 wherever B lay, and in the router's split over two threads 1.15–1.65
     * times as fast as before at k = 6–32, 0.96–1.14 times at 4; at k = 3, and at B 512 or 768 wide, it did not pay
     * (docs/cpu-routes.md, "Aᵀ·B on the AVX2 path: B packed at 4 KiB strides"). The tiles do the same operations in
     * the same order: the same bits. */
    const int panels = n / ATB_PANEL_WIDTH;
    float* packed = NULL;
    if (ldb % ATB_PACK_STRIDE == 0 && k >= ATB_PACK_FROM_K && m >= ATB_PACK_FROM_M && panels > 0
        && (long)panels * k * ATB_PANEL_WIDTH <= ATB_PACK_MAX_FLOATS)
        packed = atb_pack(panels, k, b, ldb);
    /* A full tile's rows of B: panel j / ATB_PANEL_WIDTH of the copy, or B itself. */
    const int ldt = packed ? ATB_PANEL_WIDTH : ldb;
    const int prefetch_c = atb_prefetches_c(m, n);
    for (int i = 0; i < m; i += ATB_ROW_BLOCK) {
        const int mr = m - i < ATB_ROW_BLOCK ? m - i : ATB_ROW_BLOCK;
        const int step = 8 * op_ab_vectors(mr);
        int j = 0;
        /* Full tiles inline, as in avx512_sgemm_atb (the tile op_ab_block would choose). */
        if (mr == ATB_ROW_BLOCK)
            for (; j + ATB_PANEL_WIDTH <= n; j += ATB_PANEL_WIDTH) {
                const float* bt = packed ? packed + (ptrdiff_t)(j / ATB_PANEL_WIDTH) * k * ATB_PANEL_WIDTH : b + j;
                if (prefetch_c)
                    atb_prefetch_c(c, ldc, m, n, i, j, ATB_ROW_BLOCK, ATB_PANEL_WIDTH);
                op_ab_tile(ATB_ROW_BLOCK, OPAB_NV(ATB_ROW_BLOCK), 1, 0, ATB_PANEL_WIDTH, k, alpha, a + i, 1, lda, bt, ldt,
                           beta, c + (ptrdiff_t)i * ldc + j, ldc);
            }
        for (; j < n; j += step) {
            const int cols = n - j < step ? n - j : step;
            op_ab_block(mr, cols, k, alpha, a + i, 1, lda, b + j, ldb, beta, c + (ptrdiff_t)i * ldc + j, ldc, 0);
        }
    }
    free(packed);
}

AVX2_TARGET void avx2_sgemm_ab(int m, int n, int k, float alpha, const float* a, int lda,
                               const float* b, int ldb, float beta, float* c, int ldc)
{
    /* X·W: column panels of the weight, AB_K_BLOCK of its rows at a time; later blocks add to C (β = 1). */
    const int mr_full = m < AB_ROW_BLOCK ? m : AB_ROW_BLOCK;
    const int panel = 8 * op_ab_vectors(mr_full);
    for (int p0 = 0; p0 < k; p0 += AB_K_BLOCK) {
        const int kb = k - p0 < AB_K_BLOCK ? k - p0 : AB_K_BLOCK;
        const float beta_block = p0 == 0 ? beta : 1.0f;
        const float* b_block = b + (ptrdiff_t)p0 * ldb;
        for (int j = 0; j < n; j += panel) {
            const int width = n - j < panel ? n - j : panel;
            for (int i = 0; i < m; i += AB_ROW_BLOCK) {
                const int mr = m - i < AB_ROW_BLOCK ? m - i : AB_ROW_BLOCK;
                const int step = 8 * op_ab_vectors(mr);
                for (int jj = 0; jj < width; jj += step) {
                    const int cols = width - jj < step ? width - jj : step;
                    op_ab_block(mr, cols, kb, alpha, a + (ptrdiff_t)i * lda + p0, lda, 1, b_block + j + jj, ldb,
                                beta_block, c + (ptrdiff_t)i * ldc + j + jj, ldc, m <= AB_ROW_BLOCK);
                }
            }
        }
    }
}

/* ---- transpose (both paths: blk_transpose calls it for AVX-512 too) ---------------------------------- */

static inline void store(float* out, float value, float beta)
{
    *out = beta == 0.0f ? value : value + beta * *out;
}

/* One 8×8 block through registers: pairs interleaved, then quads, then 128-bit halves. */
AVX2_INLINE void transpose8(const float* src, ptrdiff_t lds, float* dst, ptrdiff_t ldd, float beta)
{
    __m256 r[8], t[8], u[8];
    UNROLL for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(src + i * lds);
    UNROLL for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    UNROLL for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    UNROLL for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
    const __m256 vb = _mm256_set1_ps(beta);
    UNROLL for (int i = 0; i < 8; i++) {
        float* out = dst + i * ldd;
        _mm256_storeu_ps(out, beta == 0.0f ? r[i] : _mm256_fmadd_ps(vb, _mm256_loadu_ps(out), r[i]));
    }
}

AVX2_TARGET void avx2_transpose(int rows, int cols, const float* src, int lds, float beta, float* dst, int ldd)
{
    /* Strips of 16 source rows, each 16×8 block writing 8 whole 64-byte lines; ragged edges element by element. */
    const int strips = rows / 16;
    for (int strip = 0; strip < strips; strip++) {
        const int r = strip * 16;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            transpose8(src + (ptrdiff_t)r * lds + c, lds, dst + (ptrdiff_t)c * ldd + r, ldd, beta);
            transpose8(src + (ptrdiff_t)(r + 8) * lds + c, lds, dst + (ptrdiff_t)c * ldd + r + 8, ldd, beta);
        }
        for (; c < cols; c++)
            for (int i = r; i < r + 16; i++)
                store(dst + (ptrdiff_t)c * ldd + i, src[(ptrdiff_t)i * lds + c], beta);
    }
    for (int r = strips * 16; r < rows; r++)
        for (int c = 0; c < cols; c++)
            store(dst + (ptrdiff_t)c * ldd + r, src[(ptrdiff_t)r * lds + c], beta);
}
