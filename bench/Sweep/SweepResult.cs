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

/// <summary>Everything the writers need: the settings, the machine, the peak, the read bandwidth and every point.</summary>
internal sealed record SweepResult(
    SweepOptions Options,
    DateTimeOffset Started,
    TimeSpan Elapsed,
    PeakMeasurement Peak,
    BandwidthMeasurement Bandwidth,
    IReadOnlyList<BackendInfo> Backends,
    IReadOnlyList<string> Notes,
    IReadOnlyList<PointResult> Points);
