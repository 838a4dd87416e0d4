using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Backends;
using BlasLinear.Reference;

namespace BlasLinear.Tests.Probe;

/// <summary>
/// The check for a machine with an NVIDIA GPU and no .NET SDK (scripts/gpu-check.sh runs it from a
/// self-contained publish): both layers on the real cuBLAS, exact golden products, float64 agreement
/// within TESTING.md's bound, and timings on device buffers for the shapes that PyTorch is compared on.
/// It writes report.json (and report.md from it) and one shape's tensors (DIR/tensors) for scripts/gpu_check.py to
/// compare with <c>torch.nn.functional.linear</c>, whose results the report then takes in.
/// </summary>
internal static class GpuCheck
{
    private const double Epsilon = 1.0 / (1 << 23);

    public static int Run(string outputFolder, bool quick)
    {
        Directory.CreateDirectory(outputFolder);
        var report = new GpuReport();
        // TF32 off for the checks, like the PyTorch side's reference run, so both compute in full float32.
        using CudaBackend backend = CudaBackend.Create(CudaMathMode.Default);
        using CudaBackend tf32 = CudaBackend.Create(CudaMathMode.Tf32);
        BackendDescription description = backend.Describe();
        Console.WriteLine(description);
        Console.WriteLine();
        report.Description.AddRange(description.Properties.Select(p => (p.Key, p.Value)));
        Golden(backend, report);
        // --quick is a dry run of the script on the CUDA emulator, where 4096³ would take minutes.
        int wide = quick ? 512 : 4096;
        foreach ((int m, int k, int n) in new[] { (1, wide, wide), (32, wide, wide), (129, 257, 65), (7, 1000, 1001) })
        {
            AgainstFloat64(new Linear(k, n, backend: backend, seed: 1), m, tf32: false, report);
            AgainstFloat64(new ParameterLinear(k, n, backend: backend, seed: 1), m, tf32: false, report);
        }

        AgainstFloat64(new Linear(1000, 1001, backend: tf32, seed: 1), 7, tf32: true, report);

        // Prepared for inference, a forward with a bias is one cuBLASLt matmul with the bias in its epilogue.
        foreach ((int m, int k, int n) in new[] { (1, wide, wide), (32, wide, wide), (7, 1000, 1001) })
        {
            PreparedAgainstFloat64(new Linear(k, n, backend: backend, seed: 1), m, tf32: false, report);
            PreparedAgainstFloat64(new ParameterLinear(k, n, backend: backend, seed: 1), m, tf32: false, report);
        }

        PreparedAgainstFloat64(new Linear(1000, 1001, backend: tf32, seed: 1), 7, tf32: true, report);
        foreach ((CudaBackend mode, string math) in new[] { (backend, "fp32"), (tf32, "tf32") })
        {
            foreach ((int m, int k, int n) in new[] { (1, wide, wide), (32, wide, wide), (quick ? 64 : 4096, wide, wide) })
            {
                Time(mode, new Linear(k, n, backend: mode, seed: 2), m, math, report);
                Time(mode, new ParameterLinear(k, n, backend: mode, seed: 2), m, math, report);
            }
        }

        report.Export = (32, wide, wide);
        ExportForTorch(backend, Path.Combine(outputFolder, "tensors"), report.Export);
        report.WriteJson(Path.Combine(outputFolder, "report.json"));
        GpuReport.Render(outputFolder);
        int failures = report.Checks.Count(c => !c.Passed);
        Console.WriteLine(failures == 0 ? "gpu-check: all correctness checks passed" : $"gpu-check: {failures} checks FAILED");
        return failures == 0 ? 0 : 1;
    }

    private static void Golden(BlasBackend backend, GpuReport report)
    {
        using var linear = new Linear(3, 2, backend: backend);
        linear.Weight.CopyFrom([1, 2, 3, 4, 5, 6]);
        linear.Bias!.CopyFrom([10, 20]);
        using var parameter = new ParameterLinear(3, 2, backend: backend);
        parameter.Weight.CopyFrom([1, 4, 2, 5, 3, 6]);
        parameter.Bias!.CopyFrom([10, 20]);
        foreach (LinearLayer layer in new LinearLayer[] { linear, parameter })
        {
            float[] y = layer.Forward([1, 0, -1, 2, 1, 0]);
            var dx = new float[6];
            layer.ZeroGrad();
            layer.Backward([1, 0, -1, 2, 1, 0], [1, 2, -1, 1], dx);
            bool ok = y.SequenceEqual([8f, 18f, 14f, 33f]) && dx.SequenceEqual([9f, 12f, 15f, 3f, 3f, 3f])
                && layer.BiasGrad!.ToArray().SequenceEqual([0f, 3f]);
            Console.WriteLine($"{(ok ? "ok" : "FAILED")}: golden {layer}");
            report.Checks.Add(new($"golden {layer} (exact)", ok ? 0 : double.PositiveInfinity));
        }
    }

    /// <summary>Forward and backward against float64 within TESTING.md's bound (the TF32 one when <paramref name="tf32"/>).</summary>
    private static void AgainstFloat64(LinearLayer layer, int m, bool tf32, GpuReport report)
    {
        using (layer)
        {
            int k = layer.InFeatures, n = layer.OutFeatures;
            bool outByIn = layer.Layout == WeightLayout.OutByIn;
            float[] x = Uniform(m * k, 3), dy = Uniform(m * n, 4), w = layer.Weight.ToArray(), b = layer.Bias!.ToArray();
            float[] y = layer.Forward(x);
            var dx = new float[m * k];
            layer.ZeroGrad();
            layer.Backward(x, dy, dx);
            double worst = Math.Max(
                WorstOverBound(y, Expected.LayerForward(outByIn, m, k, n, x, w, b), k, tf32),
                Math.Max(
                    WorstOverBound(dx, Expected.LayerInputGradient(outByIn, m, k, n, dy, w), n, tf32),
                    WorstOverBound(layer.WeightGrad.ToArray(), Expected.LayerWeightGradient(outByIn, m, k, n, x, dy, new float[k * n]), m, tf32)));
            string name = $"{layer} batch {m}{(tf32 ? ", TF32" : string.Empty)}: forward and backward vs float64";
            Console.WriteLine($"{(worst <= 1 ? "ok" : "FAILED")}: {name}: worst |error| / bound = {worst:0.000}");
            report.Checks.Add(new(name, worst));
        }
    }

