using BlasLinear.Bench.Output;
using BlasLinear.Bench.Sweep;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The benchmark's roofline arithmetic on made-up figures, nothing timed: the bytes of each pass, the
/// larger of the two bounds, of_roofline, the bandwidth bookkeeping and the report's note when a row
/// passes its roofline. (One test calls the floor's measurement, for its argument checks only.)
/// </summary>
public sealed class BenchRooflineTests
{
    // Every figure below is a quotient of small integers and powers of ten, exact to the last bit or
    // within a few ulps; this bounds the rounding of one division and one multiplication in double.
    private const double Relative = 1e-14;

    private static void AssertClose(double expected, double actual) =>
        Assert.True(Math.Abs(actual - expected) <= Relative * Math.Abs(expected), $"expected {expected}, got {actual}");

    [Theory]
    // m, n, k: W = n·k, X = m·k, Y (or dY) = m·n elements; 4 bytes each unless the weight's size is given.
    [InlineData(false, false, 3, 5, 7, 4, (4 * 35) + (4 * 21) + (4 * 15), (4 * 35) + (4 * 21) + (4 * 15))]
    [InlineData(false, true, 3, 5, 7, 4, (4 * 35) + (4 * 21) + (4 * 15) + (4 * 5), (4 * 35) + (4 * 21) + (4 * 15) + (4 * 5))]
    // Backward: W, X, dY read; dX written; dW read and written. The footprint holds dW once.
    [InlineData(true, false, 3, 5, 7, 4, (4 * 35) + (4 * 21) + (4 * 15) + (4 * 21) + (2 * 4 * 35), (4 * 35) + (4 * 21) + (4 * 15) + (4 * 21) + (4 * 35))]
    // With a bias, its gradient is read and written too.
    [InlineData(true, true, 3, 5, 7, 4, (4 * 35) + (4 * 21) + (4 * 15) + (4 * 21) + (2 * 4 * 35) + (2 * 4 * 5), (4 * 35) + (4 * 21) + (4 * 15) + (4 * 21) + (4 * 35) + (4 * 5))]
    // A bfloat16 weight: 2 bytes per weight element; activations and the float32 gradient unchanged.
    [InlineData(false, false, 1, 4096, 4096, 2, (2 * 4096 * 4096) + (4 * 4096) + (4 * 4096), (2 * 4096 * 4096) + (4 * 4096) + (4 * 4096))]
    [InlineData(true, false, 2, 3, 5, 2, (2 * 15) + (4 * 10) + (4 * 6) + (4 * 10) + (2 * 4 * 15), (2 * 15) + (4 * 10) + (4 * 6) + (4 * 10) + (4 * 15))]
    public void Traffic_per_pass_follows_the_documented_formula(bool backward, bool bias, int m, int n, int k, int weightBytes, long bytes, long footprint)
    {
        RooflineTraffic traffic = RooflineTraffic.Of(backward, bias, m, n, k, weightBytes);

        Assert.Equal(bytes, traffic.Bytes);
        Assert.Equal(footprint, traffic.FootprintBytes);
    }

    [Fact]
    public void Traffic_of_a_sweep_point_reads_the_bias_only_in_forward_with_bias()
    {
        var shape = new FeatureShape(In: 7, Out: 5);
        foreach (LayerForm layer in new[] { LayerForm.Linear, LayerForm.ParameterLinear })
        {
            Assert.Equal(RooflineTraffic.Of(false, false, 3, 5, 7), RooflineTraffic.Of(new SweepPoint(shape, 3, layer, Pass.Forward)));
            Assert.Equal(RooflineTraffic.Of(false, true, 3, 5, 7), RooflineTraffic.Of(new SweepPoint(shape, 3, layer, Pass.ForwardWithBias)));
            Assert.Equal(RooflineTraffic.Of(true, false, 3, 5, 7), RooflineTraffic.Of(new SweepPoint(shape, 3, layer, Pass.Backward)));
        }

        // A large layer does not overflow: 4096×11008 at batch 2048, backward.
        RooflineTraffic large = RooflineTraffic.Of(new SweepPoint(new FeatureShape(4096, 11008), 2048, LayerForm.Linear, Pass.Backward));
        Assert.Equal((3L * 4 * 4096 * 11008) + (2L * 4 * 2048 * 4096) + (4L * 2048 * 11008), large.Bytes);
    }

