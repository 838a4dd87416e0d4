using BlasLinear.Backends;

namespace BlasLinear.Tests.Probe;

/// <summary>Which CUDA libraries a process bound: run in a child, since each library loads once per process.</summary>
public static class CudaLibraryScenarios
{
    /// <summary>Prints the CUDA backend's description, then every cuBLASLt file mapped into the process.</summary>
    public static int Describe()
    {
        try
        {
            using CudaBackend backend = CudaBackend.Create();
            Console.WriteLine(backend.Describe());
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
}
