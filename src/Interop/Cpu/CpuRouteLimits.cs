namespace BlasLinear.Backends;

/// <summary>
/// The batches at which <see cref="CpuRouteTable"/>'s Auto table switches provider, one set per instruction
/// set of the kernels: each path was measured against oneDNN and OpenBLAS on its own (docs/cpu-routes.md
/// has the benchmark rows behind every value, the command and the machine). "Batch" is m for A·Bᵀ and A·B,
/// k for Aᵀ·B.
/// </summary>
/// <param name="DotKernelsUpTo">A·Bᵀ on the kernels up to this batch, with oneDNN present.</param>
/// <param name="DotKernelsWithoutOneDnnUpTo">A·Bᵀ on the kernels up to this batch, without oneDNN.</param>
/// <param name="SwappedBelow">A·Bᵀ on oneDNN's swapped product below this batch, on oneDNN directly from it.</param>
/// <param name="BroadcastKernelsUpTo">A·B on the kernels up to this batch, with oneDNN present.</param>
/// <param name="BroadcastKernelsWithoutOneDnnUpTo">A·B on the kernels up to this batch, without oneDNN.</param>
/// <param name="GradientKernelsUpTo">Aᵀ·B on the kernels up to this batch, with oneDNN present.</param>
/// <param name="GradientKernelsPackedUpTo">Aᵀ·B on the kernels up to this batch, with oneDNN present, where the AVX2 path
/// copies B into panels (<see cref="CpuRouteTable.CopiesB"/>: B's rows a multiple of 4 KiB apart, and a copy it can share).</param>
/// <param name="GradientKernelsWithoutOneDnnUpTo">Aᵀ·B on the kernels up to this batch, without oneDNN.</param>
/// <param name="GradientKernelsPackedWithoutOneDnnUpTo">As <paramref name="GradientKernelsPackedUpTo"/>, without oneDNN.</param>
/// <param name="TransposedWeightFrom">X·W beats X·Wᵀ from this batch, with oneDNN present.</param>
/// <param name="TransposedWeightWithoutOneDnnFrom">X·W beats X·Wᵀ from this batch, with the kernels alone.</param>
/// <param name="LargeOperandFloats">Past this many floats the big operand of A·B and Aᵀ·B streams from memory:
/// with oneDNN, A·B on the kernels at batch 1 only (<see cref="CpuRouteTable.FromMemoryKernelsUpTo"/>), Aᵀ·B up to
/// <paramref name="GradientFromMemoryKernelsUpTo"/>; without it, up to <paramref name="BroadcastFromMemoryWithoutOneDnnUpTo"/>
/// and <paramref name="GradientFromMemoryWithoutOneDnnUpTo"/>.</param>
/// <param name="GradientFromMemoryKernelsUpTo">Aᵀ·B with the gradient past <paramref name="LargeOperandFloats"/> on the
/// kernels up to this batch, with oneDNN present.</param>
/// <param name="BroadcastFromMemoryWithoutOneDnnUpTo">A·B with the weight past <paramref name="LargeOperandFloats"/>
/// on the kernels up to this batch, without oneDNN.</param>
/// <param name="GradientFromMemoryWithoutOneDnnUpTo">Aᵀ·B with the gradient past <paramref name="LargeOperandFloats"/>
/// on the kernels up to this batch, without oneDNN (OpenBLAS after).</param>
/// <param name="BroadcastOpenBlasOverOneDnn">A·B past <paramref name="BroadcastKernelsUpTo"/> (and within
/// <paramref name="LargeOperandFloats"/>) goes to OpenBLAS even with oneDNN present.</param>
internal sealed record CpuRouteLimits(
    int DotKernelsUpTo,
    int DotKernelsWithoutOneDnnUpTo,
    int SwappedBelow,
    int BroadcastKernelsUpTo,
    int BroadcastKernelsWithoutOneDnnUpTo,
    int GradientKernelsUpTo,
    int GradientKernelsPackedUpTo,
    int GradientKernelsWithoutOneDnnUpTo,
    int GradientKernelsPackedWithoutOneDnnUpTo,
    int TransposedWeightFrom,
    int TransposedWeightWithoutOneDnnFrom,
    long LargeOperandFloats,
    int GradientFromMemoryKernelsUpTo,
    int BroadcastFromMemoryWithoutOneDnnUpTo,
    int GradientFromMemoryWithoutOneDnnUpTo,
    bool BroadcastOpenBlasOverOneDnn)
{
    /// <summary>
    /// The AVX-512 path, from the 1024→1024 rows of docs/cpu-routes.md ("The Auto table"): A·Bᵀ kernels to
    /// 24 (at 32 oneDNN swapped leads), swapped to 63 (at 64 oneDNN leads), 255 without oneDNN (OpenBLAS leads
    /// at 512); A·B kernels to 7 (oneDNN leads at 8); Aᵀ·B to 32 (oneDNN leads at 63); without oneDNN the
    /// broadcasts beat OpenBLAS at every batch; 16 MiB: at 1024×1024 (4 MiB) the kernels' A·B and Aᵀ·B win,
    /// at 4096×4096 (64 MiB) their A·B loses from batch 2. Past 16 MiB their Aᵀ·B leads oneDNN to batch 32, as from
    /// cache: on the Zen 5 1.14–1.31 times at k = 2–4 and 1.07 at 8 (4096×4096, before the kernels prefetched the
    /// gradient; not measured past 8); on the Zen 4, since that prefetch, 1.6–2.5 times at k = 8–32 on 4096×4096,
    /// 11008×4096 and 4096×11008 (1.27 at 64). Without oneDNN they lead OpenBLAS (its Cooperlake kernels, its
    /// own two threads) past 16 MiB 1.39–1.93 times at k = 1–16 and 1.08 at 32 (the Zen 5 rows: 1.36–1.49 at
    /// k = 2–4); at the layer every backward at 2 and 8 gained, at 16 and 32 4096→11008 lost, so to 8 (it was 1).
    /// This path does not copy B: its 6 × 64 tiles ran as fast
    /// with B's rows 4 KiB apart as otherwise (79–101 GFLOP/s a thread at k = 8–32, Zen 4), so the packed limit is
    /// the same.
    /// </summary>
    public static readonly CpuRouteLimits Avx512 = new(
        DotKernelsUpTo: 24,
        DotKernelsWithoutOneDnnUpTo: 255,
        SwappedBelow: 64,
        BroadcastKernelsUpTo: 7,
        BroadcastKernelsWithoutOneDnnUpTo: int.MaxValue,
        GradientKernelsUpTo: 32,
        GradientKernelsPackedUpTo: 32,
        GradientKernelsWithoutOneDnnUpTo: int.MaxValue,
        GradientKernelsPackedWithoutOneDnnUpTo: int.MaxValue,
        TransposedWeightFrom: 6,
        TransposedWeightWithoutOneDnnFrom: 16,
        LargeOperandFloats: 1L << 22,
        GradientFromMemoryKernelsUpTo: 32,
        BroadcastFromMemoryWithoutOneDnnUpTo: int.MaxValue,
        GradientFromMemoryWithoutOneDnnUpTo: 8,
        BroadcastOpenBlasOverOneDnn: false);

    /// <summary>
    /// The AVX2 path, from the rows of docs/cpu-routes.md ("The AVX2 table"), measured against oneDNN held to
    /// AVX2 (<c>DNNL_MAX_CPU_ISA=AVX2</c>: what an AVX2 CPU runs) and OpenBLAS's Haswell kernels, by the
    /// benchmark and by one column slice (the router's unit of work) timed on one thread. A·Bᵀ: the kernels
    /// lead to batch 12 (from 13 oneDNN and the swapped product do), the swapped product leads oneDNN to 63 as
    /// on AVX-512; without oneDNN OpenBLAS leads from 32. A·B: the kernels lead to 24; past that OpenBLAS leads
    /// and oneDNN's AVX2 A·B trails both (65–70 GFLOP/s a thread against 85–90), with oneDNN present or not;
    /// past 16 MiB without oneDNN OpenBLAS leads from 4. Aᵀ·B: the kernels lead to batch 5 (at 1 and 2 they
    /// stream C one row at a time, atb_rows; at 3–5 their full 4-row tiles, inline, with one add for a gradient
    /// accumulated), measured at the layer on a Zen 4: every backward at 3, 4 and 5 faster with them, not every
    /// shape at 6 and 8 (in a slice with the router's leading dimension oneDNN's AVX2 Aᵀ·B runs 0.5–0.75 times
    /// its speed on a contiguous one, the kernels 0.7–0.9). Where B's rows are a multiple of 4 KiB apart (B 1024,
    /// 2048, 3072 or 4096 floats wide) the kernels copy B into panels and lead to 16: 31 of 34 same-run backward
    /// pairs at 6–16 on a Zen 4, 5 of 10 at 24, against 5 of 8 at 6–8 on B 768 wide. Without oneDNN OpenBLAS leads
    /// from 12, or from 17 where B is copied (the kernels won 13 of 16 pairs at 12–16 against OpenBLAS's Haswell
    /// kernels, 5 of 8 at 24). X·W never beats X·Wᵀ by a margin that pays for the copy. 16 MiB as on AVX-512: the
    /// kernels' A·B wins to 16 MiB and loses from 31 MiB, far above the 1 MiB L2, so the limit is the last-level
    /// cache's, which this machine misreports. Past it their Aᵀ·B leads oneDNN to batch 8 since the kernels prefetch
    /// the gradient (Zen 4, oneDNN held to AVX2, two threads: 1.5–1.8 times at k = 4–8 on 4096×4096, 11008×4096 and
    /// 4096×11008, and every layer backward at batch 8 1.04–1.43 times as fast; at 16 the products led 1.1–1.4 times
    /// but the ParameterLinear backwards ran 0.84–0.98 times; before the prefetch the limit was 4, from a tie at 2
    /// and 1.3 times at 4, with 1.06–1.1 at k = 2–4 on a Zen 5). Without oneDNN they lead OpenBLAS's Haswell kernels
    /// past 16 MiB to batch 16 (two threads, Zen 4: 1.07–1.93 times at k = 1–16, 0.87 at 32); at the layer every
    /// backward at 8 gained, at 2 and 16 some lost, so to 8 (it was 1).
    /// </summary>
    public static readonly CpuRouteLimits Avx2 = new(
        DotKernelsUpTo: 12,
        DotKernelsWithoutOneDnnUpTo: 24,
        SwappedBelow: 64,
        BroadcastKernelsUpTo: 24,
        BroadcastKernelsWithoutOneDnnUpTo: 24,
        GradientKernelsUpTo: 5,
        GradientKernelsPackedUpTo: 16,
        GradientKernelsWithoutOneDnnUpTo: 8,
        GradientKernelsPackedWithoutOneDnnUpTo: 16,
        TransposedWeightFrom: int.MaxValue,
        TransposedWeightWithoutOneDnnFrom: int.MaxValue,
        LargeOperandFloats: 1L << 22,
        GradientFromMemoryKernelsUpTo: 8,
        BroadcastFromMemoryWithoutOneDnnUpTo: 2,
        GradientFromMemoryWithoutOneDnnUpTo: 8,
        BroadcastOpenBlasOverOneDnn: true);

    /// <summary>The limits measured for <paramref name="isa"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="isa"/> is <see cref="CpuKernelIsa.Auto"/> or undefined: a table is for one path.</exception>
    public static CpuRouteLimits For(CpuKernelIsa isa) => isa switch
    {
        CpuKernelIsa.Avx512 => Avx512,
        CpuKernelIsa.Avx2 => Avx2,
        _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, "A route table is for one instruction set, Avx512 or Avx2."),
    };
}