    [Fact]
    public void Traffic_rejects_dimensions_below_one_and_odd_element_sizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineTraffic.Of(false, false, 0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineTraffic.Of(false, false, 1, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineTraffic.Of(true, false, 1, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineTraffic.Of(false, false, 1, 1, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineTraffic.Of(false, false, 1, 1, 1, 9));
        Assert.Throws<OverflowException>(() => RooflineTraffic.Of(true, true, long.MaxValue / 2, 4, 4));
    }

    [Fact]
    public void Roofline_time_is_the_larger_of_the_memory_and_compute_bounds()
    {
        // 4 MB at 100 GB/s: 40 µs. 2 MFLOP at 200 GFLOP/s: 10 µs (memory-bound); 20 GFLOP: 0.1 s (compute-bound).
        var traffic = new RooflineTraffic(4_000_000, 4_000_000);
        RooflineEstimate memory = RooflineEstimate.Create(flops: 2e6, traffic, new BandwidthFigure(4_000_000, 100e9), peakGflops: 200);
        AssertClose(40e-6, memory.MemorySeconds);
        AssertClose(10e-6, memory.ComputeSeconds);
        AssertClose(40e-6, memory.Seconds);
        Assert.Equal(RooflineBound.Memory, memory.Bound);
        AssertClose(50, memory.Gflops);

        RooflineEstimate compute = RooflineEstimate.Create(flops: 2e10, traffic, new BandwidthFigure(8_000_000, 100e9), peakGflops: 200);
        AssertClose(0.1, compute.ComputeSeconds);
        AssertClose(0.1, compute.Seconds);
        Assert.Equal(RooflineBound.Compute, compute.Bound);
        AssertClose(200, compute.Gflops);
    }

    [Fact]
    public void Of_roofline_is_roofline_time_over_measured_time()
    {
        var traffic = new RooflineTraffic(4_000_000, 4_000_000);
        RooflineEstimate roof = RooflineEstimate.Create(flops: 2e6, traffic, new BandwidthFigure(4_000_000, 100e9), peakGflops: 200);

        // Measured in 80 µs: half the speed the roofline allows. In 20 µs: twice past it.
        AssertClose(0.5, roof.FractionReachedAt(2e6 / 80e-6 / 1e9));
        AssertClose(2.0, roof.FractionReachedAt(2e6 / 20e-6 / 1e9));
        Assert.Throws<ArgumentOutOfRangeException>(() => roof.FractionReachedAt(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => roof.FractionReachedAt(double.NaN));
    }

    [Theory]
    [InlineData(0, 1e9, 100)]
    [InlineData(1e6, 0, 100)]
    [InlineData(1e6, 1e9, 0)]
    [InlineData(double.PositiveInfinity, 1e9, 100)]
    [InlineData(1e6, double.NaN, 100)]
    [InlineData(1e6, 1e9, -5)]
    public void Roofline_rejects_figures_that_are_not_positive_and_finite(double flops, double bandwidth, double peak) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineEstimate.Create(flops, new RooflineTraffic(64, 64), new BandwidthFigure(64, bandwidth), peak));

    [Fact]
    public void Roofline_rejects_a_bandwidth_measured_at_a_smaller_footprint() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RooflineEstimate.Create(1e6, new RooflineTraffic(96, 64), new BandwidthFigure(63, 1e9), 100));

    [Fact]
    public void Bandwidth_takes_the_best_sample_of_each_footprint_and_combines_runs()
    {
        var start = new BandwidthMeasurement(2, 5, new Dictionary<long, IReadOnlyList<double>> { [4096] = [50e9], [1 << 20] = [30e9] });
        var end = new BandwidthMeasurement(2, 5, new Dictionary<long, IReadOnlyList<double>> { [4096] = [70e9], [1 << 20] = [20e9] });

        BandwidthMeasurement both = start.Combine(end);

        Assert.Equal([4096L, 1 << 20], both.Footprints);
        Assert.Equal(70e9, both.BytesPerSecond(4096));
        Assert.Equal(30e9, both.BytesPerSecond(1 << 20));
        Assert.Equal(2, both.Samples[4096].Count);
        Assert.Throws<KeyNotFoundException>(() => both.BytesPerSecond(8192));
    }

    [Fact]
    public void A_point_uses_the_best_figure_at_its_footprint_or_any_larger_one()
    {
        var measured = new BandwidthMeasurement(2, 5, new Dictionary<long, IReadOnlyList<double>>
        {
            [1000] = [90e9, 120e9],
            [2000] = [60e9, 150e9],
            [3000] = [40e9],
            [9000] = [20e9],
        });

        // 1000: its own best (120) is below 2000's (150), which a smaller read can reach as well.
        Assert.Equal(new BandwidthFigure(2000, 150e9), measured.FigureFor(1000));
        Assert.Equal(new BandwidthFigure(2000, 150e9), measured.FigureFor(1500));
        Assert.Equal(new BandwidthFigure(2000, 150e9), measured.FigureFor(2000));
        Assert.Equal(new BandwidthFigure(3000, 40e9), measured.FigureFor(2001));
        Assert.Equal(new BandwidthFigure(9000, 20e9), measured.FigureFor(9000));
        Assert.Throws<KeyNotFoundException>(() => measured.FigureFor(9001));
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(-4096, 1, 1)]
    [InlineData(4096, 0, 1)]
    [InlineData(4096, ReadBandwidth.MaxThreads + 1, 1)]
    [InlineData(4096, 1, 0)]
    public void Read_bandwidth_validates_its_arguments_before_the_native_call(long bytes, int threads, int repetitions) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadBandwidth.Measure(bytes, threads, repetitions));

