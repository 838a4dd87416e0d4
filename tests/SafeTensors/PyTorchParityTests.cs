using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>
/// PyTorch is the oracle: layers built, run and differentiated by PyTorch (scripts/pytorch_parity.py), loaded
/// into BlasLinear layers of both forms on every backend, must give PyTorch's Y, dX, dW and db within the
/// suite's tolerance (TESTING.md), the bound computed in float64 from the operands. With PyTorch installed
/// the script runs now; without it, the fixtures it made and that are committed are used.
/// </summary>
[EmulatorChecked]
public sealed class PyTorchParityTests(ITestOutputHelper output)
{
    private static readonly Lazy<(string Folder, string Source)> s_cases = new(MakeCases);

    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Layers_loaded_from_PyTorch_reproduce_its_forward_and_gradients(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        (string folder, string source) = s_cases.Value;
        string[] files = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(12, files.Length);
        output.WriteLine($"Cases from {source}, on {backendName}; worst |BlasLinear − PyTorch| as a fraction of the bound:");
        double worst = 0;
        foreach (string path in files)
        {
            using var file = SafeTensorsFile.Open(path);
            worst = Math.Max(worst, CheckCase(file, backend));
        }

        output.WriteLine($"worst over all cases: {worst:F3} of the bound");
    }

    [SkippableFact]
    public void PyTorch_reads_what_the_writer_wrote()
    {
        Skip.If(LivePyTorch.Version is null, $"PyTorch is not installed for {LivePyTorch.Python}: {LivePyTorch.WhyNot}");
        using var folder = new TempFolder();
        float[] special =
        [
            0f, -0f, 1f, -1f, float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, BitConverter.UInt32BitsToSingle(0x7F800001), 1.00390625f, 1.01171875f, 65504f, 65519.99f, 65520f,
            5.9604645e-8f, 2.9802322e-8f, 8.940697e-8f, 1e-40f,
        ];
        float[] values = [.. special, .. TestData.Uniform(3000, 21, -70000f, 70000f), .. TestData.Uniform(1000, 22, -1e-4f, 1e-4f)];
        using var layer = new Linear(13, 5, seed: 3);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["written by"] = "BlasLinear", ["ünï"] = "cødé \"q\"" };
        SafeTensor[] tensors =
        [
            new("values.f32", [values.Length], values),
            new("values.bf16", [values.Length], values, SafeTensorDType.BF16),
            new("values.f16", [4, values.Length / 4], values, SafeTensorDType.F16),
            new("values.f64", [values.Length], values, SafeTensorDType.F64),
            new("scalar", Array.Empty<long>(), new[] { 0.5f }, SafeTensorDType.BF16),
            new("empty", [0, 3], ReadOnlyMemory<float>.Empty, SafeTensorDType.F16),
            .. layer.StateDict("fc1"),
            .. layer.StateDict("fc2").Select(t => t.As(SafeTensorDType.BF16)),
        ];
        string written = folder.File("written.safetensors"), expected = folder.File("expected.safetensors");
        SafeTensorsFile.Save(written, tensors, metadata);
        SafeTensorsFile.Save(expected, tensors.Select(t => t.As(SafeTensorDType.F32)), metadata);

