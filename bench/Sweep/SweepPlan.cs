using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>The points a run will measure, and what was left out and why.</summary>
internal sealed class SweepPlan
{
    // Samples per point beyond the timed pairs: the discarded first call, about two calibration runs and
    // one full-length check (InterleavedTimer) for each side.
    private const int OverheadSamples = 8;

    private const string BackwardRefusal =
        "Backward on a layer prepared with WeightPrecision.BFloat16 throws InvalidOperationException: its gradients would be those of other weights than the forward used";

    private SweepPlan(IReadOnlyList<SweepPoint> points, IReadOnlyList<string> trimmed)
    {
        Points = points;
        Trimmed = trimmed;
    }

    public IReadOnlyList<SweepPoint> Points { get; }

    /// <summary>One line per group of points left out, with the reason.</summary>
    public IReadOnlyList<string> Trimmed { get; }

    /// <summary>
    /// Every combination of the options' shapes, batches, layer forms, passes and precisions (bfloat16 for
    /// the forward passes only), less those whose memory exceeds the budget or whose estimated time (at
    /// <paramref name="peakGflops"/>, which is optimistic, so the estimate is a lower bound) exceeds the
    /// per-point budget. The precisions of one layer and pass come one after the other, so that they are
    /// measured moments apart and sit in adjacent rows.
    /// </summary>
    public static SweepPlan Create(SweepOptions options, double peakGflops)
    {
        var points = new List<SweepPoint>();
        var trimmed = new List<string>(options.PresetNotes);
        if (options.Precisions.Contains(WeightPrecision.BFloat16) && options.Passes.Contains(Pass.Backward))
        {
            trimmed.Add(options.Precisions.Contains(WeightPrecision.Float32)
                ? $"backward: no bfloat16 rows, by design ({BackwardRefusal}); the backward is measured in float32 only"
                : $"backward: not measured, no bfloat16 rows by design ({BackwardRefusal}), and float32 was not asked for");
        }

        foreach (FeatureShape shape in options.Shapes)
        {
            foreach (int batch in options.Batches)
            {
                foreach (Pass pass in options.Passes)
                {
                    List<SweepPoint> candidates =
                    [
                        .. from layer in options.Layers
                           from precision in options.Precisions
                           where pass != Pass.Backward || precision == WeightPrecision.Float32
                           select new SweepPoint(shape, batch, layer, pass, precision),
                    ];

                    // A bfloat16 variant holds one more copy of the weight, so each variant is judged on its own.
                    foreach (var group in candidates.GroupBy(c => WhyTrim(c, options, peakGflops)))
                    {
                        if (group.Key is not string reason)
                        {
                            points.AddRange(group);
                            continue;
                        }

                        trimmed.Add(string.Create(CultureInfo.InvariantCulture,
                            $"{shape} batch {batch} {group.First().PassName} ({string.Join(", ", group.Select(c => c.VariantName))}): {reason}"));
                    }
                }
            }
        }

        return new SweepPlan(points, trimmed);
    }

    /// <summary>
    /// Estimated seconds for a point: every sample lasts at least the minimum, or one iteration per side,
    /// and each recorded one follows the untimed warm-up the timer runs (<see cref="InterleavedTimer.WarmUpIterations"/>).
    /// </summary>
    public static double EstimateSeconds(SweepPoint point, SweepOptions options, double peakGflops)
    {
        double perIteration = point.Flops / (peakGflops * 1e9);
        double recorded = 2 * options.Pairs * Math.Max(perIteration, options.MinSampleSeconds);
        double warmUp = 2 * options.Pairs * InterleavedTimer.WarmUpIterations(perIteration, options.MinSampleSeconds) * perIteration;
        return recorded + warmUp + (OverheadSamples * Math.Max(perIteration, options.MinSampleSeconds));
    }

    private static string? WhyTrim(SweepPoint point, SweepOptions options, double peakGflops)
    {
        long bytes = point.EstimatedBytes;
        if (bytes > options.MemoryBudgetBytes)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"needs ~{bytes / 1048576.0:0} MiB, over the memory budget of {options.MemoryBudgetBytes / 1048576.0:0} MiB (half of the memory available)");
        }

        double seconds = EstimateSeconds(point, options, peakGflops);
        if (seconds > options.PointTimeBudgetSeconds)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"estimated ≥ {seconds:0} s at the measured peak, over the {options.PointTimeBudgetSeconds:0} s budget per point");
        }

        return null;
    }
}
