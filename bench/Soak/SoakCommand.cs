using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Soak;

/// <summary><c>soak [--duration SECONDS] [--threads N] [--backend cpu|cuda|all] [--seed N]</c>: a long mixed run.</summary>
public static class SoakCommand
{
    public const string Usage = "usage: BlasLinear.Bench soak [--duration SECONDS (600)] [--threads N (4 × cores)] [--backend cpu|cuda|all (all)] [--seed N]";

    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        double seconds = 600;
        int threads = 4 * Environment.ProcessorCount, seed = 1;
        string backendChoice = "all";
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--duration" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && seconds > 0:
                case "--threads" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out threads) && threads > 0:
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed):
                case "--backend" when value is "cpu" or "cuda" or "all" && (backendChoice = value) is not null:
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"soak: bad argument '{args[i]}'{(value is null ? string.Empty : $" '{value}'")}");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        var backends = new List<BlasBackend>();
        if (backendChoice is "cpu" or "all")
        {
            backends.Add(BlasBackend.Create(BackendPreference.Cpu));
        }

        if (backendChoice is "cuda" or "all")
        {
            try
            {
                backends.Add(CudaBackend.Create());
            }
            catch (BackendUnavailableException e) when (backendChoice == "all")
            {
                Console.WriteLine($"soak: CUDA not used: {e.Reason.Split('\n')[0]}");
            }
        }

        try
        {
            Console.WriteLine($"soak: {seconds:0} s on {string.Join(" and ", backends.Select(b => b.Kind))}, {threads} threads, seed {seed}");
            SoakReport report = SoakRunner.Run(
                new SoakOptions(TimeSpan.FromSeconds(seconds), backends, threads, Seed: seed),
                message => Console.WriteLine($"soak: {message}"));
            Print(report);
            return report.Errors == 0 ? 0 : 1;
        }
        finally
        {
            backends.ForEach(b => b.Dispose());
        }
    }

    private static void Print(SoakReport report)
    {
        Console.WriteLine($"calls:          {report.Calls:N0} in {report.Elapsed.TotalSeconds:0} s ({report.Calls / report.Elapsed.TotalSeconds:N0}/s)");
        Console.WriteLine($"checked:        {report.Checked:N0} against float64");
        Console.WriteLine($"layers created: {report.LayersCreated:N0} (and disposed)");
        Console.WriteLine($"errors:         {report.Errors}");
        foreach (string error in report.FirstErrors)
        {
            Console.WriteLine($"  {error}");
        }

        Console.WriteLine($"memory, start:  {SoakRunner.Describe(report.Start)} (after {report.Start.At.TotalSeconds:0} s of warm-up)");
        Console.WriteLine($"memory, middle: {SoakRunner.Describe(report.Middle)}");
        Console.WriteLine($"memory, end:    {SoakRunner.Describe(report.End)}");
        Console.WriteLine($"working set growth after warm-up: {report.WorkingSetGrowthBytes / (1024.0 * 1024):0.0} MiB");
    }
}
