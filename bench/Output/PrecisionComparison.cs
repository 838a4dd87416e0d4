using System.Globalization;
using System.Text;
using BlasLinear.Backends;
using BlasLinear.Bench.Sweep;
using Spectre.Console;

namespace BlasLinear.Bench.Output;

/// <summary>A bfloat16 row and the float32 row of the same backend and point.</summary>
internal sealed record PrecisionPair(PointResult Float32, PointResult BFloat16)
{
    /// <summary>bfloat16 median GFLOP/s over float32 median GFLOP/s: both rows count the same flops, so this is the call's speed-up.</summary>
    public double Ratio => BFloat16.Managed.Median / Float32.Managed.Median;

    /// <summary>
    /// The two rows' floor medians, bfloat16 row over float32 row: the same float32 call measured twice,
    /// so far from 1 it says the machine changed between the two rows.
    /// </summary>
    public double FloorDrift => BFloat16.Floor.Median / Float32.Floor.Median;
}

/// <summary>bfloat16 against float32 at the same point: the report's section and the console's table.</summary>
internal static class PrecisionComparison
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Every bfloat16 row that has a float32 row of the same backend and point, in the run's order.</summary>
    public static IReadOnlyList<PrecisionPair> Pairs(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var float32 = result.Points
            .Where(r => r.Point.Precision == WeightPrecision.Float32)
            .ToDictionary(r => (r.Backend, r.Point with { Precision = WeightPrecision.Float32 }));
        var pairs = new List<PrecisionPair>();
        foreach (PointResult r in result.Points.Where(r => r.Point.Precision == WeightPrecision.BFloat16))
        {
            if (float32.TryGetValue((r.Backend, r.Point with { Precision = WeightPrecision.Float32 }), out PointResult? same))
            {
                pairs.Add(new PrecisionPair(same, r));
            }
        }

        return pairs;
    }

    /// <summary>The section "bfloat16 against float32"; nothing when the run has no bfloat16 row.</summary>
    public static void Append(StringBuilder md, SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(result);
        if (!result.Points.Any(r => r.Point.Precision == WeightPrecision.BFloat16))
        {
            return;
        }

        md.AppendLine("## bfloat16 against float32").AppendLine();
        md.AppendLine("""
            A bfloat16 row is the same point as the float32 row beside it, with the layer prepared by
            `PrepareForInference(WeightPrecision.BFloat16)`: the forward reads a copy of the weight rounded to
            bfloat16 (2 bytes per element) and widens it to float32 in registers. Both rows run in this process
            one after the other, each interleaved with the same float32 floor, and count the same flops, so
            **bf16 / f32**, the ratio of their median GFLOP/s (**GFLOP/s bf16** over **GFLOP/s f32**), is the
            speed-up of the call (above 1.00: bfloat16 is faster). A bfloat16 row's roofline counts the weight
            at 2 bytes, so its of_roofline is measured against what the halved weight traffic allows
            (**of_roofline bf16**; **of_roofline f32** is the float32 row's). **floor drift** is the bfloat16 row's floor
            median over the float32 row's (the same float32 call, measured twice): far from 1.00, the machine
            changed between the two rows, and the ratio may have moved with it. Only forward passes on the CPU
            have bfloat16 rows (see "Left out").
            """).AppendLine();

        IReadOnlyList<PrecisionPair> pairs = Pairs(result);
        if (pairs.Count == 0)
        {
            md.AppendLine("No float32 row was measured at the same points (float32 was not in `--precision`), so there is nothing to compare with.").AppendLine();
            return;
        }

        md.AppendLine(Invariant, $"{Summary(pairs)}.").AppendLine();
        IReadOnlyList<string> headers = Headers(result);
        md.AppendLine("| " + string.Join(" | ", headers) + " |");
        md.AppendLine("|" + string.Concat(headers.Select(h => IsNumeric(h) ? "---:|" : "---|")));
        foreach (IReadOnlyList<string> cells in Rows(result, pairs))
        {
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }

        md.AppendLine();
    }

    /// <summary>The console's comparison table; null when there is no pair to compare.</summary>
    public static Table? BuildTable(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        IReadOnlyList<PrecisionPair> pairs = Pairs(result);
        if (pairs.Count == 0)
        {
            return null;
        }

        var table = new Table().Border(TableBorder.Rounded);
        table.Title = new TableTitle($"bfloat16 against float32 at the same point, median GFLOP/s: {Summary(pairs)}");
        foreach (string header in Headers(result))
        {
            var column = new TableColumn(new Text(header));
            if (IsNumeric(header))
            {
                column.RightAligned();
            }

            table.AddColumn(column);
        }

        foreach (IReadOnlyList<string> cells in Rows(result, pairs))
        {
            table.AddRow([.. cells.Select(c => new Text(c))]);
        }

        return table;
    }

    /// <summary>One line: how many pairs, the range of the ratio and how many are above 1.</summary>
    public static string Summary(IReadOnlyList<PrecisionPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        double[] ratios = [.. pairs.Select(p => p.Ratio).Order()];
        int faster = ratios.Count(r => r > 1);
        return string.Create(Invariant,
            $"bf16 / f32 from {Formats.Ratio(ratios[0])} to {Formats.Ratio(ratios[^1])} over {ratios.Length} points, bfloat16 faster at {faster}");
    }

    private static List<string> Headers(SweepResult result)
    {
        List<string> headers = ["shape", "batch", "layer", "pass", "GFLOP/s f32", "GFLOP/s bf16", "bf16 / f32", "of_roofline f32", "of_roofline bf16", "floor drift"];
        if (result.Backends.Count > 1)
        {
            headers.Insert(0, "backend");
        }

        return headers;
    }

    private static bool IsNumeric(string header) => header is not ("backend" or "shape" or "layer" or "pass");

    private static IEnumerable<IReadOnlyList<string>> Rows(SweepResult result, IReadOnlyList<PrecisionPair> pairs)
    {
        bool withBackend = result.Backends.Count > 1;
        foreach (PrecisionPair pair in pairs)
        {
            SweepPoint point = pair.Float32.Point;
            List<string> cells =
            [
                point.Shape.ToString(),
                Formats.Integer(point.Batch),
                point.LayerName,
                point.PassName,
                Formats.Gflops(pair.Float32.Managed.Median),
                Formats.Gflops(pair.BFloat16.Managed.Median),
                Formats.Ratio(pair.Ratio),
                Formats.Ratio(pair.Float32.OfRoofline),
                Formats.Ratio(pair.BFloat16.OfRoofline),
                Formats.Ratio(pair.FloorDrift),
            ];
            if (withBackend)
            {
                cells.Insert(0, pair.Float32.Backend);
            }

            yield return cells;
        }
    }
}
