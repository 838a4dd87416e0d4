using BlasLinear.Bench.Sweep;

namespace BlasLinear.Tests.Support;

/// <summary>The throughput sweep at one tiny point (in 16, out 8, batch 2) with the shortest sampling: what the bench tests run.</summary>
internal static class TinySweep
{
    public const int Batch = 2, In = 16, Out = 8;

    /// <summary>The options, results into <paramref name="folder"/>, on <paramref name="backend"/>.</summary>
    public static SweepOptions Options(string folder, BackendChoice backend = BackendChoice.Cpu) => new()
    {
        Backend = backend,
        OutputDirectory = folder,
        Shapes = [new FeatureShape(In, Out)],
        Batches = [Batch],
        Pairs = 1,
        MinSampleSeconds = 0.001,
        PeakSize = 64,
        PeakRepetitions = 1,
        BandwidthRepetitions = 1,
    };
}
