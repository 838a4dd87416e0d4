using System.Globalization;

namespace BlasLinear.Backends;

/// <summary>
/// Which CPU provider computes each row-major product: a pure function of the routing asked for, the
/// providers present and the product's shape. It calls nothing native; <see cref="CpuRouter"/> runs what it
/// chooses.
/// </summary>
/// <remarks>
/// <para>The <see cref="CpuRouting.Auto"/> table, where "batch" is the dimension the layers' batch becomes
/// (m for the forward and input-gradient products, k for the weight gradient Aᵀ·B):</para>
/// <list type="bullet">
/// <item>A·Bᵀ (X·Wᵀ): the kernels to batch 24, oneDNN on the swapped product (B·Aᵀ)ᵀ to 63, oneDNN from 64;
/// without oneDNN the kernels to 255, then OpenBLAS.</item>
/// <item>A·B (X·W): the kernels to batch 7, then oneDNN; without oneDNN the kernels at every batch.</item>
/// <item>Aᵀ·B (dW): the kernels to batch 32, then oneDNN; without oneDNN the kernels at every batch.</item>
/// <item>Operands past 16 MiB: A·B on the kernels for one row only, Aᵀ·B never on the kernels.</item>
/// <item>Aᵀ·Bᵀ: OpenBLAS. Any product under 32,768 multiply-adds: the kernels.</item>
/// <item>Without AVX-512 the kernels' rows go to oneDNN where it is present, to OpenBLAS otherwise.</item>
/// </list>
/// <para>docs/cpu-routes.md has the benchmark rows behind every switch, the command that measured them and
/// the machine.</para>
/// </remarks>
internal sealed class CpuRouteTable
{
    /// <summary>Products under this many multiply-adds are too small to split: the kernels, on the caller.</summary>
    internal const long SingleThreadBelow = 32_768;

    /// <summary>A·Bᵀ on the kernels up to this batch, with oneDNN present.</summary>
    internal const int DotKernelsUpTo = 24;

    /// <summary>A·Bᵀ on the kernels up to this batch, without oneDNN.</summary>
    internal const int DotKernelsWithoutOneDnnUpTo = 255;

    /// <summary>A·Bᵀ on oneDNN's swapped product below this batch, on oneDNN directly from it.</summary>
    internal const int SwappedBelow = 64;

    /// <summary>A·B on the kernels up to this batch, with oneDNN present.</summary>
    internal const int BroadcastKernelsUpTo = 7;

    /// <summary>Aᵀ·B on the kernels up to this batch (k), with oneDNN present.</summary>
    internal const int GradientKernelsUpTo = 32;

    /// <summary>X·W beats X·Wᵀ from this batch, with oneDNN present.</summary>
    internal const int TransposedWeightFrom = 6;

    /// <summary>X·W beats X·Wᵀ from this batch, with the kernels alone.</summary>
    internal const int TransposedWeightWithoutOneDnnFrom = 16;

    /// <summary>16 MiB of floats: at 1024×1024 (4 MiB) the kernels' A·B and Aᵀ·B win, at 4096×4096 (64 MiB) they lose.</summary>
    internal const long LargeOperandFloats = 1L << 22;

