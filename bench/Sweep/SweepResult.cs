using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>
/// One point's outcome: GFLOP/s of both sides over the interleaved samples (each side's sample runs its own
/// iteration count), and the point's roofline.
/// </summary>
internal sealed record PointResult(string Backend, SweepPoint Point, int Iterations, int FloorIterations, int Pairs, Summary Managed, Summary Floor, double PeakGflops, RooflineEstimate Roofline)
{
    /// <summary>Managed median over floor median: 1 means the layer costs nothing over raw BLAS.</summary>
    public double Ratio => Managed.Median / Floor.Median;

    public double FractionOfPeak => Managed.Median / PeakGflops;

    public double FloorFractionOfPeak => Floor.Median / PeakGflops;

    /// <summary>Roofline time over the managed side's median time: 1 is as fast as the machine allows.</summary>
    public double OfRoofline => Roofline.FractionReachedAt(Managed.Median);

    /// <summary>The same for the floor.</summary>
    public double FloorOfRoofline => Roofline.FractionReachedAt(Floor.Median);
}

/// <summary>What a backend is, as the report shows it.</summary>
internal sealed record BackendInfo(string Name, BackendDescription Description, int? OpenBlasThreads);

/// <summary>
/// Everything the writers need: the settings, the machine, the host's peak and read bandwidth, every
/// point, and the ceilings of each backend with memory of its own.
/// </summary>
internal sealed record SweepResult(
    SweepOptions Options,
    DateTimeOffset Started,
    TimeSpan Elapsed,
    PeakMeasurement Peak,
    BandwidthMeasurement Bandwidth,
    IReadOnlyList<BackendInfo> Backends,
    IReadOnlyList<string> Notes,
    IReadOnlyList<PointResult> Points)
{
    /// <summary>The ceilings of each backend with memory of its own (CUDA); its rows use these, not <see cref="Peak"/> and <see cref="Bandwidth"/>.</summary>
    public IReadOnlyList<BackendCeilings> DeviceCeilings { get; init; } = [];

    /// <summary>The peak a backend's rows are measured against.</summary>
    public double PeakFor(string backend) =>
        DeviceCeilings.FirstOrDefault(d => d.Backend == backend)?.Peak.Gflops ?? Peak.Gflops;
}

/// <summary>A backend's own ceilings: its peak and its read bandwidth per footprint.</summary>
internal sealed record BackendCeilings(string Backend, PeakMeasurement Peak, BandwidthMeasurement Bandwidth)
{
    /// <summary>Both measurements' samples (the run measures at its start and at its end).</summary>
    public BackendCeilings Combine(BackendCeilings later)
    {
        ArgumentNullException.ThrowIfNull(later);
        return this with { Peak = Peak.Combine(later.Peak), Bandwidth = Bandwidth.Combine(later.Bandwidth) };
    }
}
