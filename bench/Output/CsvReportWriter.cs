using System.Text;
using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>
/// results.csv: one row per point, machine-readable numbers (invariant culture, full precision). Columns
/// are only ever added at the end, so a reader that indexes them keeps working; <c>precision</c> is the
/// weight's (float32 or bfloat16) on every row. <c>iterations_per_sample</c> is the managed side's count,
/// <c>floor_iterations_per_sample</c> the floor's: each side runs enough for its own samples to last the minimum.
/// </summary>
internal static class CsvReportWriter
{
    public const string Header =
        "backend,in_features,out_features,batch,layer,pass,flops_per_call,iterations_per_sample,pairs," +
        "managed_gflops_median,managed_gflops_min,managed_gflops_max," +
        "floor_gflops_median,floor_gflops_min,floor_gflops_max," +
        "ratio_to_floor,managed_fraction_of_peak,floor_fraction_of_peak,peak_gflops," +
        "of_roofline,floor_of_roofline,roofline_gflops,roofline_seconds,roofline_bytes,roofline_footprint_bytes," +
        "bandwidth_gbps,bandwidth_measured_at_bytes,roofline_bound,precision,floor_iterations_per_sample";

    public static void Write(SweepResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder().AppendLine(Header);
        foreach (PointResult r in result.Points)
        {
            string[] fields =
            [
                r.Backend,
                Formats.Integer(r.Point.Shape.In),
                Formats.Integer(r.Point.Shape.Out),
                Formats.Integer(r.Point.Batch),
                r.Point.LayerName,
                r.Point.PassName,
                Formats.Number(r.Point.Flops),
                Formats.Integer(r.Iterations),
                Formats.Integer(r.Pairs),
                Formats.Number(r.Managed.Median),
                Formats.Number(r.Managed.Min),
                Formats.Number(r.Managed.Max),
                Formats.Number(r.Floor.Median),
                Formats.Number(r.Floor.Min),
                Formats.Number(r.Floor.Max),
                Formats.Number(r.Ratio),
                Formats.Number(r.FractionOfPeak),
                Formats.Number(r.FloorFractionOfPeak),
                Formats.Number(r.PeakGflops),
                Formats.Number(r.OfRoofline),
                Formats.Number(r.FloorOfRoofline),
                Formats.Number(r.Roofline.Gflops),
                Formats.Number(r.Roofline.Seconds),
                Formats.Integer(r.Roofline.Traffic.Bytes),
                Formats.Integer(r.Roofline.Traffic.FootprintBytes),
                Formats.Number(r.Roofline.Bandwidth.BytesPerSecond / 1e9),
                Formats.Integer(r.Roofline.Bandwidth.MeasuredAtBytes),
                Formats.Bound(r.Roofline.Bound),
                r.Point.PrecisionName,
                Formats.Integer(r.FloorIterations),
            ];
            text.AppendJoin(',', fields).AppendLine();
        }

        File.WriteAllText(path, text.ToString());
    }
}