    /// <summary>The table for <paramref name="requested"/> with these providers present.</summary>
    /// <param name="requested">The routing asked for.</param>
    /// <param name="kernels">The kernels are loaded and this CPU runs them (AVX-512).</param>
    /// <param name="oneDnn">oneDNN is loaded.</param>
    /// <exception cref="ArgumentException"><paramref name="requested"/> pins a provider that is not present.</exception>
    public CpuRouteTable(CpuRouting requested, bool kernels, bool oneDnn)
    {
        // CpuProviders refuses a missing pinned provider with the reason; a table that routes to one would
        // call into a library that is not there.
        if ((requested == CpuRouting.Kernels && !kernels) || (requested == CpuRouting.OneDnn && !oneDnn))
        {
            throw new ArgumentException($"CpuRouting.{requested} pins a provider that is not present.", nameof(requested));
        }

        Requested = requested;
        HasKernels = kernels && requested is CpuRouting.Auto or CpuRouting.Kernels;
        HasOneDnn = oneDnn && requested is CpuRouting.Auto or CpuRouting.OneDnn;
    }

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
                $"auto: A·Bᵀ kernels to batch {DotKernelsUpTo}, oneDNN swapped to {SwappedBelow - 1}, then oneDNN; "
                + $"A·B kernels to batch {BroadcastKernelsUpTo}, Aᵀ·B to {GradientKernelsUpTo}, then oneDNN "
                + $"(operands past {LargeOperandFloats * sizeof(float) >> 20} MiB: A·B kernels for one row only, Aᵀ·B oneDNN); "
                + $"kernels under {SingleThreadBelow} multiply-adds"),
            (true, false) => string.Create(CultureInfo.InvariantCulture,
                $"auto: A·Bᵀ kernels to batch {DotKernelsWithoutOneDnnUpTo}, then OpenBLAS; A·B and Aᵀ·B kernels at every batch "
                + $"(Aᵀ·B past {LargeOperandFloats * sizeof(float) >> 20} MiB: OpenBLAS)"),
            (false, true) => "auto: oneDNN for every product but Aᵀ·Bᵀ (no AVX-512 kernels)",
            _ => "auto: OpenBLAS for every product (no kernels, no oneDNN)",
        },
    };

    /// <summary>The route for C = op(A)·op(B), C m×n, k the inner dimension.</summary>
    public Route Choose(Transpose transA, Transpose transB, int m, int n, int k)
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
            if (HasKernels && (small || m <= (HasOneDnn ? DotKernelsUpTo : DotKernelsWithoutOneDnnUpTo)))
            {
                return Route.KernelsAbt;
            }

            if (HasOneDnn)
            {
                // The swapped route transposes with the kernels library's AVX-512 code.
                return m < SwappedBelow && HasKernels ? Route.OneDnnSwapped : Route.OneDnn;
            }

            return Route.OpenBlas;
        }

        if (!tb)
        {
            int batch = ta ? k : m;
            // Past LargeOperandFloats the big operand (the weight of A·B, the gradient C of Aᵀ·B) streams from
            // memory, and the kernels' column panels read it in short pieces of many rows: oneDNN's and
            // OpenBLAS's blocking is then faster, except for one row of A·B.
            bool fromMemory = (ta ? (long)m * n : (long)k * n) > LargeOperandFloats;
            int kernelsUpTo = fromMemory ? (ta ? 0 : 1) : (ta ? GradientKernelsUpTo : BroadcastKernelsUpTo);
            Route kernels = ta ? Route.KernelsAtb : Route.KernelsAb;
            if (HasKernels && (small || batch <= kernelsUpTo))
            {
                return kernels;
            }

            if (HasOneDnn)
            {
                return Route.OneDnn;
            }

            // No oneDNN: the kernels beat OpenBLAS at every batch measured, but for a gradient from memory.
            return HasKernels && !(fromMemory && ta) ? kernels : Route.OpenBlas;
        }

        return Route.OpenBlas;
    }

    /// <summary>
    /// Whether X·W (W stored k×n) beats X·Bᵀ (the same matrix stored n×k) at m rows here, so that
    /// <c>Linear</c> gains by keeping its weight transposed too. From the benchmark's Linear and
    /// ParameterLinear forward rows at 1024→1024 (GFLOP/s, X·Bᵀ route / X·W route): with oneDNN,
    /// b4 183/152, b5 130/135, b8 156/274, b32 272/318, b128 297/340, b512 323/346; with the kernels
    /// alone, b8 173/172, b16 182/243, b128 225/296, b512 158/278.
    /// </summary>
    public bool PrefersTransposedWeight(int m, int n, int k)
    {
        // Products too small to split stay on one route whatever their rows, so that a small layer gives the
        // same bits for a row in a batch of any size (the kernels compute each element the same way).
        return Requested == CpuRouting.Auto && !IsSmall(m, n, k)
            && (HasOneDnn ? m >= TransposedWeightFrom : HasKernels && m >= TransposedWeightWithoutOneDnnFrom);
    }
}
