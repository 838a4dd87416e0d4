using System.Globalization;
using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>Writes results.csv, report.md and the plots into one folder.</summary>
internal static class ResultFolder
{
    public const string CsvName = "results.csv";
    public const string ReportName = "report.md";

    /// <summary>results/&lt;yyyyMMdd-HHmmss&gt;/ under the working directory, named after the run's start.</summary>
    public static string DefaultPath(DateTimeOffset started) =>
        Path.Combine(Environment.CurrentDirectory, "results", started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    /// <summary>Every file written, the CSV and report first.</summary>
    public static IReadOnlyList<string> Write(SweepResult result, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(directory);
        string csv = Path.Combine(directory, CsvName);
        CsvReportWriter.Write(result, csv);
        IReadOnlyList<string> plots = PlotWriter.WriteAll(result, directory);
        string report = Path.Combine(directory, ReportName);
        MarkdownReportWriter.Write(result, plots, report);
        return [csv, report, .. plots];
    }
}
