using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>Which backends the sweep runs on.</summary>
internal enum BackendChoice
{
    Auto,
    Cpu,
    Cuda,
    All,
}

/// <summary>Everything that decides what the sweep measures and how long it samples.</summary>
internal sealed record SweepOptions
{
    public static readonly IReadOnlyList<FeatureShape> AllShapes =
        [new(1024, 1024), new(4096, 4096), new(768, 3072), new(4096, 11008)];

    public static readonly IReadOnlyList<int> AllBatches = [1, 8, 32, 128, 512, 2048];

    public bool Quick { get; init; }

    public BackendChoice Backend { get; init; } = BackendChoice.Auto;

    /// <summary>Where the results go; null for results/&lt;yyyyMMdd-HHmmss&gt;/ under the working directory.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>
    /// The CPU routes to measure, each as its own backend side by side in one run; null takes the
    /// default backend's (BLASLINEAR_CPU_ROUTES, auto when unset).
    /// </summary>
    public IReadOnlyList<CpuRouteChoice>? CpuRouting { get; init; }

    /// <summary>OpenBLAS threads to set before measuring; null keeps what the process started with.</summary>
    public int? Threads { get; init; }

    public IReadOnlyList<FeatureShape> Shapes { get; init; } = AllShapes;

    public IReadOnlyList<int> Batches { get; init; } = AllBatches;

    public IReadOnlyList<LayerForm> Layers { get; init; } = [LayerForm.Linear, LayerForm.ParameterLinear];

    public IReadOnlyList<Pass> Passes { get; init; } = [Pass.Forward, Pass.ForwardWithBias, Pass.Backward];

    /// <summary>
    /// The weight precisions, each measured as its own variant of a point, side by side in one run:
    /// bfloat16 applies to the forward passes on backends that hold bfloat16 weights (the CPU).
    /// </summary>
    public IReadOnlyList<WeightPrecision> Precisions { get; init; } = [WeightPrecision.Float32];

    /// <summary>Managed/floor sample pairs per point.</summary>
    public int Pairs { get; init; } = 7;

    /// <summary>The shortest a sample may last; iterations are chosen to reach it.</summary>
    public double MinSampleSeconds { get; init; } = 0.05;

    /// <summary>n of the square GEMM whose best GFLOP/s is the machine's peak.</summary>
    public int PeakSize { get; init; } = 4096;

    public int PeakRepetitions { get; init; } = 5;

    /// <summary>Threads reading together in the read-bandwidth measurement: every thread the machine has.</summary>
    public int BandwidthThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Timed repetitions per footprint in each read-bandwidth measurement (the best counts).</summary>
    public int BandwidthRepetitions { get; init; } = 5;

    /// <summary>A point whose buffers would exceed this is skipped, and said to be.</summary>
    public long MemoryBudgetBytes { get; init; } = DefaultMemoryBudget();

    /// <summary>
    /// Points whose buffers together stay under this are measured together, in rounds: each round records one
    /// sample pair of every point of the group in turn, so that a point's pairs are spread over the group's
    /// whole time instead of one stretch of it (<c>SweepRunner</c>). 0 or less: one point at a time. Unless set,
    /// a quarter of <see cref="MemoryBudgetBytes"/>, at most <see cref="MaxDefaultRoundGroupBytes"/>.
    /// </summary>
    public long RoundGroupBytes
    {
        get => _roundGroupBytes ?? Math.Min(MemoryBudgetBytes / 4, MaxDefaultRoundGroupBytes);
        init => _roundGroupBytes = value;
    }

    /// <summary>The most the default <see cref="RoundGroupBytes"/> takes: a quick sweep's 60 points need about 2 GiB in all.</summary>
    public const long MaxDefaultRoundGroupBytes = 2L << 30;

    private readonly long? _roundGroupBytes;

    /// <summary>A point estimated (at the measured peak) to take longer than this is skipped, and said to be.</summary>
    public double PointTimeBudgetSeconds { get; init; } = 120;

    /// <summary>Seeds the data of both sides of every point.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>What the preset left out, to be printed and reported with the trimmed points.</summary>
    public IReadOnlyList<string> PresetNotes { get; init; } = [];

    public static SweepOptions Full() => new();

    /// <summary>The preset for a first look: under two minutes on two cores.</summary>
    public static SweepOptions QuickPreset()
    {
        IReadOnlyList<FeatureShape> shapes = [new(1024, 1024), new(768, 3072)];
        IReadOnlyList<int> batches = [.. AllBatches.Where(b => b <= 512)];
        string dropped = string.Join(", ", AllShapes.Except(shapes));
        return new SweepOptions
        {
            Quick = true,
            Shapes = shapes,
            Batches = batches,
            Pairs = 5,
            MinSampleSeconds = 0.025,
            PeakSize = 2048,
            PeakRepetitions = 5,
            PointTimeBudgetSeconds = 5,
            PresetNotes =
            [
                $"--quick: shapes {dropped} left out (time: a backward at batch 2048 of 4096→11008 alone is ~370 GFLOP); run without --quick to measure them",
                "--quick: batch 2048 left out (time); batches 1 to 512 measured",
                "--quick: 5 sample pairs of ≥ 25 ms per point instead of 7 of ≥ 50 ms; peak from n = 2048 instead of 4096",
            ],
        };
    }

    /// <summary>Half of the memory the runtime sees, so the sweep leaves room for the rest of the machine.</summary>
    private static long DefaultMemoryBudget() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{(Quick ? "quick" : "full")} sweep, {Pairs} pairs per point, samples ≥ {MinSampleSeconds * 1000:0} ms, seed {Seed}{DescribePrecisions()}");

    /// <summary>Nothing for the default float32 alone, so such a run reads as it always has.</summary>
    private string DescribePrecisions() => Precisions.SequenceEqual([WeightPrecision.Float32])
        ? ""
        : ", weights " + string.Join(" and ", Precisions.Select(PrecisionNames.Of));
}
