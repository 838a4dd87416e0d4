using System.Globalization;
using BlasLinear.Backends;
using BlasLinear.Bench.Output;
using BlasLinear.Bench.Sweep;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// A backend with memory of its own (CUDA, here its emulator) is measured against its own floor and
/// ceilings: the floor's calls made on the backend (checked against a float64 product of the same seeded
/// data), and its rows' peak and bandwidth taken from its own measurements, in results.csv and report.md.
/// Nothing here measures speed.
/// </summary>
public sealed class BenchDeviceTests : IDisposable
{
    private const int M = 3, N = 5, K = 7;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "blaslinear-bench-device-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Each backend, layer form (Linear or not) and pass (backward or not).</summary>
    public static TheoryData<TestBackend, bool, bool> FloorCases()
    {
        var data = new TheoryData<TestBackend, bool, bool>();
        foreach (TestBackend backend in new[] { TestBackends.Cpu, TestBackends.Cuda })
        {
            foreach (bool linear in new[] { true, false })
            {
                data.Add(backend, linear, false);
                data.Add(backend, linear, true);
            }
        }

        return data;
    }

    /// <summary>Each of the floor's operations on the backend computes the layer's product (a wrong flag or leading dimension would not).</summary>
    [SkippableTheory]
    [MemberData(nameof(FloorCases))]
    [EmulatorChecked]
    public void The_device_floor_makes_the_floors_products_on_the_backend(TestBackend name, bool linear, bool backward)
    {
        BlasBackend backend = TestBackends.Get(name);
        var point = new SweepPoint(new FeatureShape(K, N), M, linear ? LayerForm.Linear : LayerForm.ParameterLinear, backward ? Pass.Backward : Pass.Forward);
        using DeviceFloorWorkload floor = DeviceFloorWorkload.Create(point, backend, seed: 11);
        Assert.True(floor.Time(1) > 0);
        float[] got = floor.Output();

        var data = new SeededData(11);
        float[] x = data.Next(M * K), w = data.Next(N * K);
        bool outByIn = linear;
        double W(int p, int j) => outByIn ? w[j * K + p] : w[p * N + j];
        var expected = new List<double>();
        if (backward)
        {
            float[] dy = data.Next(M * N);
            for (int i = 0; i < M; i++)
            {
                for (int p = 0; p < K; p++)
                {
                    expected.Add(Enumerable.Range(0, N).Sum(j => (double)dy[i * N + j] * W(p, j)));
                }
            }

            // dW in the layer's layout: [N, K] for Linear, [K, N] for ParameterLinear.
            for (int r = 0; r < (outByIn ? N : K); r++)
            {
                for (int c = 0; c < (outByIn ? K : N); c++)
                {
                    (int j, int p) = outByIn ? (r, c) : (c, r);
                    expected.Add(Enumerable.Range(0, M).Sum(i => (double)dy[i * N + j] * x[i * K + p]));
                }
            }
        }
        else
        {
            for (int i = 0; i < M; i++)
            {
                for (int j = 0; j < N; j++)
                {
                    expected.Add(Enumerable.Range(0, K).Sum(p => (double)x[i * K + p] * W(p, j)));
                }
            }
        }

        Assert.Equal(expected.Count, got.Length);
        for (int i = 0; i < got.Length; i++)
        {
            Assert.True(Math.Abs(got[i] - expected[i]) <= 1e-5, $"element {i}: {got[i]} against {expected[i]}");
        }
    }

    /// <summary>A sweep over the CPU and the CUDA emulator: the cuda rows carry the backend's own peak and bandwidth.</summary>
    [SkippableFact]
    [EmulatorChecked]
    public void A_cuda_backends_rows_use_its_own_peak_and_read_bandwidth()
    {
        SweepResult result;
        using (SweepRunner runner = SweepRunner.Prepare(TinySweep.Options(_folder, BackendChoice.All)))
        {
            Skip.IfNot(runner.Backends.Any(b => b.Name == "cuda"), "No CUDA backend (not even the emulator) could be opened here.");
            BackendCeilings start = Assert.Single(runner.DeviceCeilings);
            Assert.Equal("cuda", start.Backend);
            Assert.Single(start.Peak.Samples);
            result = runner.Run(new PlainSweepObserver(TextWriter.Null));
        }

        BackendCeilings device = Assert.Single(result.DeviceCeilings);
        Assert.Equal(2, device.Peak.Samples.Count);
        Assert.Equal(device.Peak.Gflops, result.PeakFor("cuda"));
        Assert.Equal(result.Peak.Gflops, result.PeakFor("cpu"));
        PointResult[] cuda = [.. result.Points.Where(r => r.Backend == "cuda")];
        PointResult[] cpu = [.. result.Points.Where(r => r.Backend == "cpu")];
        Assert.Equal(6, cuda.Length);
        Assert.Equal(6, cpu.Length);
        Assert.All(cuda, r =>
        {
            Assert.Equal(device.Peak.Gflops, r.PeakGflops);
            Assert.Equal(device.Bandwidth.FigureFor(r.Roofline.Traffic.FootprintBytes), r.Roofline.Bandwidth);
        });
        Assert.All(cpu, r =>
        {
            Assert.Equal(result.Peak.Gflops, r.PeakGflops);
            Assert.Equal(result.Bandwidth.FigureFor(r.Roofline.Traffic.FootprintBytes), r.Roofline.Bandwidth);
        });
        Assert.Contains(result.Notes, n => n.StartsWith("backend cuda: its floor is its own raw sgemm", StringComparison.Ordinal));

        ResultFolder.Write(result, _folder);
        string[] lines = File.ReadAllLines(Path.Combine(_folder, ResultFolder.CsvName));
        int peakColumn = Array.IndexOf(lines[0].Split(','), "peak_gflops");
        Assert.All(lines.Skip(1).Where(l => l.StartsWith("cuda,", StringComparison.Ordinal)),
            l => Assert.Equal(device.Peak.Gflops, double.Parse(l.Split(',')[peakColumn], CultureInfo.InvariantCulture), 6));
        string report = File.ReadAllText(Path.Combine(_folder, ResultFolder.ReportName));
        Assert.Contains($"- peak of backend `cuda`: **{Formats.Gflops(device.Peak.Gflops)} GFLOP/s**", report, StringComparison.Ordinal);
        Assert.Contains("### Backend `cuda`: its own ceilings", report, StringComparison.Ordinal);
    }
}
