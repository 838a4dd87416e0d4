using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>Parses the sweep's arguments: [--quick] [--backend …] [--cpu-routes LIST] [--precision LIST] [--shapes LIST] [--batches LIST] [--out DIR] [--threads N].</summary>
internal static class SweepCommandLine
{
    public const string Usage = """
        usage: BlasLinear.Bench [--quick] [--backend auto|cpu|cuda|all] [--cpu-routes LIST] [--precision LIST]
                                [--shapes LIST] [--batches LIST] [--out DIR] [--threads N]
               BlasLinear.Bench demo
               BlasLinear.Bench bdn [BenchmarkDotNet arguments, e.g. --filter * --job short]

          (no command)  the throughput sweep: Linear and ParameterLinear, forward and backward, against
                        the raw cblas_sgemm floor measured in the same run
          --quick       the short preset (two shapes, batches up to 512; under two minutes on two cores)
          --backend     auto (default), cpu, cuda, or all (every backend that loads here)
          --cpu-routes  comma-separated CPU routes, each measured as its own backend against the same floor:
                        auto, openblas, kernels, onednn, or each (all four); default: BLASLINEAR_CPU_ROUTES.
                        ROUTE:ISA forces the kernels' path for that item (ISA: auto, avx512, avx2), e.g.
                        kernels:avx2,kernels:avx512 (results.csv names it cpu-kernels-avx2); without :ISA the
                        path is BLASLINEAR_KERNELS_ISA's, the widest when unset
          --precision   comma-separated weight precisions, each measured as its own row beside the others:
                        float32 (default), bfloat16; e.g. float32,bfloat16. bfloat16 rows are forward passes
                        on CPU backends (the layer prepared with WeightPrecision.BFloat16), against the same
                        float32 floor; the backward and CUDA backends have none
          --shapes      comma-separated INxOUT, e.g. 1024x1024,4096x4096 (default: the preset's)
          --batches     comma-separated batch sizes, e.g. 1,4,5,16,17 (default: the preset's)
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
                case "--cpu-routes" when i + 1 < args.Count:
                    List<CpuRouteChoice>? routes = ParseRouting(args[++i]);
                    if (routes is null)
                    {
                        error = $"--cpu-routes '{args[i]}' is not a comma-separated list of auto, openblas, kernels, onednn (each optionally :auto, :avx512 or :avx2), or each.";
                        return null;
                    }

                    options = options with { CpuRouting = routes };
                    break;
                case "--precision" when i + 1 < args.Count:
                    List<WeightPrecision>? precisions = ParseList(args[++i], PrecisionNames.Parse);
                    if (precisions is null)
                    {
                        error = $"--precision '{args[i]}' is not a comma-separated list of the accepted values, each at most once: {PrecisionNames.Accepted}.";
                        return null;
                    }

                    options = options with { Precisions = precisions };
                    break;
                case "--shapes" when i + 1 < args.Count:
                    List<FeatureShape>? shapes = ParseList(args[++i], ParseShape);
                    if (shapes is null)
                    {
                        error = $"--shapes '{args[i]}' is not a comma-separated list of INxOUT with positive sizes.";
                        return null;
                    }

                    options = options with { Shapes = shapes };
                    break;
                case "--batches" when i + 1 < args.Count:
                    List<int>? batches = ParseList(args[++i], ParsePositive);
                    if (batches is null)
                    {
                        error = $"--batches '{args[i]}' is not a comma-separated list of whole numbers ≥ 1.";
                        return null;
                    }

                    options = options with { Batches = batches };
                    break;
                case "--out" when i + 1 < args.Count:
                    options = options with { OutputDirectory = args[++i] };
                    break;
                case "--threads" when i + 1 < args.Count:
                    if (ParsePositive(args[++i]) is not int threads)
                    {
                        error = $"--threads '{args[i]}' is not a whole number ≥ 1.";
                        return null;
                    }

                    options = options with { Threads = threads };
                    break;
                case "--backend" or "--cpu-routes" or "--precision" or "--shapes" or "--batches" or "--out" or "--threads":
                    error = $"{arg} needs a value.";
                    return null;
                default:
                    error = $"unknown argument '{arg}'.";
                    return null;
            }
        }

        return options;
    }

    /// <summary>The items of a comma-separated list, or null when one does not parse or repeats.</summary>
    private static List<T>? ParseList<T>(string value, Func<string, T?> parse)
        where T : struct
    {
        var items = new List<T>();
        foreach (string part in value.Split(','))
        {
            if (parse(part.Trim()) is not T item || items.Contains(item))
            {
                return null;
            }

            items.Add(item);
        }

        return items;
    }

    private static int? ParsePositive(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1 ? value : null;

    private static FeatureShape? ParseShape(string text)
    {
        string[] sizes = text.Split('x', 'X');
        return sizes.Length == 2 && ParsePositive(sizes[0]) is int inFeatures && ParsePositive(sizes[1]) is int outFeatures
            ? new FeatureShape(inFeatures, outFeatures)
            : null;
    }

    private static List<CpuRouteChoice>? ParseRouting(string value) =>
        value.Trim().Equals("each", StringComparison.OrdinalIgnoreCase)
            ? [new(Backends.CpuRouting.Auto), new(Backends.CpuRouting.OpenBlas), new(Backends.CpuRouting.Kernels), new(Backends.CpuRouting.OneDnn)]
            : ParseList(value, CpuRouteChoice.Parse);

    private static BackendChoice? ParseBackend(string value) => value.ToUpperInvariant() switch
    {
        "AUTO" => BackendChoice.Auto,
        "CPU" => BackendChoice.Cpu,
        "CUDA" => BackendChoice.Cuda,
        "ALL" => BackendChoice.All,
        _ => null,
    };
}
