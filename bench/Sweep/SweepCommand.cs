using BlasLinear.Bench.Output;
using BlasLinear.Backends;
using Spectre.Console;

namespace BlasLinear.Bench.Sweep;

/// <summary>The default command: prepare, measure with a progress display, print the table, write the folder.</summary>
internal static class SweepCommand
{
    // Wide enough for the table without wrapping when the output is a file or a CI log.
    private const int RedirectedWidth = 160;

    public static int Run(IReadOnlyList<string> args)
    {
        SweepOptions? options = SweepCommandLine.Parse(args, out string? error);
        if (options is null)
        {
            Console.Error.WriteLine(error);
            Console.Error.WriteLine(SweepCommandLine.Usage);
            return 2;
        }

        IAnsiConsole console = AnsiConsole.Console;
        bool live = console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        if (!live)
        {
            console.Profile.Width = Math.Max(console.Profile.Width, RedirectedWidth);
        }

        try
        {
            return Run(options, console, live);
        }
        catch (BackendUnavailableException e)
        {
            console.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Run(SweepOptions options, IAnsiConsole console, bool live)
    {
        console.WriteLine($"BlasLinear throughput: {options.Describe()}");
        console.WriteLine($"OpenBLAS idle workers: {OpenBlasIdle.Setting}");
        console.WriteLine($"JIT: {JitSetting.Describe()}");
        console.WriteLine($"measuring the peak (square sgemm, n = {options.PeakSize}) and the read bandwidth at each point's footprint ({options.BandwidthThreads} threads) ...");
        using SweepRunner runner = SweepRunner.Prepare(options);
        foreach (BackendInfo backend in runner.Backends)
        {
            string threads = backend.OpenBlasThreads is int t ? $", {t} OpenBLAS threads" : "";
            console.WriteLine($"backend {backend.Name}: {backend.Description["core"] ?? backend.Description["backend"]}{threads}");
            if (backend.Description["routing"] is string routing)
            {
                console.WriteLine($"  routing: {routing}");
            }
        }

        console.WriteLine($"peak: {Formats.Gflops(runner.Peak.Gflops)} GFLOP/s (measured again at the end; the report takes the best)");
        IReadOnlyList<long> footprints = runner.Bandwidth.Footprints;
        if (footprints.Count > 0)
        {
            console.WriteLine($"read bandwidth: {footprints.Count} footprints, {Describe(runner.Bandwidth, footprints[0])} to {Describe(runner.Bandwidth, footprints[^1])} (measured again at the end; the report lists each)");
        }

        foreach (BackendCeilings device in runner.DeviceCeilings)
        {
            IReadOnlyList<long> own = device.Bandwidth.Footprints;
            string reads = own.Count > 0 ? $", read bandwidth (its sgemv) {Describe(device.Bandwidth, own[0])} to {Describe(device.Bandwidth, own[^1])}" : "";
            console.WriteLine($"backend {device.Backend}, its own ceilings: peak {Formats.Gflops(device.Peak.Gflops)} GFLOP/s (its square sgemm, n = {device.Peak.Size}){reads}");
        }
        foreach (string note in runner.Notes)
        {
            console.WriteLine($"left out: {note}");
        }

        console.WriteLine($"{runner.TotalPoints} points to measure");
        SweepResult result = live
            ? console.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx => runner.Run(new SpectreSweepObserver(ctx.AddTask("sweep", maxValue: runner.TotalPoints))))
            : runner.Run(new PlainSweepObserver(Console.Out));

        console.Write(ConsoleTable.Build(result));
        if (PrecisionComparison.BuildTable(result) is { } comparison)
        {
            console.Write(comparison);
        }

        foreach (string note in RooflineReport.ExceedNotes(result))
        {
            console.WriteLine($"note: {note}");
        }

        string folder = options.OutputDirectory is { } chosen ? Path.GetFullPath(chosen) : ResultFolder.DefaultPath(result.Started);
        IReadOnlyList<string> files = ResultFolder.Write(result, folder);
        console.WriteLine($"results: {folder}");
        foreach (string file in files)
        {
            console.WriteLine($"  {Path.GetFileName(file)}");
        }

        return 0;
    }

    private static string Describe(BandwidthMeasurement bandwidth, long footprint) =>
        $"{Formats.Gbps(bandwidth.BytesPerSecond(footprint))} GB/s at {Formats.Bytes(footprint)}";
}
