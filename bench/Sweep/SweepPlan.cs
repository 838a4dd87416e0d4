using System.Globalization;

namespace BlasLinear.Bench.Sweep;

/// <summary>The points a run will measure, and what was left out and why.</summary>
internal sealed class SweepPlan
{
    // Samples per point beyond the timed pairs: the discarded first call and about two calibration
    // runs for each side.
    private const int OverheadSamples = 6;

    private SweepPlan(IReadOnlyList<SweepPoint> points, IReadOnlyList<string> trimmed)
    {
        Points = points;
        Trimmed = trimmed;
    }

    public IReadOnlyList<SweepPoint> Points { get; }

    /// <summary>One line per group of points left out, with the reason.</summary>
    public IReadOnlyList<string> Trimmed { get; }

    /// <summary>
    /// Every combination of the options' shapes, batches, layer forms and passes, less those whose
    /// memory exceeds the budget or whose estimated time (at <paramref name="peakGflops"/>, which is
    /// optimistic, so the estimate is a lower bound) exceeds the per-point budget.
    /// </summary>
    public static SweepPlan Create(SweepOptions options, double peakGflops)
    {
        var points = new List<SweepPoint>();
        var trimmed = new List<string>(options.PresetNotes);
        foreach (FeatureShape shape in options.Shapes)
        {
            foreach (int batch in options.Batches)
            {
                foreach (Pass pass in options.Passes)
                {
                    var candidates = options.Layers.Select(layer => new SweepPoint(shape, batch, layer, pass)).ToList();
                    if (candidates.Count == 0)
                    {
                        continue;
                    }

                    string? reason = WhyTrim(candidates[0], options, peakGflops);
                    if (reason is null)
                    {
                        points.AddRange(candidates);
                    }
                    else
                    {
                        trimmed.Add(string.Create(CultureInfo.InvariantCulture,
                            $"{shape} batch {batch} {candidates[0].PassName} ({string.Join(", ", candidates.Select(c => c.LayerName))}): {reason}"));
                    }
                }
            }
        }

        return new SweepPlan(points, trimmed);
    }

    /// <summary>Estimated seconds for a point: every sample lasts at least the minimum, or one iteration per side.</summary>
    public static double EstimateSeconds(SweepPoint point, SweepOptions options, double peakGflops)
    {
        double perIteration = point.Flops / (peakGflops * 1e9);
        return ((2 * options.Pairs) + OverheadSamples) * Math.Max(perIteration, options.MinSampleSeconds);
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