    /// <summary>The forward of a layer prepared for inference (its bias inside the product), against float64.</summary>
    private static void PreparedAgainstFloat64(LinearLayer layer, int m, bool tf32, GpuReport report)
    {
        using (layer)
        {
            int k = layer.InFeatures, n = layer.OutFeatures;
            float[] x = Uniform(m * k, 3);
            (double[] Value, double[] G) expected = Expected.LayerForward(
                layer.Layout == WeightLayout.OutByIn, m, k, n, x, layer.Weight.ToArray(), layer.Bias!.ToArray());
            layer.PrepareForInference();
            double worst = WorstOverBound(layer.Forward(x), expected, k, tf32);
            string name = $"{layer} batch {m}{(tf32 ? ", TF32" : string.Empty)}: prepared forward (bias inside the product) vs float64";
            Console.WriteLine($"{(worst <= 1 ? "ok" : "FAILED")}: {name}: worst |error| / bound = {worst:0.000}");
            report.Checks.Add(new(name, worst));
        }
    }

    /// <summary>The largest |result − float64| / bound over the elements, each bound for a sum of <paramref name="k"/> products.</summary>
    internal static double WorstOverBound(ReadOnlySpan<float> result, (double[] Value, double[] G) reference, int k, bool tf32)
    {
        double worst = 0;
        for (int i = 0; i < result.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(result[i] - reference.Value[i]) / Bound(k, reference.G[i], tf32));
        }

        return worst;
    }

    /// <summary>(k + 2)·ε·G, or with TF32 (2⁻¹⁰ + (k + 2)·ε)·G (TESTING.md).</summary>
    private static double Bound(int k, double g, bool tf32) => ((tf32 ? 1.0 / 1024 : 0) + (k + 2) * Epsilon) * g + 1e-30;

    private static void Time(BlasBackend backend, LinearLayer layer, int m, string math, GpuReport report)
    {
        using (layer)
        {
            int k = layer.InFeatures, n = layer.OutFeatures;
            using BlasBuffer x = backend.Allocate(m, k), y = backend.Allocate(m, n), dy = backend.Allocate(m, n), dx = backend.Allocate(m, k);
            x.CopyFrom(Uniform(m * k, 5));
            dy.CopyFrom(Uniform(m * n, 6));
            double forward = Median(() => layer.Forward(x, y, m), backend);
            double backward = Median(() => layer.Backward(x, dy, dx, m), backend);
            layer.PrepareForInference();
            double prepared = Median(() => layer.Forward(x, y, m), backend);
            foreach ((string direction, double ms, double flops) in new[]
            {
                ("forward", forward, 2.0 * m * k * n), ("backward", backward, 4.0 * m * k * n), ("forward, prepared", prepared, 2.0 * m * k * n),
            })
            {
                report.Timings.Add(new(layer.GetType().Name, direction, m, k, n, math, ms, flops / ms / 1e6));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{layer.GetType().Name} {direction} {m}x{k}->{n} {math}: {ms:0.0000} ms, {flops / ms / 1e6:0.0} GFLOP/s"));
            }
        }
    }

    /// <summary>Median milliseconds per call over 7 timed runs of enough calls to last ~50 ms, synchronized.</summary>
    private static double Median(Action call, BlasBackend backend)
    {
        for (int i = 0; i < 3; i++)
        {
            call();
        }

        backend.Synchronize();
        var probe = Stopwatch.StartNew();
        call();
        backend.Synchronize();
        int calls = (int)Math.Clamp(50 / Math.Max(probe.Elapsed.TotalMilliseconds, 1e-3), 1, 2000);
        var samples = new double[7];
        for (int s = 0; s < samples.Length; s++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++)
            {
                call();
            }

            backend.Synchronize();
            samples[s] = watch.Elapsed.TotalMilliseconds / calls;
        }

        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    /// <summary>One Linear shape's tensors, raw float32 little-endian, for the PyTorch comparison (gpu-check.sh removes them after it).</summary>
    private static void ExportForTorch(BlasBackend backend, string folder, (int M, int K, int N) shape)
    {
        Directory.CreateDirectory(folder);
        (int m, int k, int n) = shape;
        using var layer = new Linear(k, n, backend: backend, seed: 7);
        float[] x = Uniform(m * k, 8), dy = Uniform(m * n, 9);
        float[] y = layer.Forward(x);
        var dx = new float[m * k];
        layer.ZeroGrad();
        layer.Backward(x, dy, dx);
        Write(folder, "x", x);
        Write(folder, "weight", layer.Weight.ToArray());
        Write(folder, "bias", layer.Bias!.ToArray());
        Write(folder, "y", y);
        Write(folder, "dy", dy);
        Write(folder, "dx", dx);
        Write(folder, "dweight", layer.WeightGrad.ToArray());
        Write(folder, "dbias", layer.BiasGrad!.ToArray());
    }

    private static void Write(string folder, string name, float[] values) =>
        File.WriteAllBytes(Path.Combine(folder, $"{name}.f32"), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static float[] Uniform(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
