namespace BlasLinear.Bench.Sweep;

/// <summary>The machine's peak for this run: the best GFLOP/s of the floor's large square GEMM.</summary>
internal sealed record PeakMeasurement(int Size, double Gflops, Summary Samples)
{
    /// <summary>
    /// The best, not the median: peak is what the hardware and OpenBLAS can reach, and every
    /// disturbance only lowers a sample.
    /// </summary>
    public static PeakMeasurement Measure(int size, int repetitions, ulong seed)
    {
        using FloorContext square = FloorContext.Create(FloorOp.Square, size, size, size, seed);
        double flops = FloorContext.Flops(FloorOp.Square, size, size, size);
        square.Run(1);
        var gflops = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            gflops[i] = flops / square.Time(1) / 1e9;
        }

        Summary summary = Summary.Of(gflops);
        return new PeakMeasurement(size, summary.Max, summary);
    }
}
