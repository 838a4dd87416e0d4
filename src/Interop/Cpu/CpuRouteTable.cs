using System.Globalization;

namespace BlasLinear.Backends;

/// <summary>
/// Which CPU provider computes each row-major product: a pure function of the routing asked for, the
/// providers present and the product's shape. It calls nothing native; <see cref="CpuRouter"/> runs what it
/// chooses.
/// </summary>
/// <remarks>
/// <para>The <see cref="CpuRouting.Auto"/> table, where "batch" is the dimension the layers' batch becomes
/// (m for the forward and input-gradient products, k for the weight gradient Aᵀ·B), with the kernels'
/// AVX-512 path; the AVX2 path switches at batches of its own (<see cref="CpuRouteLimits.Avx2"/>):</para>
/// <list type="bullet">
/// <item>A·Bᵀ (X·Wᵀ): the kernels to batch 24, oneDNN on the swapped product (B·Aᵀ)ᵀ to 63, oneDNN from 64;
/// without oneDNN the kernels to 255, then OpenBLAS.</item>
/// <item>A·B (X·W): the kernels to batch 7, then oneDNN; without oneDNN the kernels at every batch.</item>
/// <item>Aᵀ·B (dW): the kernels to batch 32, then oneDNN; without oneDNN the kernels at every batch.</item>
/// <item>Operands past 16 MiB: A·B on the kernels at batch 1 only (one row streamed), Aᵀ·B to batch 32.</item>
/// <item>Aᵀ·Bᵀ: OpenBLAS. Any product under 32,768 multiply-adds: the kernels.</item>
/// <item>Without kernels (a CPU with neither AVX2+FMA nor AVX-512) the kernels' rows go to oneDNN where it is
/// present, to OpenBLAS otherwise.</item>
/// </list>
/// <para>docs/cpu-routes.md has the benchmark rows behind every switch, the command that measured them and
/// the machine.</para>
/// </remarks>
internal sealed class CpuRouteTable
{
    /// <summary>Products under this many multiply-adds are too small to split: the kernels, on the caller.</summary>
    internal const long SingleThreadBelow = 32_768;

    /// <summary>
    /// The batch up to which A·B with the weight past <see cref="CpuRouteLimits.LargeOperandFloats"/> stays on the
    /// kernels with oneDNN present: at batch 1 they stream it as one sequence, faster than oneDNN's blocking; from
    /// batch 2 oneDNN leads or ties on the Zen 5 (docs/cpu-routes.md). Aᵀ·B: <see cref="CpuRouteLimits.GradientFromMemoryKernelsUpTo"/>,
    /// and without oneDNN <see cref="CpuRouteLimits.GradientFromMemoryWithoutOneDnnUpTo"/>.
    /// </summary>
    internal const int FromMemoryKernelsUpTo = 1;

    /// <summary>
    /// The stride at which the AVX2 path copies B of an Aᵀ·B into panels (ATB_PACK_STRIDE in
    /// native/kernels/blaslinear_kernels_avx2.c): B's rows a multiple of this many floats (4 KiB) apart share one set
    /// of L1. The first of the conditions of <see cref="CopiesB"/>, under which Aᵀ·B goes to the kernels up to
    /// <see cref="CpuRouteLimits.GradientKernelsPackedUpTo"/>.
    /// </summary>
    internal const int PackedStrideFloats = 1024;

    /// <summary>
    /// The rest of the kernel's condition for the copy (avx2_sgemm_atb): C has at least this many rows (ATB_PACK_FROM_M),
    /// and the copy, B's whole panels of <see cref="PackedPanelFloats"/> columns over its k rows, takes at most
    /// <see cref="PackedMaxFloats"/> (ATB_PACK_MAX_FLOATS, 2 MiB). The router's slices of Aᵀ·B are whole blocks of 16 rows
    /// but the last, so a product of 16 rows or more has them in every slice but, at most, a last short one. (The kernel
    /// also wants k ≥ 4, ATB_PACK_FROM_K; below that every plain limit takes the product anyway.)
    /// </summary>
    internal const int PackedFromRows = 16;

    /// <inheritdoc cref="PackedFromRows"/>
    internal const int PackedPanelFloats = 24;

    /// <inheritdoc cref="PackedFromRows"/>
    internal const long PackedMaxFloats = 1L << 19;

