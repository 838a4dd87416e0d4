using BlasLinear.Backends;
using BlasLinear.Reference;

namespace BlasLinear.Tests.Probe;

/// <summary>Which CUDA libraries a process bound: run in a child, since each library loads once per process.</summary>
public static class CudaLibraryScenarios
{
    /// <summary>
    /// Prints the CUDA backend's description and whether a prepared forward with a bias (cuBLASLt's epilogue
    /// where the set has it, a rank-1 GEMM first where not) matches float64, then every cuBLASLt file mapped
    /// into the process.
    /// </summary>
    public static int Describe()
    {
        try
        {
            using CudaBackend backend = CudaBackend.Create();
            Console.WriteLine(backend.Describe());
            Console.WriteLine($"prepared forward with bias: {PreparedForward(backend)}");
        }
        catch (BackendUnavailableException e)
        {
            Console.WriteLine($"{nameof(BackendUnavailableException)}: {e.Message}");
            return 3;
        }

        foreach (string file in File.ReadLines("/proc/self/maps").Where(l => l.Contains("libcublasLt", StringComparison.Ordinal))
                     .Select(l => l[l.IndexOf('/', StringComparison.Ordinal)..]).Distinct(StringComparer.Ordinal))
        {
            Console.WriteLine($"mapped: {file}");
        }

        return 0;
    }

    /// <summary>"ok" when a prepared 3×5→4 <c>Linear</c> forward with a bias is within the float64 bound, else the worst ratio to it.</summary>
    private static string PreparedForward(CudaBackend backend)
    {
        const int M = 3, K = 5, N = 4;
        using var layer = new Linear(K, N, backend: backend, seed: 4);
        float[] x = [.. Enumerable.Range(0, M * K).Select(i => (i % 7) - 3f)];
        (double[] Value, double[] G) expected = Expected.LayerForward(true, M, K, N, x, layer.Weight.ToArray(), layer.Bias!.ToArray());
        layer.PrepareForInference();
        double worst = GpuCheck.WorstOverBound(layer.Forward(x), expected, K, tf32: false);
        return worst <= 1 ? "ok" : $"worst |error| / bound {worst}";
    }
}
