using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>The result table as text cells, shared by the console table and the Markdown report.</summary>
internal static class ResultRows
{
    public static IReadOnlyList<string> Headers(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        List<string> headers = ["shape", "batch", "layer", "pass", "GFLOP/s median (min–max)", "floor GFLOP/s median (min–max)", "ratio", "of peak", "of_roofline"];
        if (ShowsPrecision(result))
        {
            headers.Insert(4, "precision");
        }

        if (result.Backends.Count > 1)
        {
            headers.Insert(0, "backend");
        }

        return headers;
    }

    /// <summary>Which columns hold numbers, to be right-aligned.</summary>
    public static bool IsNumeric(string header) => header is not ("backend" or "shape" or "layer" or "pass" or "precision");

    /// <summary>
    /// Whether the tables name each row's precision: only when some row is not float32, so a float32-only
    /// run's tables read as they always have.
    /// </summary>
    public static bool ShowsPrecision(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Points.Any(r => r.Point.Precision != Backends.WeightPrecision.Float32);
    }

    public static IEnumerable<IReadOnlyList<string>> Rows(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        bool withBackend = result.Backends.Count > 1;
        bool withPrecision = ShowsPrecision(result);
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
            if (withPrecision)
            {
                cells.Insert(4, r.Point.PrecisionName);
            }

            if (withBackend)
            {
                cells.Insert(0, r.Backend);
            }

            yield return cells;
        }
    }
}
