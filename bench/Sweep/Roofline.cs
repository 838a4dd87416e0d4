namespace BlasLinear.Bench.Sweep;

/// <summary>Which of the roofline's two bounds sets a point's time.</summary>
internal enum RooflineBound
{
    Memory,
    Compute,
}

/// <summary>
/// The least memory traffic of one call, and its footprint (the bytes of distinct data it touches, which
/// decides the cache level its bandwidth comes from). M = batch, K = in_features, N = out_features;
/// activations, gradients and the bias are float32 (4 bytes); the weight's element size is a parameter,
/// so a weight stored in bfloat16 (2) gets its own roofline.
/// <code>
/// forward   W read w·N·K + X read 4·M·K + Y written 4·M·N (+ bias read 4·N)
/// backward  W read w·N·K + X read 4·M·K + dY read 4·M·N + dX written 4·M·K
///           + dW read and written 2·4·N·K (+ bias gradient read and written 2·4·N)
/// </code>
/// The footprint counts every buffer once: the same as the traffic for a forward, and the traffic less
/// one read of dW (and of the bias gradient) for a backward.
/// </summary>
internal readonly record struct RooflineTraffic(long Bytes, long FootprintBytes)
{
    private const int Float32Bytes = sizeof(float);

    /// <exception cref="ArgumentOutOfRangeException">A dimension is below 1, or the weight's element size is outside [1, 8].</exception>
    public static RooflineTraffic Of(bool backward, bool bias, long m, long n, long k, int weightElementBytes = Float32Bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(weightElementBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weightElementBytes, 8);
        checked
        {
            long weight = weightElementBytes * n * k;
            long x = Float32Bytes * m * k, y = Float32Bytes * m * n, b = bias ? Float32Bytes * n : 0;
            if (!backward)
            {
                long forward = weight + x + y + b;
                return new RooflineTraffic(forward, forward);
            }

            long gradient = Float32Bytes * n * k;
            long footprint = weight + x + y + x + gradient + b;
            return new RooflineTraffic(footprint + gradient + b, footprint);
        }
    }

    /// <summary>
    /// The traffic of a sweep point: its forward+bias reads the bias; its backward runs without one; its
    /// weight has the point's element size (2 bytes for a bfloat16 row).
    /// </summary>
    public static RooflineTraffic Of(SweepPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return Of(point.Pass == Pass.Backward, point.HasBias, point.Batch, point.Shape.Out, point.Shape.In, point.WeightElementBytes);
    }
}

/// <summary>
/// The least time a call can take on this machine: the larger of its bytes over the read bandwidth
/// measured at its footprint, and its flops over the compute peak.
/// </summary>
internal sealed record RooflineEstimate
{
    private RooflineEstimate(double flops, RooflineTraffic traffic, BandwidthFigure bandwidth, double peakGflops)
    {
        Flops = flops;
        Traffic = traffic;
        Bandwidth = bandwidth;
        PeakGflops = peakGflops;
    }

    public double Flops { get; }

    public RooflineTraffic Traffic { get; }

    /// <summary>The read bandwidth used: measured at <see cref="RooflineTraffic.FootprintBytes"/> or above.</summary>
    public BandwidthFigure Bandwidth { get; }

    public double PeakGflops { get; }

    public double MemorySeconds => Traffic.Bytes / Bandwidth.BytesPerSecond;

    public double ComputeSeconds => Flops / (PeakGflops * 1e9);

    public double Seconds => Math.Max(MemorySeconds, ComputeSeconds);

    public RooflineBound Bound => MemorySeconds >= ComputeSeconds ? RooflineBound.Memory : RooflineBound.Compute;

    /// <summary>The GFLOP/s the roofline allows: what a call taking exactly <see cref="Seconds"/> would reach.</summary>
    public double Gflops => Flops / Seconds / 1e9;

    /// <exception cref="ArgumentOutOfRangeException">A figure is not positive and finite, the traffic is empty, or the bandwidth was measured at a smaller footprint than the traffic's.</exception>
    public static RooflineEstimate Create(double flops, RooflineTraffic traffic, BandwidthFigure bandwidth, double peakGflops)
    {
        ThrowIfNotPositiveFinite(flops);
        ThrowIfNotPositiveFinite(bandwidth.BytesPerSecond, nameof(bandwidth));
        ThrowIfNotPositiveFinite(peakGflops);
        ArgumentOutOfRangeException.ThrowIfLessThan(traffic.Bytes, 1, nameof(traffic));
        ArgumentOutOfRangeException.ThrowIfLessThan(bandwidth.MeasuredAtBytes, traffic.FootprintBytes, nameof(bandwidth));
        return new RooflineEstimate(flops, traffic, bandwidth, peakGflops);
    }

    /// <summary>
    /// Roofline time over measured time, for a measurement given as GFLOP/s of the same flops: 1 is the
    /// roofline itself; above 1 means one of the two ceilings was measured below what the machine does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="measuredGflops"/> is not positive and finite.</exception>
    public double FractionReachedAt(double measuredGflops)
    {
        ThrowIfNotPositiveFinite(measuredGflops);
        return measuredGflops / Gflops;
    }

    private static void ThrowIfNotPositiveFinite(double value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (!double.IsFinite(value) || value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "must be positive and finite");
        }
    }
}