    /// <summary>Whether the AVX2 kernels copy B of an Aᵀ·B of C [m, n] at batch k with B's rows <paramref name="ldb"/> apart.</summary>
    internal static bool CopiesB(int m, int n, int k, int ldb) =>
        ldb % PackedStrideFloats == 0 && m >= PackedFromRows && n >= PackedPanelFloats
        && (long)(n / PackedPanelFloats) * PackedPanelFloats * k <= PackedMaxFloats;

    /// <summary>The table for <paramref name="requested"/> with these providers present.</summary>
    /// <param name="requested">The routing asked for.</param>
    /// <param name="kernels">The instruction set the kernels run with (its limits: <see cref="CpuRouteLimits.For"/>);
    /// null when they are not loaded or this CPU runs neither path.</param>
    /// <param name="oneDnn">oneDNN is loaded.</param>
    /// <exception cref="ArgumentException"><paramref name="requested"/> pins a provider that is not present, or
    /// <paramref name="kernels"/> is <see cref="CpuKernelIsa.Auto"/> (a table is for one path).</exception>
    public CpuRouteTable(CpuRouting requested, CpuKernelIsa? kernels, bool oneDnn)
    {
        // CpuProviders refuses a missing pinned provider with the reason; a table that routes to one would
        // call into a library that is not there.
        if ((requested == CpuRouting.Kernels && kernels is null) || (requested == CpuRouting.OneDnn && !oneDnn))
        {
            throw new ArgumentException($"CpuRouting.{requested} pins a provider that is not present.", nameof(requested));
        }

        Requested = requested;
        Limits = kernels is CpuKernelIsa isa ? CpuRouteLimits.For(isa) : CpuRouteLimits.Avx512;
        HasKernels = kernels is not null && requested is CpuRouting.Auto or CpuRouting.Kernels;
        HasOneDnn = oneDnn && requested is CpuRouting.Auto or CpuRouting.OneDnn;
    }

    /// <summary>The switch points of the kernels' instruction set (AVX-512's when there are no kernels: unused then).</summary>
    public CpuRouteLimits Limits { get; }

    /// <summary>The provider that computes a product, named after what it calls.</summary>
    internal enum Route
    {
        /// <summary><c>cblas_sgemm</c>, on OpenBLAS's own threads.</summary>
        OpenBlas,

        /// <summary><c>blk_sgemm_abt</c>: A·Bᵀ.</summary>
        KernelsAbt,

        /// <summary><c>blk_sgemm_ab</c>: A·B.</summary>
        KernelsAb,

        /// <summary><c>blk_sgemm_atb</c>: Aᵀ·B.</summary>
        KernelsAtb,

        /// <summary><c>dnnl_sgemm</c> on the product as asked.</summary>
        OneDnn,

        /// <summary><c>dnnl_sgemm</c> on B·Aᵀ, transposed into C by <c>blk_transpose</c> (A·Bᵀ only).</summary>
        OneDnnSwapped,
    }

    public CpuRouting Requested { get; }

    /// <summary>The kernels are loaded, this CPU runs them, and the routing may use them.</summary>
    public bool HasKernels { get; }

    /// <summary>oneDNN is loaded and the routing may use it.</summary>
    public bool HasOneDnn { get; }

    /// <summary>Too small to split: handing a slice to another thread costs more than the product.</summary>
    public static bool IsSmall(int m, int n, int k) => (long)m * n * k < SingleThreadBelow;

