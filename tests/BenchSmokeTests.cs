using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using BlasLinear.Bench.Output;
using BlasLinear.Bench.Sweep;
using BlasLinear.Tests.Support;
using Spectre.Console;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The benchmark's code paths on one tiny shape, so they cannot rot: the floor binding, the interleaved
/// timer, the CSV and Markdown writers, the plot and the console table. Nothing here measures speed.
/// </summary>
public sealed class BenchSmokeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "blaslinear-bench-smoke-" + Guid.NewGuid().ToString("N"));

    private static SweepOptions Tiny(string folder) => TinySweep.Options(folder);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void Sweep_on_a_tiny_shape_writes_csv_report_and_plots_with_positive_throughput()
    {
        SweepOptions options = Tiny(_folder);
        var progress = new StringWriter();

        SweepResult result;
        using (SweepRunner runner = SweepRunner.Prepare(options))
        {
            result = runner.Run(new PlainSweepObserver(progress));
        }

        IReadOnlyList<string> files = ResultFolder.Write(result, _folder);

        // Two layer forms × three passes (forward, forward+bias, backward).
        Assert.Equal(6, result.Points.Count);
        Assert.Equal(6, progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(result.Peak.Gflops > 0, $"peak {result.Peak.Gflops}");
        foreach (string file in files)
        {
            Assert.True(new FileInfo(file).Length > 0, $"{file} is missing or empty");
        }

        string[] csv = File.ReadAllLines(Path.Combine(_folder, ResultFolder.CsvName));
        Assert.Equal(CsvReportWriter.Header, csv[0]);
        Assert.Equal(1 + 6, csv.Length);
        string[] header = csv[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var seen = new HashSet<string>();
        foreach (string line in csv.Skip(1))
        {
            string[] cells = line.Split(',');
            Assert.Equal(header.Length, cells.Length);
            Assert.Equal("16", cells[Column("in_features")]);
            Assert.Equal("8", cells[Column("out_features")]);
            Assert.Equal("2", cells[Column("batch")]);
            Assert.Equal("float32", cells[Column("precision")]);
            seen.Add(cells[Column("layer")] + " " + cells[Column("pass")]);
            foreach (string name in new[] { "managed_gflops_median", "managed_gflops_min", "floor_gflops_median", "floor_gflops_min", "ratio_to_floor", "managed_fraction_of_peak", "peak_gflops" })
            {
                double value = double.Parse(cells[Column(name)], CultureInfo.InvariantCulture);
                Assert.True(double.IsFinite(value) && value > 0, $"{name} = {value} in: {line}");
            }

            // Each side's own count: both sides of a point this small run many calls per sample.
            foreach (string name in new[] { "iterations_per_sample", "floor_iterations_per_sample" })
            {
                int count = int.Parse(cells[Column(name)], CultureInfo.InvariantCulture);
                Assert.True(count > 1, $"{name} = {count} in: {line}");
            }

            double forwardFlops = 2.0 * 2 * 16 * 8;
            double expected = cells[Column("pass")] == "backward" ? 2 * forwardFlops : forwardFlops;
            Assert.Equal(expected, double.Parse(cells[Column("flops_per_call")], CultureInfo.InvariantCulture));

            foreach (string name in new[] { "of_roofline", "floor_of_roofline", "roofline_gflops", "roofline_seconds", "bandwidth_gbps" })
            {
                double value = double.Parse(cells[Column(name)], CultureInfo.InvariantCulture);
                Assert.True(double.IsFinite(value) && value > 0, $"{name} = {value} in: {line}");
            }

            // M = 2, K = 16, N = 8: W 512 B, X 128 B, Y or dY 64 B, bias 32 B; the backward adds dX
            // (128 B) and dW read and written (2 × 512 B) and touches dW once.
            (long bytes, long footprint) = cells[Column("pass")] switch
            {
                "forward" => (704L, 704L),
                "forward+bias" => (736L, 736L),
                _ => (1856L, 1344L),
            };
            Assert.Equal(bytes, long.Parse(cells[Column("roofline_bytes")], CultureInfo.InvariantCulture));
            Assert.Equal(footprint, long.Parse(cells[Column("roofline_footprint_bytes")], CultureInfo.InvariantCulture));
            Assert.Contains(cells[Column("roofline_bound")], new[] { "memory", "compute" });
            long measuredAt = long.Parse(cells[Column("bandwidth_measured_at_bytes")], CultureInfo.InvariantCulture);
            Assert.True(measuredAt >= footprint, $"bandwidth measured at {measuredAt} bytes for a footprint of {footprint}");

            // of_roofline is the roofline's time over the measured median time, i.e. the measured
            // median GFLOP/s over the roofline's GFLOP/s; the CSV prints both at full precision.
            double ofRoofline = double.Parse(cells[Column("of_roofline")], CultureInfo.InvariantCulture);
            double managedMedian = double.Parse(cells[Column("managed_gflops_median")], CultureInfo.InvariantCulture);
            double rooflineGflops = double.Parse(cells[Column("roofline_gflops")], CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(ofRoofline - (managedMedian / rooflineGflops)) <= 1e-12 * ofRoofline, $"of_roofline {ofRoofline} in: {line}");
        }

        Assert.Equal(
            result.Points.Select(p => RooflineTraffic.Of(p.Point).FootprintBytes).Distinct().Order(),
            result.Bandwidth.Footprints);
        Assert.All(result.Bandwidth.Footprints, f => Assert.Equal(2, result.Bandwidth.Samples[f].Count));

        string[] expectedRows = ["Linear forward", "Linear forward+bias", "Linear backward", "ParameterLinear forward", "ParameterLinear forward+bias", "ParameterLinear backward"];
        Assert.Equal(expectedRows.Order(), seen.Order());

        string report = File.ReadAllText(Path.Combine(_folder, ResultFolder.ReportName));
        Assert.Contains("OpenBLAS threads during the run", report, StringComparison.Ordinal);
        Assert.Contains("| 16→8 | 2 | Linear | backward |", report, StringComparison.Ordinal);
        Assert.Contains("## Roofline", report, StringComparison.Ordinal);
        Assert.Contains("| of_roofline |", report, StringComparison.Ordinal);
        Assert.Contains("### Read bandwidth per footprint", report, StringComparison.Ordinal);
        Assert.Contains("| 16→8 | 2 | Linear | backward | 1.8 KiB | 1.3 KiB |", report, StringComparison.Ordinal);

        // A float32-only run's tables read as before the precision column existed.
        Assert.Contains("| shape | batch | layer | pass | GFLOP/s median (min–max) |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("bfloat16", report, StringComparison.Ordinal);

        string[] plots = Directory.GetFiles(_folder, "*.png");
        Assert.Equal(2, plots.Length);
        byte[] pngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G'];
        foreach (string plot in plots)
        {
            Assert.Equal(pngSignature, File.ReadAllBytes(plot).Take(4));
            Assert.Contains($"![{Path.GetFileNameWithoutExtension(plot)}]", report, StringComparison.Ordinal);
        }

        var table = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(table) });
        console.Profile.Width = 200;
        console.Write(ConsoleTable.Build(result));
        Assert.Contains("ParameterLinear", table.ToString(), StringComparison.Ordinal);
        Assert.Contains("forward+bias", table.ToString(), StringComparison.Ordinal);
        Assert.Contains("of_roofline", table.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("precision", table.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_floor_import_resolves()
    {
        FloorLibrary.EnsureResolver();
        MethodInfo[] methods = typeof(FloorLibrary).GetMethods(BindingFlags.Static | BindingFlags.NonPublic);
        var imports = methods.Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0).ToList();

        Assert.Equal(5, imports.Count);
        foreach (MethodInfo import in imports)
        {
            Marshal.Prelink(import);
        }
    }

    [Fact]
    public void Floor_counts_the_same_flops_as_the_sweep()
    {
        foreach (LayerForm layer in new[] { LayerForm.Linear, LayerForm.ParameterLinear })
        {
            foreach (Pass pass in new[] { Pass.Forward, Pass.ForwardWithBias, Pass.Backward })
            {
                var point = new SweepPoint(new FeatureShape(7, 5), 3, layer, pass);
                Assert.Equal(FloorContext.Flops(point.FloorOp, 3, 5, 7), point.Flops);
            }
        }
    }

    [Fact]
    public void Command_line_presets_and_errors()
    {
        SweepOptions? quick = SweepCommandLine.Parse(["--quick", "--backend", "all", "--threads", "1", "--out", "x"], out string? error);
        Assert.Null(error);
        Assert.NotNull(quick);
        Assert.True(quick.Quick);
        Assert.Equal(BackendChoice.All, quick.Backend);
        Assert.Equal(1, quick.Threads);
        Assert.Equal("x", quick.OutputDirectory);
        Assert.DoesNotContain(2048, quick.Batches);
        Assert.NotEmpty(quick.PresetNotes);

        SweepOptions? full = SweepCommandLine.Parse([], out error);
        Assert.NotNull(full);
        Assert.Equal(SweepOptions.AllShapes, full.Shapes);
        Assert.Equal(SweepOptions.AllBatches, full.Batches);
        Assert.Empty(full.PresetNotes);

        Assert.Null(SweepCommandLine.Parse(["--backend", "tpu"], out error));
        Assert.Contains("tpu", error, StringComparison.Ordinal);
        Assert.Null(SweepCommandLine.Parse(["--threads", "0"], out error));
        Assert.Null(SweepCommandLine.Parse(["--out"], out error));
        Assert.Null(SweepCommandLine.Parse(["--fast"], out error));
    }

    [Fact]
    public void Cpu_routes_take_an_instruction_set_per_item_and_name_the_backend_after_it()
    {
        SweepOptions? options = SweepCommandLine.Parse(["--cpu-routes", "kernels:avx2, auto:AVX512,onednn"], out string? error);
        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal(
            [new CpuRouteChoice(Backends.CpuRouting.Kernels, Backends.CpuKernelIsa.Avx2),
             new CpuRouteChoice(Backends.CpuRouting.Auto, Backends.CpuKernelIsa.Avx512),
             new CpuRouteChoice(Backends.CpuRouting.OneDnn)],
            options.CpuRouting!);
        Assert.Equal(["cpu-kernels-avx2", "cpu-auto-avx512", "cpu-onednn"], options.CpuRouting!.Select(r => r.BackendName));

        Assert.Null(SweepCommandLine.Parse(["--cpu-routes", "kernels:avx"], out error));
        Assert.Contains("kernels:avx", error, StringComparison.Ordinal);
        Assert.Null(SweepCommandLine.Parse(["--cpu-routes", "kernels:"], out _));
        Assert.Null(SweepCommandLine.Parse(["--cpu-routes", ":avx2"], out _));
    }

    [Fact]
    public void Plan_trims_points_over_the_memory_or_time_budget_and_says_why()
    {
        SweepOptions options = Tiny(_folder) with
        {
            Shapes = [new FeatureShape(16, 8), new FeatureShape(4096, 11008)],
            MemoryBudgetBytes = 1 << 20,
        };

        SweepPlan plan = SweepPlan.Create(options, peakGflops: 100);

        Assert.All(plan.Points, p => Assert.Equal(new FeatureShape(16, 8), p.Shape));
        Assert.Equal(3, plan.Trimmed.Count);
        Assert.All(plan.Trimmed, t => Assert.Contains("memory budget", t, StringComparison.Ordinal));

        SweepPlan slow = SweepPlan.Create(options with { MemoryBudgetBytes = long.MaxValue, PointTimeBudgetSeconds = 0.001 }, peakGflops: 100);
        Assert.Empty(slow.Points);
        Assert.All(slow.Trimmed, t => Assert.Contains("budget per point", t, StringComparison.Ordinal));
    }
}
