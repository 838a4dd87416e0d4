using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>The result table as text cells, shared by the console table and the Markdown report.</summary>
internal static class ResultRows
{
    public static IReadOnlyList<string> Headers(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        List<string> headers = ["shape", "batch", "layer", "pass", "GFLOP/s median (min–max)", "floor GFLOP/s median (min–max)", "ratio", "of peak", "of_roofline"];
        if (result.Backends.Count > 1)
        {
            headers.Insert(0, "backend");
        }

        return headers;
    }

    /// <summary>Which columns hold numbers, to be right-aligned.</summary>
    public static bool IsNumeric(string header) => header is not ("backend" or "shape" or "layer" or "pass");

    public static IEnumerable<IReadOnlyList<string>> Rows(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        bool withBackend = result.Backends.Count > 1;
        foreach (PointResult r in result.Points)
        {
            List<string> cells =
            [
                r.Point.Shape.ToString(),
                Formats.Integer(r.Point.Batch),
                r.Point.LayerName,
                r.Point.PassName,
                Formats.Range(r.Managed),
                Formats.Range(r.Floor),
                Formats.Ratio(r.Ratio),
                Formats.Percent(r.FractionOfPeak),
                Formats.Ratio(r.OfRoofline),
            ];
            if (withBackend)
            {
                cells.Insert(0, r.Backend);
            }

            yield return cells;
        }
    }
}