    /// <summary>The routing in force, one line for the description.</summary>
    public string Describe() => Requested switch
    {
        CpuRouting.OpenBlas => "pinned: OpenBLAS for every product",
        CpuRouting.Kernels => "pinned: kernels for op(A)·B and A·Bᵀ, OpenBLAS for Aᵀ·Bᵀ",
        CpuRouting.OneDnn => "pinned: oneDNN for every product",
        _ => (HasKernels, HasOneDnn) switch
        {
            (true, true) => string.Create(CultureInfo.InvariantCulture,
                $"auto: A·Bᵀ kernels to batch {Limits.DotKernelsUpTo}, oneDNN swapped to {Limits.SwappedBelow - 1}, then oneDNN; {BroadcastsWithOneDnn()} "
                + $"(operands past {Limits.LargeOperandFloats * sizeof(float) >> 20} MiB: A·B kernels at batch {FromMemoryKernelsUpTo}, Aᵀ·B to {Limits.GradientFromMemoryKernelsUpTo}); "
                + $"kernels under {SingleThreadBelow} multiply-adds"),
            (true, false) => string.Create(CultureInfo.InvariantCulture,
                $"auto: A·Bᵀ kernels to batch {Limits.DotKernelsWithoutOneDnnUpTo}, then OpenBLAS; {BroadcastsWithoutOneDnn()} "
                + $"(Aᵀ·B past {Limits.LargeOperandFloats * sizeof(float) >> 20} MiB: kernels {UpTo(Limits.GradientFromMemoryWithoutOneDnnUpTo)})"),
            (false, true) => "auto: oneDNN for every product but Aᵀ·Bᵀ (no kernels for this CPU)",
            _ => "auto: OpenBLAS for every product (no kernels, no oneDNN)",
        },
    };

    private string BroadcastsWithOneDnn() => Limits.BroadcastOpenBlasOverOneDnn
        ? string.Create(CultureInfo.InvariantCulture, $"A·B kernels to batch {Limits.BroadcastKernelsUpTo}, then OpenBLAS; Aᵀ·B kernels to batch {Limits.GradientKernelsUpTo}{PackedGradients(Limits.GradientKernelsPackedUpTo, Limits.GradientKernelsUpTo)}, then oneDNN")
        : string.Create(CultureInfo.InvariantCulture, $"A·B kernels to batch {Limits.BroadcastKernelsUpTo}, Aᵀ·B to {Limits.GradientKernelsUpTo}{PackedGradients(Limits.GradientKernelsPackedUpTo, Limits.GradientKernelsUpTo)}, then oneDNN");

