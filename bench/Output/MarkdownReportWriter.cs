using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Output;

/// <summary>report.md: the machine, the backend, the peak, the table, the plots and how to read them.</summary>
internal static class MarkdownReportWriter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void Write(SweepResult result, IReadOnlyList<string> plotFiles, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(plotFiles);
        var md = new StringBuilder();
        md.AppendLine("# BlasLinear throughput").AppendLine();
        md.AppendLine(Invariant, $"Run started {result.Started:yyyy-MM-dd HH:mm:ss zzz}, took {result.Elapsed.TotalSeconds:0} s: {result.Options.Describe()}.").AppendLine();

        md.AppendLine("## Machine").AppendLine();
        md.AppendLine(Invariant, $"- processor: {MachineInfo.Processor()}, {Environment.ProcessorCount} logical cores");
        md.AppendLine(Invariant, $"- system: {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        md.AppendLine(Invariant, $"- `OPENBLAS_NUM_THREADS`: {MachineInfo.Variable("OPENBLAS_NUM_THREADS")}, `OPENBLAS_CORETYPE`: {MachineInfo.Variable("OPENBLAS_CORETYPE")}");
        md.AppendLine(Invariant, $"- OpenBLAS idle workers: {OpenBlasIdle.Setting}");
        md.AppendLine(Invariant, $"- JIT: {JitSetting.Describe()}");
        IReadOnlyList<string> mapped = MachineInfo.MappedOpenBlas();
        if (mapped.Count > 0)
        {
            md.AppendLine(Invariant, $"- OpenBLAS mapped in this process (the floor and the backend share it): {string.Join(", ", mapped.Select(m => $"`{m}`"))}");
        }

        md.AppendLine(Invariant, $"- peak: **{Formats.Gflops(result.Peak.Gflops)} GFLOP/s**, the best of {result.Peak.Samples.Count} runs of the floor's square `cblas_sgemm` with n = {result.Peak.Size}, half at the start of the run and half at the end (median {Formats.Gflops(result.Peak.Summary.Median)}, min {Formats.Gflops(result.Peak.Summary.Min)})");
        foreach (BackendCeilings device in result.DeviceCeilings)
        {
            PeakMeasurement peak = device.Peak;
            md.AppendLine(Invariant, $"- peak of backend `{device.Backend}`: **{Formats.Gflops(peak.Gflops)} GFLOP/s**, the best of {peak.Samples.Count} runs of its own square sgemm on its own buffers with n = {peak.Size}, half at the start of the run and half at the end (median {Formats.Gflops(peak.Summary.Median)}, min {Formats.Gflops(peak.Summary.Min)}); its rows are measured against this peak and its own floor");
        }

        md.AppendLine();

        foreach (BackendInfo backend in result.Backends)
        {
            md.AppendLine(Invariant, $"### Backend `{backend.Name}`").AppendLine();
            if (backend.OpenBlasThreads is int threads)
            {
                md.AppendLine(Invariant, $"OpenBLAS threads during the run: {threads}.").AppendLine();
            }

            md.AppendLine("```").AppendLine(backend.Description.ToString()).AppendLine("```").AppendLine();
        }

        if (result.Notes.Count > 0)
        {
            md.AppendLine("## Left out").AppendLine();
            foreach (string note in result.Notes)
            {
                md.AppendLine(Invariant, $"- {note}");
            }

            md.AppendLine();
        }

        md.AppendLine("## How to read it").AppendLine();
        md.AppendLine(Invariant, $"""
            - Each point times the managed layer call and the raw C floor (`native/floor`, the same `cblas_sgemm`
              calls on the same shapes, layouts and seeded data) in alternation, A B A B …, {result.Options.Pairs} pairs after a
              discarded warm-up call and a calibration of each side, every sample running enough iterations of its
              side to last at least {result.Options.MinSampleSeconds * 1000:0} ms, after untimed calls of its side lasting a quarter
              of that where its calls are shorter (the other side's sample evicted its operands from the caches). Both sides therefore see the
              same machine state, each at its steady speed.
            - The pairs are taken in rounds: the points of a group (buffers together under {result.Options.RoundGroupBytes / 1048576.0:0} MiB) are
              prepared first, then each round records one pair of every point of the group in turn, so that a
              stretch of a busy machine costs many points one pair each instead of one point all of its pairs.
            - GFLOP/s counts 2·M·N·K per forward and 4·M·N·K per backward (the dX and dW GEMMs); M is the batch, K
              in_features, N out_features. Bias work is not counted.
            - **median (min–max)** over the samples; a wide range means a noisy machine, so compare medians.
            - **ratio** = managed median / floor median. 1.00 means the layer adds nothing over raw BLAS; below 1 is
              overhead (validation, locking, P/Invoke, and for `forward+bias` the bias broadcast, since its floor is
              the bias-free forward). Small batches show overhead most, because each call does little work.
            - **of peak** = managed median / the peak above (above 100 % means the machine was busier while the
              peak was measured). Small batches are memory-bound (the weight is read once
              per call) and cannot approach peak; look at the ratio there.
            - **of_roofline** = the point's roofline time / its median time, where the roofline time is the larger
              of its minimum bytes over the read bandwidth measured at its footprint and its flops over the peak
              (see "Roofline" below). 1.00 is as fast as those two ceilings allow, at any batch.
            - The floor and the backend run in one process on one OpenBLAS with the same thread count.
            - A backend with memory of its own (`cuda`) has its own floor, the same GEMM calls made straight on
              the backend (its `Gemm`, on its own buffers, no layer), and its own peak and read bandwidth (see
              "Roofline"): its ratio is the layer's cost over its library, and its of_roofline is against its ceilings.
            """).AppendLine();

        md.AppendLine("## Results").AppendLine();
        IReadOnlyList<string> headers = ResultRows.Headers(result);
        md.AppendLine("| " + string.Join(" | ", headers) + " |");
        md.AppendLine("|" + string.Concat(headers.Select(h => ResultRows.IsNumeric(h) ? "---:|" : "---|")));
        foreach (IReadOnlyList<string> cells in ResultRows.Rows(result))
        {
            md.AppendLine("| " + string.Join(" | ", cells) + " |");
        }

        md.AppendLine();
        PrecisionComparison.Append(md, result);
        RooflineReport.Append(md, result);
        if (plotFiles.Count > 0)
        {
            md.AppendLine("## Plots").AppendLine();
            md.AppendLine("GFLOP/s against batch size (log₂ axis); solid lines are the layer, dashed lines the floor, dotted lines in the same colour the roofline (the GFLOP/s it allows at each batch), the grey line the peak.").AppendLine();
            if (ResultRows.ShowsPrecision(result))
            {
                md.AppendLine("Each precision is its own series, named in the legend, with its own roofline (a bfloat16 weight counts 2 bytes per element); bfloat16 series have square markers. Both precisions share the float32 floor.").AppendLine();
            }

            foreach (string file in plotFiles)
            {
                md.AppendLine(Invariant, $"![{Path.GetFileNameWithoutExtension(file)}]({Path.GetFileName(file)})").AppendLine();
            }
        }

        File.WriteAllText(path, md.ToString());
    }
}
