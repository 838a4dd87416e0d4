using System.Diagnostics;
using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Precision;

/// <summary>
/// <c>precision</c>: a bfloat16-prepared <c>Linear</c> forward against the float32-prepared one, each candidate in
/// its own process (so neither inherits the other's caches, threads or memory), the candidates interleaved
/// round after round; prints the median GFLOP/s of each and their ratio per shape and batch.
/// </summary>
internal static class PrecisionCommand
{
    private const string Usage = "precision [--rounds N] [--shapes 1024,4096] [--batches 1,8,32,128]";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        int rounds = 5;
        int[] shapes = [1024, 4096], batches = [1, 8, 32, 128];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--child" when i + 3 < args.Length:
                    return Child(Enum.Parse<WeightPrecision>(args[i + 1]), int.Parse(args[i + 2], Invariant), Ints(args[i + 3]));
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], Invariant);
                    break;
                case "--shapes" when i + 1 < args.Length:
                    shapes = Ints(args[++i]);
                    break;
                case "--batches" when i + 1 < args.Length:
                    batches = Ints(args[++i]);
                    break;
                default:
                    Console.Error.WriteLine($"usage: {Usage}");
                    return 2;
            }
        }

        WeightPrecision[] candidates = [WeightPrecision.Float32, WeightPrecision.BFloat16];
        var results = new Dictionary<(WeightPrecision, int, int), List<double>>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (int shape in shapes)
            {
                // Alternate which candidate goes first, so that neither always runs on a warmer machine.
                foreach (WeightPrecision candidate in round % 2 == 0 ? candidates : candidates.Reverse())
                {
                    foreach ((int batch, double gflops) in RunChild(candidate, shape, batches))
                    {
                        (results.TryGetValue((candidate, shape, batch), out var list) ? list : results[(candidate, shape, batch)] = []).Add(gflops);
                    }
                }
            }
        }

        Console.WriteLine($"Linear forward, prepared: median GFLOP/s over {rounds} rounds, one process per candidate per round, interleaved");
        Console.WriteLine("| shape | batch | float32 | bfloat16 | bfloat16 / float32 |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (int shape in shapes)
        {
            foreach (int batch in batches)
            {
                double f32 = Median(results[(WeightPrecision.Float32, shape, batch)]);
                double bf16 = Median(results[(WeightPrecision.BFloat16, shape, batch)]);
                Console.WriteLine(string.Create(Invariant, $"| {shape}→{shape} | {batch} | {f32:F1} | {bf16:F1} | {bf16 / f32:F2}× |"));
            }
        }

        return 0;
    }

    private static List<(int Batch, double Gflops)> RunChild(WeightPrecision candidate, int shape, int[] batches)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PrecisionCommand).Assembly.Location);
        }

        foreach (string arg in new[] { "precision", "--child", candidate.ToString(), shape.ToString(Invariant), string.Join(',', batches) })
        {
            start.ArgumentList.Add(arg);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        var lines = new List<(int, double)>();
        while (child.StandardOutput.ReadLine() is string line)
        {
            string[] parts = line.Split(' ');
            lines.Add((int.Parse(parts[0], Invariant), double.Parse(parts[1], Invariant)));
        }

        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"the {candidate} process exited with {child.ExitCode}");
        }

        return lines;
    }

    /// <summary>One candidate: prints "batch GFLOP/s" per batch, the median of 7 timed runs of about 0.1 s each.</summary>
    private static int Child(WeightPrecision precision, int shape, int[] batches)
    {
        using LinearLayer layer = Environment.GetEnvironmentVariable("PRECISION_FORM") == "param"
            ? new ParameterLinear(shape, shape, bias: true)
            : new Linear(shape, shape, bias: true);
        layer.PrepareForInference(precision, dropFloat32Weights: false);
        foreach (int batch in batches)
        {
            float[] x = new float[batch * shape], y = new float[batch * shape];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)Math.Sin(i);
            }

            int calls = 1;
            for (var watch = Stopwatch.StartNew(); watch.Elapsed.TotalSeconds < 0.05; calls *= 2)
            {
                for (int c = 0; c < calls; c++)
                {
                    layer.Forward(x, y);
                }

                watch.Restart();
                for (int c = 0; c < calls; c++)
                {
                    layer.Forward(x, y);
                }
            }

            var samples = new List<double>();
            for (int r = 0; r < 7; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int c = 0; c < calls; c++)
                {
                    layer.Forward(x, y);
                }

                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds / calls;
                samples.Add(2.0 * batch * shape * shape / seconds / 1e9);
            }

            Console.WriteLine(string.Create(Invariant, $"{batch} {Median(samples):R}"));
        }

        return 0;
    }

    private static int[] Ints(string list) => list.Split(',').Select(s => int.Parse(s, Invariant)).ToArray();

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