    [Fact]
    public void Report_says_which_ceiling_is_too_low_when_a_row_exceeds_its_roofline()
    {
        var shape = new FeatureShape(64, 32);
        var traffic = new RooflineTraffic(1 << 20, 1 << 20);
        // Compute-bound (1e9 flops at 100 GFLOP/s = 10 ms against ~10 µs of memory), measured at 150: 1.5.
        RooflineEstimate computeBound = RooflineEstimate.Create(1e9, traffic, new BandwidthFigure(1 << 20, 100e9), 100);
        // Memory-bound (1e3 flops against 10 µs of memory: 0.1 GFLOP/s allowed), measured at 0.05: 0.5.
        RooflineEstimate memoryBound = RooflineEstimate.Create(1e3, new RooflineTraffic(1_000_000, 1_000_000), new BandwidthFigure(1 << 20, 100e9), 100);
        var fast = new PointResult("cpu", new SweepPoint(shape, 512, LayerForm.Linear, Pass.Forward), 1, 1, 1, new Summary(150, 150, 150), new Summary(90, 90, 90), 100, computeBound);
        var slow = new PointResult("cpu", new SweepPoint(shape, 1, LayerForm.Linear, Pass.Forward), 1, 1, 1, new Summary(0.05, 0.05, 0.05), new Summary(0.06, 0.06, 0.06), 100, memoryBound);
        AssertClose(1.5, fast.OfRoofline);
        AssertClose(0.5, slow.OfRoofline);

        SweepResult Result(params PointResult[] points) => new(
            new SweepOptions(), DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(1), new PeakMeasurement(64, [100.0]),
            new BandwidthMeasurement(2, 1, new Dictionary<long, IReadOnlyList<double>> { [1 << 20] = [100e9] }), [], [], points);

        string note = Assert.Single(RooflineReport.ExceedNotes(Result(fast, slow)));
        Assert.Contains("1 compute-bound row(s) exceed their roofline", note, StringComparison.Ordinal);
        Assert.Contains("not the machine's real ceiling", note, StringComparison.Ordinal);
        Assert.Empty(RooflineReport.ExceedNotes(Result(slow)));

        string folder = Path.Combine(Path.GetTempPath(), "blaslinear-roofline-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "report.md");
            MarkdownReportWriter.Write(Result(fast, slow), [], path);
            string report = File.ReadAllText(path);
            Assert.Contains("**Note:** 1 compute-bound row(s) exceed their roofline", report, StringComparison.Ordinal);
            Assert.Contains("| 64→32 | 512 | Linear | forward | 1.00 MiB | 1.00 MiB | 100.0 (1.00 MiB) | compute | 100.0 | 1.50 | 0.90 |", report, StringComparison.Ordinal);

            MarkdownReportWriter.Write(Result(slow), [], path);
            Assert.DoesNotContain("**Note:**", File.ReadAllText(path), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
