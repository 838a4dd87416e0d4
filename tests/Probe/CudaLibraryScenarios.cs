using BlasLinear.Backends;

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

    /// <summary>"ok" when a prepared 3×5→4 <c>Linear</c> forward with a bias is within the float64 bound, else the worst element.</summary>
    private static string PreparedForward(CudaBackend backend)
    {
        const int M = 3, K = 5, N = 4;
        using var layer = new Linear(K, N, backend: backend, seed: 4);
        float[] w = layer.Weight.ToArray(), b = layer.Bias!.ToArray(), x = [.. Enumerable.Range(0, M * K).Select(i => (i % 7) - 3f)];
        layer.PrepareForInference();
        float[] y = layer.Forward(x);
        for (int i = 0; i < M; i++)
        {
            for (int j = 0; j < N; j++)
            {
                double sum = b[j], g = Math.Abs(b[j]);
                for (int p = 0; p < K; p++)
                {
                    sum += (double)x[i * K + p] * w[j * K + p];
                    g += Math.Abs((double)x[i * K + p] * w[j * K + p]);
                }

                if (Math.Abs(y[i * N + j] - sum) > (K + 2) * g / (1 << 23))
                {
                    return $"element ({i}, {j}) = {y[i * N + j]}, float64 {sum}";
                }
            }
        }

        return "ok";
    }
}
