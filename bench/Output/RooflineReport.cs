using System.Globalization;
using System.Text;
using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>
/// The roofline part of report.md: the ceilings (peak and read bandwidth per footprint), each point's
/// roofline, and what it means when a row exceeds its roofline.
/// </summary>
internal static class RooflineReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// One line per kind of row above its roofline (of_roofline &gt; 1), saying which ceiling is then
    /// too low; empty when every row is at or below its roofline.
    /// </summary>
    public static IReadOnlyList<string> ExceedNotes(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var notes = new List<string>();
        var devices = result.DeviceCeilings.Select(d => d.Backend).ToHashSet();
        PointResult[] compute = [.. result.Points.Where(r => r.OfRoofline > 1 && r.Roofline.Bound == RooflineBound.Compute && !devices.Contains(r.Backend))];
        PointResult[] deviceCompute = [.. result.Points.Where(r => r.OfRoofline > 1 && r.Roofline.Bound == RooflineBound.Compute && devices.Contains(r.Backend))];
        PointResult[] memory = [.. result.Points.Where(r => r.OfRoofline > 1 && r.Roofline.Bound == RooflineBound.Memory)];
        if (compute.Length > 0)
        {
            notes.Add(string.Create(Invariant,
                $"{compute.Length} compute-bound row(s) exceed their roofline (of_roofline up to {Formats.Ratio(compute.Max(r => r.OfRoofline))}): the compute peak of {Formats.Gflops(result.Peak.Gflops)} GFLOP/s is not the machine's real ceiling. It is OpenBLAS's square sgemm with the kernel OpenBLAS runs here (OPENBLAS_CORETYPE: {MachineInfo.Variable("OPENBLAS_CORETYPE")}), and the layer's routes (oneDNN, BlasLinear's AVX-512 kernels) can run faster code than that."));
        }

        if (deviceCompute.Length > 0)
        {
            notes.Add(string.Create(Invariant,
                $"{deviceCompute.Length} compute-bound row(s) of {string.Join(", ", deviceCompute.Select(r => r.Backend).Distinct())} exceed their roofline (of_roofline up to {Formats.Ratio(deviceCompute.Max(r => r.OfRoofline))}): the backend's own square sgemm at n = {result.DeviceCeilings[0].Peak.Size} ran slower than its library's choice for those shapes, so that peak is below the device's real ceiling."));
        }

        if (memory.Length > 0)
        {
            notes.Add(string.Create(Invariant,
                $"{memory.Length} memory-bound row(s) exceed their roofline (of_roofline up to {Formats.Ratio(memory.Max(r => r.OfRoofline))}): the read bandwidth measured at their footprint is below what those calls reached (part of their data stayed in a nearer cache between calls, or the machine was busier while the bandwidth was measured)."));
        }

        return notes;
    }

    private static void AppendBandwidth(StringBuilder md, BandwidthMeasurement bandwidth)
    {
        md.AppendLine("| footprint | bytes | GB/s (best) | samples (GB/s) |");
        md.AppendLine("|---:|---:|---:|---|");
        foreach (long footprint in bandwidth.Footprints)
        {
            string samples = string.Join(", ", bandwidth.Samples[footprint].Select(Formats.Gbps));
            md.AppendLine(Invariant, $"| {Formats.Bytes(footprint)} | {footprint} | {Formats.Gbps(bandwidth.BytesPerSecond(footprint))} | {samples} |");
        }

        md.AppendLine();
    }

    public static void Append(StringBuilder md, SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(result);
        BandwidthMeasurement bandwidth = result.Bandwidth;
        md.AppendLine("## Roofline").AppendLine();
        md.AppendLine(Invariant, $"""
            The least time a call can take here is the larger of its minimum bytes over the read bandwidth
            at its footprint and its flops over the compute peak; **of_roofline** = that time / the median
            measured time (1.00 is the roofline; `docs/benchmark.md` gives the byte formula per pass).

            - compute peak: **{Formats.Gflops(result.Peak.Gflops)} GFLOP/s** (the peak above).
            - read bandwidth: measured by the floor (`blfloor_read_bandwidth`) with {bandwidth.Threads} threads
              reading one buffer of each point's footprint together, the best of {bandwidth.Repetitions} timed
              repetitions per call, one call at the start of the run and one at the end. A point uses the best
              figure measured at its footprint or any larger one (reading more is never faster), and the
              table below says which.
            """).AppendLine();

        foreach (string note in ExceedNotes(result))
        {
            md.AppendLine(Invariant, $"**Note:** {note}").AppendLine();
        }

        if (bandwidth.Footprints.Count > 0)
        {
            md.AppendLine("### Read bandwidth per footprint").AppendLine();
            AppendBandwidth(md, bandwidth);
        }

        foreach (BackendCeilings device in result.DeviceCeilings)
        {
            md.AppendLine(Invariant, $"### Backend `{device.Backend}`: its own ceilings").AppendLine();
            md.AppendLine(Invariant, $"- compute peak: **{Formats.Gflops(device.Peak.Gflops)} GFLOP/s**, its own square sgemm on its own buffers (n = {device.Peak.Size}).");
            md.AppendLine(Invariant, $"- read bandwidth: one sgemv (y = A·x, A of 16 KiB rows) reading a matrix of each footprint on the backend, launch included, the best of {device.Bandwidth.Repetitions} timed repetitions of 256 MiB or more, at the start of the run and at its end. At small footprints the launch, not the memory, sets this figure, as it sets the layer's own time there.").AppendLine();
            AppendBandwidth(md, device.Bandwidth);
        }

        md.AppendLine("### Roofline per point").AppendLine();
        bool withBackend = result.Backends.Count > 1;
        bool withPrecision = ResultRows.ShowsPrecision(result);
        if (withPrecision)
        {
            md.AppendLine("A bfloat16 row's bytes count its weight at 2 bytes per element; its floor is still the float32 call, measured against the bfloat16 row's roofline.").AppendLine();
        }

        md.AppendLine((withBackend ? "| backend " : "") + "| shape | batch | layer | pass " + (withPrecision ? "| precision " : "") + "| bytes | footprint | GB/s (measured at) | bound | roofline GFLOP/s | of_roofline | floor of_roofline |");
        md.AppendLine((withBackend ? "|---" : "") + "|---|---:|---|---" + (withPrecision ? "|---" : "") + "|---:|---:|---:|---|---:|---:|---:|");
        foreach (PointResult r in result.Points)
        {
            RooflineEstimate roof = r.Roofline;
            md.AppendLine(Invariant,
                $"{(withBackend ? $"| {r.Backend} " : "")}| {r.Point.Shape} | {r.Point.Batch} | {r.Point.LayerName} | {r.Point.PassName} {(withPrecision ? $"| {r.Point.PrecisionName} " : "")}| {Formats.Bytes(roof.Traffic.Bytes)} | {Formats.Bytes(roof.Traffic.FootprintBytes)} | {Formats.Gbps(roof.Bandwidth.BytesPerSecond)} ({Formats.Bytes(roof.Bandwidth.MeasuredAtBytes)}) | {Formats.Bound(roof.Bound)} | {Formats.Gflops(roof.Gflops)} | {Formats.Ratio(r.OfRoofline)} | {Formats.Ratio(r.FloorOfRoofline)} |");
        }

        md.AppendLine();
    }
}