    /// <summary>The words for a packed limit that differs from the plain one (<see cref="PackedStrideFloats"/>).</summary>
    private static string PackedGradients(int packedUpTo, int upTo) => packedUpTo == upTo
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $" (to {packedUpTo} with B's rows 4 KiB apart)");

    private string BroadcastsWithoutOneDnn() =>
        (Limits.BroadcastKernelsWithoutOneDnnUpTo, Limits.GradientKernelsWithoutOneDnnUpTo) is (int.MaxValue, int.MaxValue)
            ? "A·B and Aᵀ·B kernels at every batch"
            : string.Create(CultureInfo.InvariantCulture,
                $"A·B kernels {UpTo(Limits.BroadcastKernelsWithoutOneDnnUpTo)} (past {Limits.LargeOperandFloats * sizeof(float) >> 20} MiB "
                + $"{UpTo(Limits.BroadcastFromMemoryWithoutOneDnnUpTo)}), Aᵀ·B {UpTo(Limits.GradientKernelsWithoutOneDnnUpTo)}")
                + PackedGradients(Limits.GradientKernelsPackedWithoutOneDnnUpTo, Limits.GradientKernelsWithoutOneDnnUpTo);

    private static string UpTo(int batch) =>
        batch == int.MaxValue ? "at every batch" : string.Create(CultureInfo.InvariantCulture, $"to batch {batch}, then OpenBLAS");

    /// <summary>The route for C = op(A)·op(B), C m×n, k the inner dimension, B stored without gaps between its rows.</summary>
    public Route Choose(Transpose transA, Transpose transB, int m, int n, int k) =>
        Choose(transA, transB, m, n, k, transB == Transpose.Trans ? k : n);

    /// <summary>The route for C = op(A)·op(B), C m×n, k the inner dimension, B's rows <paramref name="ldb"/> floats apart.</summary>
    public Route Choose(Transpose transA, Transpose transB, int m, int n, int k, int ldb)
    {
        bool ta = transA == Transpose.Trans, tb = transB == Transpose.Trans;
        switch (Requested)
        {
            case CpuRouting.OpenBlas:
                return Route.OpenBlas;
            case CpuRouting.OneDnn:
                return Route.OneDnn;
            case CpuRouting.Kernels:
                return (ta, tb) switch
                {
                    (false, true) => Route.KernelsAbt,
                    (false, false) => Route.KernelsAb,
                    (true, false) => Route.KernelsAtb,
                    _ => Route.OpenBlas,
                };
        }

        // Products under SingleThreadBelow run on the kernels whatever their shape: one route, the same bits
        // for a row in a batch of any size, and no thread hand-off.
        bool small = IsSmall(m, n, k);
        if (!ta && tb)
        {
            if (HasKernels && (small || m <= (HasOneDnn ? Limits.DotKernelsUpTo : Limits.DotKernelsWithoutOneDnnUpTo)))
            {
                return Route.KernelsAbt;
            }

            if (HasOneDnn)
            {
                // The swapped route transposes with the kernels' transpose (on their path).
                return m < Limits.SwappedBelow && HasKernels ? Route.OneDnnSwapped : Route.OneDnn;
            }

            return Route.OpenBlas;
        }

        if (!tb)
        {
            int batch = ta ? k : m;
            // Past Limits.LargeOperandFloats the big operand (the weight of A·B, the gradient C of Aᵀ·B) streams from
            // memory, and each provider pair has limits of its own there: oneDNN's A·B from batch 2 (at batch 1 the
            // kernels stream the weight as one sequence), the kernels' Aᵀ·B to a batch of each path's own, with
            // oneDNN and without (docs/cpu-routes.md).
            bool fromMemory = (ta ? (long)m * n : (long)k * n) > Limits.LargeOperandFloats;
            // Aᵀ·B whose B the AVX2 kernels copy into panels (its rows a multiple of 4 KiB apart) has limits of its own.
            bool packed = ta && CopiesB(m, n, k, ldb);
            Route kernels = ta ? Route.KernelsAtb : Route.KernelsAb;
            if (HasKernels && small)
            {
                return kernels;
            }

            if (HasOneDnn)
            {
                int kernelsUpTo = ta
                    ? (fromMemory ? Limits.GradientFromMemoryKernelsUpTo
                        : packed ? Limits.GradientKernelsPackedUpTo : Limits.GradientKernelsUpTo)
                    : (fromMemory ? FromMemoryKernelsUpTo : Limits.BroadcastKernelsUpTo);
                if (HasKernels && batch <= kernelsUpTo)
                {
                    return kernels;
                }

                // Where oneDNN's A·B trails OpenBLAS's (on AVX2), larger A·B products from cache go to OpenBLAS.
                return !ta && !fromMemory && Limits.BroadcastOpenBlasOverOneDnn ? Route.OpenBlas : Route.OneDnn;
            }

            // No oneDNN: the kernels up to the limits measured against OpenBLAS.
            int withoutOneDnnUpTo = ta
                ? (fromMemory ? Limits.GradientFromMemoryWithoutOneDnnUpTo
                    : packed ? Limits.GradientKernelsPackedWithoutOneDnnUpTo : Limits.GradientKernelsWithoutOneDnnUpTo)
                : (fromMemory ? Limits.BroadcastFromMemoryWithoutOneDnnUpTo : Limits.BroadcastKernelsWithoutOneDnnUpTo);
            return HasKernels && batch <= withoutOneDnnUpTo ? kernels : Route.OpenBlas;
        }

        return Route.OpenBlas;
    }

    /// <summary>
    /// Whether X·W (W stored k×n) beats X·Bᵀ (the same matrix stored n×k) at m rows here, so that
    /// <c>Linear</c> gains by keeping its weight transposed too. AVX-512, from the benchmark's Linear and
    /// ParameterLinear forward rows at 1024→1024 (GFLOP/s, X·Bᵀ route / X·W route): with oneDNN,
    /// b4 183/152, b5 130/135, b8 156/274, b32 272/318, b128 297/340, b512 323/346; with the kernels
    /// alone, b8 173/172, b16 182/243, b128 225/296, b512 158/278. AVX2: never (<see cref="CpuRouteLimits.Avx2"/>).
    /// </summary>
    public bool PrefersTransposedWeight(int m, int n, int k)
    {
        // Products too small to split stay on one route whatever their rows, so that a small layer gives the
        // same bits for a row in a batch of any size (the kernels compute each element the same way).
        return Requested == CpuRouting.Auto && !IsSmall(m, n, k)
            && (HasOneDnn ? m >= Limits.TransposedWeightFrom : HasKernels && m >= Limits.TransposedWeightWithoutOneDnnFrom);
    }
}
