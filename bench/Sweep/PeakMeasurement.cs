namespace BlasLinear.Bench.Sweep;

/// <summary>The machine's peak for this run: the best GFLOP/s of the floor's large square GEMM.</summary>
internal sealed record PeakMeasurement(int Size, IReadOnlyList<double> Samples)
{
    // Two untimed runs: the first pays for page faults and thread start-up, the second lets the clock ramp.
    private const int WarmupRuns = 2;

    /// <summary>
    /// The best, not the median: peak is what the hardware and OpenBLAS can reach, and every
    /// disturbance only lowers a sample.
    /// </summary>
    public double Gflops => Samples.Max();

    public Summary Summary => Summary.Of(Samples);

    /// <summary>The host's peak: the floor's square <c>cblas_sgemm</c>.</summary>
    public static PeakMeasurement Measure(int size, int repetitions, ulong seed)
    {
        using var square = new FloorWorkload(FloorContext.Create(FloorOp.Square, size, size, size, seed));
        return Measure(square, size, repetitions);
    }

    /// <summary>The best GFLOP/s of <paramref name="repetitions"/> timed runs of a square n×n·n×n product, after two untimed ones.</summary>
    public static PeakMeasurement Measure(ITimedWorkload square, int size, int repetitions)
    {
        ArgumentNullException.ThrowIfNull(square);
        double flops = 2.0 * size * size * size;
        square.Time(WarmupRuns);
        var gflops = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            gflops[i] = flops / square.Time(1) / 1e9;
        }

        return new PeakMeasurement(size, gflops);
    }

    /// <summary>
    /// Both measurements' samples. The sweep measures at its start and again at its end, so a machine
    /// that was busy for a moment does not leave every point above a peak measured too low.
    /// </summary>
    public PeakMeasurement Combine(PeakMeasurement later)
    {
        ArgumentNullException.ThrowIfNull(later);
        return this with { Samples = [.. Samples, .. later.Samples] };
    }
}