        (int code, string stdout, string stderr) = LivePyTorch.Run(TimeSpan.FromMinutes(2), RepositoryFiles.ParityScript, "check", written, expected);
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, $"PyTorch {LivePyTorch.Version} refused the file:\n{stderr}");
    }

    [Fact]
    public void The_committed_fixtures_are_complete_and_small()
    {
        string[] files = Directory.GetFiles(RepositoryFiles.Fixtures, "*.safetensors");
        Assert.Equal(12, files.Length);
        long total = files.Sum(f => new FileInfo(f).Length);
        Assert.True(total < 200 * 1024, $"The fixtures take {total} bytes.");
        foreach (string path in files)
        {
            using var file = SafeTensorsFile.Open(path);
            Assert.Equal(["bias", "db", "dw", "dx", "dy", "weight", "x", "y"], file.Names.Order(StringComparer.Ordinal));
            Assert.StartsWith("1.", file.Metadata["torch"], StringComparison.Ordinal);
        }
    }

    /// <summary>Loads one case and checks the four results; returns the worst error as a fraction of the bound.</summary>
    private double CheckCase(SafeTensorsFile file, BlasBackend backend)
    {
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        string form = meta["form"], dtype = meta["dtype"];
        int m = int.Parse(meta["rows"], System.Globalization.CultureInfo.InvariantCulture);
        int inFeatures = int.Parse(meta["in_features"], System.Globalization.CultureInfo.InvariantCulture);
        int outFeatures = int.Parse(meta["out_features"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(dtype, file.GetInfo("weight").DType.ToString());

        using LinearLayer layer = LayerFactory.Create(Enum.Parse<LayerKind>(form), inFeatures, outFeatures, true, backend, seed: 99);
        layer.LoadStateDict(file);
        bool outByIn = layer.Layout == WeightLayout.OutByIn;
        float[] w = layer.Weight.ToArray(), b = layer.Bias!.ToArray();
        float[] x = file.ReadFloat32("x"), dy = file.ReadFloat32("dy");

        float[] y = layer.Forward(x);
        var dx = new float[x.Length];
        layer.ZeroGrad();
        layer.Backward(x, dy, dx);
        float[] dw = layer.WeightGrad.ToArray(), db = layer.BiasGrad!.ToArray();
        (int wRows, int wCols) = outByIn ? (outFeatures, inFeatures) : (inFeatures, outFeatures);

        string what = $"{form} {dtype} {m}x{inFeatures}x{outFeatures}";
        double fy = Compare($"{what} Y", inFeatures, y, m, outFeatures, file.ReadFloat32("y"), Expected.LayerForward(outByIn, m, inFeatures, outFeatures, x, w, b).G);
        double fdx = Compare($"{what} dX", outFeatures, dx, m, inFeatures, file.ReadFloat32("dx"), Expected.LayerInputGradient(outByIn, m, inFeatures, outFeatures, dy, w).G);
        double fdw = Compare($"{what} dW", m, dw, wRows, wCols, file.ReadFloat32("dw"), Expected.LayerWeightGradient(outByIn, m, inFeatures, outFeatures, x, dy, new float[w.Length]).G);
        double fdb = Compare($"{what} db", m, db, 1, outFeatures, file.ReadFloat32("db"), Expected.BiasGradient(m, outFeatures, dy, new float[outFeatures]).G);
        output.WriteLine($"  {what,-32} Y {fy:F3}  dX {fdx:F3}  dW {fdw:F3}  db {fdb:F3}");
        return new[] { fy, fdx, fdw, fdb }.Max();
    }

    /// <summary>Asserts every element within the suite's bound of PyTorch's value; returns the worst |error| / bound.</summary>
    private static double Compare(string what, int k, float[] actual, int rows, int cols, float[] pytorch, double[] g)
    {
        double[] expected = Array.ConvertAll(pytorch, v => (double)v);
        Tolerance.AssertWithin(what, k, actual, rows, cols, cols, expected, g);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / Tolerance.Bound(k, g[i]));
        }

        return worst;
    }

    private static (string Folder, string Source) MakeCases()
    {
        if (LivePyTorch.Version is not string version)
        {
            return (RepositoryFiles.Fixtures, $"committed fixtures (PyTorch is not importable: {LivePyTorch.WhyNot})");
        }

        string folder = Directory.CreateTempSubdirectory("blaslinear-pytorch-parity-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(folder, recursive: true);
        (int code, _, string stderr) = LivePyTorch.Run(TimeSpan.FromMinutes(3), RepositoryFiles.ParityScript, "make", folder);
        Assert.True(code == 0, $"pytorch_parity.py make failed:\n{stderr}");
        return (folder, $"live PyTorch {version}");
    }
}
