using BlasLinear.Bench.Sweep;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace BlasLinear.Bench.Output;

/// <summary>The end-of-run table, as a Spectre.Console renderable.</summary>
internal static class ConsoleTable
{
    public static Table Build(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var table = new Table().Border(TableBorder.Rounded);
        string devices = string.Concat(result.DeviceCeilings.Select(d => $"; {d.Backend} peak {Formats.Gflops(d.Peak.Gflops)} GFLOP/s (its sgemm n={d.Peak.Size})"));
        table.Title = new TableTitle(
            $"GFLOP/s, median of {result.Options.Pairs} interleaved samples; peak {Formats.Gflops(result.Peak.Gflops)} GFLOP/s (sgemm n={result.Peak.Size}){devices}; of_roofline = roofline time / median time");
        foreach (string header in ResultRows.Headers(result))
        {
            var column = new TableColumn(new Text(header));
            if (ResultRows.IsNumeric(header))
            {
                column.RightAligned();
            }

            table.AddColumn(column);
        }

        FeatureShape? previous = null;
        var points = result.Points;
        int i = 0;
        foreach (IReadOnlyList<string> cells in ResultRows.Rows(result))
        {
            // A blank line between shapes keeps a long table scannable.
            if (previous is not null && points[i].Point.Shape != previous)
            {
                table.AddEmptyRow();
            }

            previous = points[i].Point.Shape;
            table.AddRow(cells.Select(c => (IRenderable)new Text(c)));
            i++;
        }

        return table;
    }
}
