using BlasLinear.Backends;
using BlasLinear.Bench.Sweep;
using ScottPlot;

namespace BlasLinear.Bench.Output;

/// <summary>
/// One PNG per backend, shape and layer form: GFLOP/s against batch size, the layer's passes (one series
/// per pass and precision) as solid lines, the floor of each pass dashed and its roofline (one per
/// precision) dotted in the same colour, with the peak for scale.
/// </summary>
internal static class PlotWriter
{
    private const int Width = 900;
    private const int Height = 560;

    public static IReadOnlyList<string> WriteAll(SweepResult result, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        var files = new List<string>();
        var groups = result.Points.GroupBy(r => (r.Backend, r.Point.Shape, r.Point.Layer));
        foreach (var group in groups)
        {
            string name = $"{group.Key.Backend}-{group.Key.Shape.FileToken}-{(group.Key.Layer == LayerForm.Linear ? "linear" : "parameterlinear")}.png";
            string path = Path.Combine(directory, name);
            Write([.. group], result.PeakFor(group.Key.Backend), result.DeviceCeilings.Any(d => d.Backend == group.Key.Backend), path);
            files.Add(path);
        }

        return files;
    }

    private static void Write(IReadOnlyList<PointResult> points, double peak, bool deviceFloor, string path)
    {
        PointResult first = points[0];
        bool withPrecision = points.Any(p => p.Point.Precision != WeightPrecision.Float32);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int colorIndex = 0;
        var floorsDrawn = new HashSet<FloorOp>();
        var rooflinesDrawn = new HashSet<(FloorOp, WeightPrecision)>();
        foreach (var series in points.GroupBy(p => (p.Point.Pass, p.Point.Precision)).OrderBy(g => g.Key.Pass).ThenBy(g => g.Key.Precision))
        {
            PointResult[] ordered = [.. series.OrderBy(p => p.Point.Batch)];
            SweepPoint point = ordered[0].Point;
            double[] xs = [.. ordered.Select(p => Math.Log2(p.Point.Batch))];
            Color color = palette.GetColor(colorIndex++);
            string kind = point.Pass == Pass.Backward ? "backward" : "forward";

            // The floor goes first, wide and faded, so where the layer matches it the solid line sits
            // inside a dashed band instead of hiding it. forward and forward+bias share one floor, and
            // one roofline (the bias's 4·N bytes do not move it visibly); every precision shares the
            // float32 floor, but a bfloat16 weight has its own roofline.
            if (floorsDrawn.Add(point.FloorOp))
            {
                var floor = plot.Add.Scatter(xs, [.. ordered.Select(p => p.Floor.Median)], color.WithAlpha(0.45));
                floor.LegendText = deviceFloor ? $"floor {kind} (raw sgemm on {first.Backend})" : $"floor {kind} (cblas_sgemm)";
                floor.LinePattern = LinePattern.Dashed;
                floor.LineWidth = 5;
                floor.MarkerSize = 0;
            }

            if (rooflinesDrawn.Add((point.FloorOp, point.Precision)))
            {
                // Thin and dotted: the GFLOP/s the pass's bytes and flops allow at each batch.
                var roofline = plot.Add.Scatter(xs, [.. ordered.Select(p => p.Roofline.Gflops)], color);
                roofline.LegendText = withPrecision ? $"roofline {kind} {point.PrecisionName}" : $"roofline {kind}";
                roofline.LinePattern = LinePattern.Dotted;
                roofline.LineWidth = 1.5f;
                roofline.MarkerSize = 0;
            }

            var managed = plot.Add.Scatter(xs, [.. ordered.Select(p => p.Managed.Median)], color);
            managed.LegendText = withPrecision ? $"{first.Point.LayerName} {point.PassName} {point.PrecisionName}" : $"{first.Point.LayerName} {point.PassName}";
            managed.LineWidth = 2;
            managed.MarkerSize = 7;
            if (point.Precision == WeightPrecision.BFloat16)
            {
                managed.MarkerShape = MarkerShape.FilledSquare;
            }
        }

        var peakLine = plot.Add.HorizontalLine(peak, 1, Colors.Gray, LinePattern.Dotted);
        peakLine.LegendText = $"peak {Formats.Gflops(peak)} GFLOP/s";

        int[] batches = [.. points.Select(p => p.Point.Batch).Distinct().Order()];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. batches.Select(b => Math.Log2(b))], [.. batches.Select(b => Formats.Integer(b))]);
        double top = Math.Max(peak, points.Max(p => Math.Max(p.Managed.Median, p.Floor.Median)));
        plot.Axes.SetLimitsY(0, top * 1.1);
        plot.Title($"{first.Point.LayerName} {first.Point.Shape} on {first.Backend}");
        plot.XLabel("batch size (log₂ scale)");
        plot.YLabel("GFLOP/s (median)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, Width, Height);
    }
}
