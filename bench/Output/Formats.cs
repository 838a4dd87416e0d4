using System.Globalization;

namespace BlasLinear.Bench.Output;

/// <summary>Number formats shared by the table, the CSV and the report, culture-independent.</summary>
internal static class Formats
{
    public static string Gflops(double value) => value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    public static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Bytes in KiB below a MiB, in MiB above.</summary>
    public static string Bytes(long bytes) => bytes < 1048576
        ? (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB"
        : (bytes / 1048576.0).ToString("0.00", CultureInfo.InvariantCulture) + " MiB";

    public static string Gbps(double bytesPerSecond) => (bytesPerSecond / 1e9).ToString("0.0", CultureInfo.InvariantCulture);

    public static string Bound(Sweep.RooflineBound bound) => bound == Sweep.RooflineBound.Memory ? "memory" : "compute";

    public static string Range(Sweep.Summary s) => $"{Gflops(s.Median)} ({Gflops(s.Min)}–{Gflops(s.Max)})";
}
