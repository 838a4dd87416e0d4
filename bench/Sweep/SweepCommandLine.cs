using System.Globalization;

namespace BlasLinear.Bench.Sweep;

/// <summary>Parses the sweep's arguments: [--quick] [--backend auto|cpu|cuda|all] [--out DIR] [--threads N].</summary>
internal static class SweepCommandLine
{
    public const string Usage = """
        usage: BlasLinear.Bench [--quick] [--backend auto|cpu|cuda|all] [--out DIR] [--threads N]
               BlasLinear.Bench demo
               BlasLinear.Bench bdn [BenchmarkDotNet arguments, e.g. --filter * --job short]

          (no command)  the throughput sweep: Linear and ParameterLinear, forward and backward, against
                        the raw cblas_sgemm floor measured in the same run
          --quick       the short preset (two shapes, batches up to 512; under two minutes on two cores)
          --backend     auto (default), cpu, cuda, or all (every backend that loads here)
          --out DIR     results folder (default results/<yyyyMMdd-HHmmss>/)
          --threads N   OpenBLAS threads (process-wide; OPENBLAS_NUM_THREADS only works if set before start)
        """;

    /// <summary>The options, or null with an error message.</summary>
    public static SweepOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        bool quick = args.Contains("--quick");
        SweepOptions options = quick ? SweepOptions.QuickPreset() : SweepOptions.Full();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--quick":
                    break;
                case "--backend" when i + 1 < args.Count:
                    BackendChoice? backend = ParseBackend(args[++i]);
                    if (backend is null)
                    {
                        error = $"--backend '{args[i]}' is not one of auto, cpu, cuda, all.";
                        return null;
                    }

                    options = options with { Backend = backend.Value };
                    break;
                case "--out" when i + 1 < args.Count:
                    options = options with { OutputDirectory = args[++i] };
                    break;
                case "--threads" when i + 1 < args.Count:
                    if (!int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out int threads) || threads < 1)
                    {
                        error = $"--threads '{args[i]}' is not a whole number ≥ 1.";
                        return null;
                    }

                    options = options with { Threads = threads };
                    break;
                case "--backend" or "--out" or "--threads":
                    error = $"{arg} needs a value.";
                    return null;
                default:
                    error = $"unknown argument '{arg}'.";
                    return null;
            }
        }

        return options;
    }

    private static BackendChoice? ParseBackend(string value) => value.ToUpperInvariant() switch
    {
        "AUTO" => BackendChoice.Auto,
        "CPU" => BackendChoice.Cpu,
        "CUDA" => BackendChoice.Cuda,
        "ALL" => BackendChoice.All,
        _ => null,
    };
}
