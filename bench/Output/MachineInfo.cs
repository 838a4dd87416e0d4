using System.Runtime.InteropServices;

namespace BlasLinear.Bench.Output;

/// <summary>Facts about the machine and process that a reader needs to compare two reports.</summary>
internal static class MachineInfo
{
    public static string Processor()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
        {
            string? model = File.ReadLines(cpuinfo)
                .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                .Split(':', 2)[1].Trim();
            if (!string.IsNullOrEmpty(model))
            {
                return model;
            }
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>
    /// The OpenBLAS files mapped into this process. The floor and the managed backend must share one
    /// (same threads, same kernels); two entries here would make the ratio compare different libraries.
    /// </summary>
    public static IReadOnlyList<string> MappedOpenBlas()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return [];
        }

        return
        [
            .. File.ReadLines(maps)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[5].Contains("libopenblas", StringComparison.Ordinal))
                .Select(f => f[5])
                .Distinct(StringComparer.Ordinal),
        ];
    }

    public static string Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : "(unset)";
}
