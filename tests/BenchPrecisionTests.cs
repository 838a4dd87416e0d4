using System.Globalization;
using BlasLinear.Backends;
using BlasLinear.Bench.Output;
using BlasLinear.Bench.Sweep;
using BlasLinear.Tests.Support;
using Spectre.Console;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The sweep's <c>--precision</c>: parsing, the plan (bfloat16 for forward passes only), a run on a tiny
/// shape that writes both precisions with the bfloat16 roofline, and CUDA's refusal. Nothing here measures speed.
/// </summary>
public sealed class BenchPrecisionTests : IDisposable
{
    private const int Batch = TinySweep.Batch, In = TinySweep.In, Out = TinySweep.Out;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "blaslinear-bench-precision-" + Guid.NewGuid().ToString("N"));

    private static SweepOptions Tiny(string folder, BackendChoice backend = BackendChoice.Cpu) =>
        TinySweep.Options(folder, backend) with { Precisions = [WeightPrecision.Float32, WeightPrecision.BFloat16] };

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void Precision_defaults_to_float32_alone()
    {
        Assert.Equal([WeightPrecision.Float32], SweepCommandLine.Parse([], out string? error)!.Precisions);
        Assert.Null(error);
        Assert.Equal([WeightPrecision.Float32], SweepCommandLine.Parse(["--quick"], out _)!.Precisions);
    }

    [Theory]
    [InlineData("float32,bfloat16", new[] { WeightPrecision.Float32, WeightPrecision.BFloat16 })]
    [InlineData("BFloat16, FLOAT32", new[] { WeightPrecision.BFloat16, WeightPrecision.Float32 })]
    [InlineData("bfloat16", new[] { WeightPrecision.BFloat16 })]
    [InlineData("float32", new[] { WeightPrecision.Float32 })]
    public void Precision_takes_a_case_insensitive_list(string value, WeightPrecision[] expected)
    {
        SweepOptions? options = SweepCommandLine.Parse(["--quick", "--precision", value], out string? error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal(expected, options.Precisions);
        Assert.True(options.Quick);
    }

    [Theory]
    [InlineData("float16")]
    [InlineData("fp32")]
    [InlineData("float32,bf16")]
    [InlineData("float32,float32")]
    [InlineData("float32,")]
    [InlineData("")]
    public void A_bad_precision_is_a_usage_error_naming_the_accepted_values(string value)
    {
        Assert.Null(SweepCommandLine.Parse(["--precision", value], out string? error));

        Assert.NotNull(error);
        Assert.StartsWith("--precision", error, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error, StringComparison.Ordinal);
        Assert.Contains("float32, bfloat16", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Precision_without_a_value_is_a_usage_error()
    {
        Assert.Null(SweepCommandLine.Parse(["--precision"], out string? error));
        Assert.Equal("--precision needs a value.", error);
        Assert.Contains("--precision", SweepCommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_puts_bfloat16_beside_float32_for_forward_passes_only_and_says_why_not_backward()
    {
        SweepPlan plan = SweepPlan.Create(Tiny(_folder), peakGflops: 100);

        // Per pass and layer form, the precisions in the order asked, adjacent.
        string[] expected =
        [
            "Linear forward float32", "Linear forward bfloat16", "ParameterLinear forward float32", "ParameterLinear forward bfloat16",
            "Linear forward+bias float32", "Linear forward+bias bfloat16", "ParameterLinear forward+bias float32", "ParameterLinear forward+bias bfloat16",
            "Linear backward float32", "ParameterLinear backward float32",
        ];
        Assert.Equal(expected, plan.Points.Select(p => $"{p.LayerName} {p.PassName} {p.PrecisionName}"));
        Assert.Single(plan.Trimmed, t => t.StartsWith("backward: no bfloat16 rows", StringComparison.Ordinal)
            && t.Contains("InvalidOperationException", StringComparison.Ordinal));

        SweepPlan onlyBFloat16 = SweepPlan.Create(Tiny(_folder) with { Precisions = [WeightPrecision.BFloat16] }, peakGflops: 100);
        Assert.Equal(4, onlyBFloat16.Points.Count);
        Assert.All(onlyBFloat16.Points, p => Assert.Equal(WeightPrecision.BFloat16, p.Precision));
        Assert.DoesNotContain(onlyBFloat16.Points, p => p.Pass == Pass.Backward);
        Assert.Single(onlyBFloat16.Trimmed, t => t.StartsWith("backward: not measured", StringComparison.Ordinal));

        SweepPlan float32 = SweepPlan.Create(Tiny(_folder) with { Precisions = [WeightPrecision.Float32] }, peakGflops: 100);
        Assert.Equal(6, float32.Points.Count);
        Assert.Empty(float32.Trimmed);
    }

    [Fact]
    public void A_bfloat16_point_prepares_its_layer_in_bfloat16_and_a_bfloat16_backward_is_refused()
    {
        using BlasBackend backend = BlasBackend.Create(BackendPreference.Cpu);
        var shape = new FeatureShape(In, Out);
        foreach (WeightPrecision precision in new[] { WeightPrecision.Float32, WeightPrecision.BFloat16 })
        {
            using ManagedWorkload forward = ManagedWorkload.Create(new SweepPoint(shape, Batch, LayerForm.Linear, Pass.ForwardWithBias, precision), backend, 42);
            Assert.Equal(precision, forward.PreparedPrecision);
        }

        var backward = new SweepPoint(shape, Batch, LayerForm.ParameterLinear, Pass.Backward, WeightPrecision.BFloat16);
        Assert.Throws<ArgumentException>(() => ManagedWorkload.Create(backward, backend, 42));
    }

    [Fact]
    public void Sweep_with_both_precisions_writes_bfloat16_forward_rows_with_two_byte_weights_in_the_roofline()
    {
        SweepResult result;
        using (SweepRunner runner = SweepRunner.Prepare(Tiny(_folder)))
        {
            Assert.Equal(10, runner.TotalPoints);
            result = runner.Run(new PlainSweepObserver(TextWriter.Null));
        }

        ResultFolder.Write(result, _folder);
        string[] csv = File.ReadAllLines(Path.Combine(_folder, ResultFolder.CsvName));
        string[] header = csv[0].Split(',');
        int Column(string name)
        {
            int index = Array.IndexOf(header, name);
            Assert.True(index >= 0, $"results.csv has no column {name}");
            return index;
        }

        Assert.Equal(1, header.Count(h => h == "precision"));
        var rows = new HashSet<string>();
        foreach (string line in csv.Skip(1))
        {
            string[] cells = line.Split(',');
            Assert.Equal(header.Length, cells.Length);
            string precision = cells[Column("precision")];
            string pass = cells[Column("pass")];
            Assert.Contains(precision, new[] { "float32", "bfloat16" });
            Assert.True(rows.Add($"{cells[Column("layer")]} {pass} {precision}"), $"a repeated row: {line}");

            // The least bytes of one call from the shape, the weight at its precision's element size.
            long m = Batch, k = In, n = Out;
            long weightBytes = precision == "bfloat16" ? 2 : 4;
            long expected = pass switch
            {
                "forward" => (weightBytes * n * k) + (4 * m * k) + (4 * m * n),
                "forward+bias" => (weightBytes * n * k) + (4 * m * k) + (4 * m * n) + (4 * n),
                _ => (weightBytes * n * k) + (4 * m * k) + (4 * m * n) + (4 * m * k) + (2 * 4 * n * k),
            };
            Assert.Equal(expected, Long(cells[Column("roofline_bytes")]));
            if (pass != "backward")
            {
                Assert.Equal(expected, Long(cells[Column("roofline_footprint_bytes")]));
            }

            // The row's roofline time is the larger of its bytes over its own bandwidth figure and its
            // flops over the peak, and of_roofline is measured against it.
            Assert.True(Long(cells[Column("bandwidth_measured_at_bytes")]) >= Long(cells[Column("roofline_footprint_bytes")]), line);
            double memory = Long(cells[Column("roofline_bytes")]) / (Number(cells[Column("bandwidth_gbps")]) * 1e9);
            double compute = Number(cells[Column("flops_per_call")]) / (Number(cells[Column("peak_gflops")]) * 1e9);
            double seconds = Number(cells[Column("roofline_seconds")]);
            Assert.True(Math.Abs(seconds - Math.Max(memory, compute)) <= 1e-9 * seconds, $"roofline_seconds {seconds} in: {line}");
            double ofRoofline = Number(cells[Column("of_roofline")]);
            double ratio = Number(cells[Column("managed_gflops_median")]) / Number(cells[Column("roofline_gflops")]);
            Assert.True(Math.Abs(ofRoofline - ratio) <= 1e-12 * ofRoofline, $"of_roofline {ofRoofline} in: {line}");
        }

        string[] expectedRows =
        [
            "Linear forward float32", "Linear forward bfloat16", "Linear forward+bias float32", "Linear forward+bias bfloat16", "Linear backward float32",
            "ParameterLinear forward float32", "ParameterLinear forward bfloat16", "ParameterLinear forward+bias float32", "ParameterLinear forward+bias bfloat16", "ParameterLinear backward float32",
        ];
        Assert.Equal(expectedRows.Order(), rows.Order());

        // A bfloat16 row is timed against the float32 floor call of its point.
        Assert.All(result.Points.Where(r => r.Point.Precision == WeightPrecision.BFloat16),
            r => Assert.Equal((r.Point with { Precision = WeightPrecision.Float32 }).FloorOp, r.Point.FloorOp));
        Assert.Contains(result.Notes, n => n.StartsWith("backward: no bfloat16 rows", StringComparison.Ordinal));

        string report = File.ReadAllText(Path.Combine(_folder, ResultFolder.ReportName));
        Assert.Contains("| shape | batch | layer | pass | precision |", report, StringComparison.Ordinal);
        Assert.Contains("| 16→8 | 2 | Linear | forward | bfloat16 |", report, StringComparison.Ordinal);
        Assert.Contains("## bfloat16 against float32", report, StringComparison.Ordinal);
        Assert.Single(report.Split('\n'), l => l.StartsWith("- backward: no bfloat16 rows", StringComparison.Ordinal));
        IReadOnlyList<PrecisionPair> pairs = PrecisionComparison.Pairs(result);
        Assert.Equal(4, pairs.Count);
        foreach (PrecisionPair pair in pairs)
        {
            Assert.Equal(pair.Float32.Point with { Precision = WeightPrecision.BFloat16 }, pair.BFloat16.Point);
            Assert.Equal(pair.BFloat16.Managed.Median / pair.Float32.Managed.Median, pair.Ratio);
            Assert.Contains($"| {pair.Float32.Point.Shape} | {Batch} | {pair.Float32.Point.LayerName} | {pair.Float32.Point.PassName} | {Formats.Gflops(pair.Float32.Managed.Median)} | {Formats.Gflops(pair.BFloat16.Managed.Median)} | {Formats.Ratio(pair.Ratio)} |", report, StringComparison.Ordinal);
        }

        var table = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(table) });
        console.Profile.Width = 200;
        console.Write(ConsoleTable.Build(result));
        console.Write(PrecisionComparison.BuildTable(result)!);
        Assert.Contains("bfloat16", table.ToString(), StringComparison.Ordinal);
        Assert.Contains("bf16 / f32", table.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    [EmulatorChecked]
    public void A_cuda_backend_gets_no_bfloat16_rows_and_the_run_says_why()
    {
        SweepResult result;
        using (SweepRunner runner = SweepRunner.Prepare(Tiny(_folder, BackendChoice.All)))
        {
            Skip.IfNot(runner.Backends.Any(b => b.Name == "cuda"), "No CUDA backend (not even the emulator) could be opened here.");
            result = runner.Run(new PlainSweepObserver(TextWriter.Null));
        }

        Assert.Equal(6, result.Points.Count(r => r.Backend == "cuda"));
        Assert.All(result.Points.Where(r => r.Backend == "cuda"), r => Assert.Equal(WeightPrecision.Float32, r.Point.Precision));
        Assert.Equal(4, result.Points.Count(r => r.Backend == "cpu" && r.Point.Precision == WeightPrecision.BFloat16));
        string note = Assert.Single(result.Notes, n => n.StartsWith("backend cuda: no bfloat16 rows", StringComparison.Ordinal));
        Assert.Contains("TF32", note, StringComparison.Ordinal);
        Assert.All(PrecisionComparison.Pairs(result), p => Assert.Equal("cpu", p.BFloat16.Backend));

        ResultFolder.Write(result, _folder);
        string[] lines = File.ReadAllLines(Path.Combine(_folder, ResultFolder.CsvName));
        Assert.DoesNotContain(lines, l => l.StartsWith("cuda,", StringComparison.Ordinal) && l.EndsWith(",bfloat16", StringComparison.Ordinal));
    }

    private static long Long(string text) => long.Parse(text, CultureInfo.InvariantCulture);

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
