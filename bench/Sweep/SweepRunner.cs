using System.Diagnostics;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>
/// Runs the sweep in two steps: <see cref="Prepare"/> opens the backends, measures the peak, plans the
/// points (so what was trimmed can be printed before the run) and measures the read bandwidth at each
/// point's footprint, then <see cref="Run"/> measures the points. A backend with memory of its own (CUDA)
/// gets its own floor and ceilings, measured on it (<see cref="DeviceFloorWorkload"/>, <see cref="DeviceMeasurements"/>).
/// </summary>
internal sealed class SweepRunner : IDisposable
{
    private readonly List<OpenedBackend> _backends;
    private readonly DateTimeOffset _started;
    private readonly long _startTimestamp;

    private SweepRunner(
        SweepOptions options, List<OpenedBackend> backends, List<string> notes,
        PeakMeasurement peak, SweepPlan plan, BandwidthMeasurement bandwidth, IReadOnlyList<BackendCeilings> deviceCeilings,
        DateTimeOffset started, long startTimestamp)
    {
        Options = options;
        _backends = backends;
        Notes = notes;
        Peak = peak;
        Plan = plan;
        Bandwidth = bandwidth;
        DeviceCeilings = deviceCeilings;
        _started = started;
        _startTimestamp = startTimestamp;
        TotalPoints = backends.Sum(b => PointsFor(plan, b).Count);
    }

    public SweepOptions Options { get; }

    public PeakMeasurement Peak { get; }

    public SweepPlan Plan { get; }

    /// <summary>The read bandwidth at the start of the run, at every footprint of the plan.</summary>
    public BandwidthMeasurement Bandwidth { get; }

    /// <summary>The peak and read bandwidth of each backend with memory of its own, at the start of the run.</summary>
    public IReadOnlyList<BackendCeilings> DeviceCeilings { get; }

    /// <summary>Backends skipped and why, then the trimmed points.</summary>
    public IReadOnlyList<string> Notes { get; }

    public IReadOnlyList<BackendInfo> Backends => [.. _backends.Select(b => b.Info)];

    /// <summary>Points to measure over every backend (each backend's precisions), counted once.</summary>
    public int TotalPoints { get; }

    /// <exception cref="BackendUnavailableException">A backend asked for by name cannot be used here.</exception>
    public static SweepRunner Prepare(SweepOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        DateTimeOffset started = DateTimeOffset.Now;
        long startTimestamp = Stopwatch.GetTimestamp();
        var notes = new List<string>();
        List<OpenedBackend> backends = OpenBackends(options, notes);
        try
        {
            var peak = PeakMeasurement.Measure(options.PeakSize, options.PeakRepetitions, options.Seed);
            var plan = SweepPlan.Create(options, peak.Gflops);
            notes.AddRange(plan.Trimmed);
            var bandwidth = MeasureBandwidth(options, MeasuredPoints(plan, backends.Where(b => !b.OwnMemory)));
            List<BackendCeilings> devices = [.. backends.Where(b => b.OwnMemory).Select(b => MeasureCeilings(options, plan, b))];
            return new SweepRunner(options, backends, notes, peak, plan, bandwidth, devices, started, startTimestamp);
        }
        catch
        {
            foreach (OpenedBackend opened in backends)
            {
                opened.Backend.Dispose();
            }

            throw;
        }
    }

    public SweepResult Run(ISweepObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var timer = new InterleavedTimer(Options.Pairs, Options.MinSampleSeconds);
        var results = new List<PointResult>(TotalPoints);
        foreach (OpenedBackend opened in _backends)
        {
            List<SweepPoint> points = PointsFor(Plan, opened);
            if (points.Count > 0)
            {
                WarmUp(opened, points[0]);
            }

            foreach (IReadOnlyList<SweepPoint> group in RoundGroups(points, Options.RoundGroupBytes))
            {
                MeasureGroup(timer, opened, group, observer, results);
            }
        }

        PeakMeasurement peak = Peak.Combine(PeakMeasurement.Measure(Options.PeakSize, Options.PeakRepetitions, Options.Seed));
        BandwidthMeasurement bandwidth = Bandwidth.Combine(MeasureBandwidth(Options, MeasuredPoints(Plan, _backends.Where(b => !b.OwnMemory))));
        List<BackendCeilings> devices =
        [
            .. DeviceCeilings.Select(start => start.Combine(MeasureCeilings(Options, Plan, _backends.Single(b => b.Info.Name == start.Backend)))),
        ];
        var host = new BackendCeilings(string.Empty, peak, bandwidth);
        List<PointResult> final =
        [
            .. results.Select(r =>
            {
                BackendCeilings ceilings = devices.SingleOrDefault(d => d.Backend == r.Backend) ?? host;
                return r with { PeakGflops = ceilings.Peak.Gflops, Roofline = RooflineOf(r.Point, ceilings.Bandwidth, ceilings.Peak.Gflops) };
            }),
        ];
        return new SweepResult(Options, _started, Stopwatch.GetElapsedTime(_startTimestamp), peak, bandwidth, Backends, Notes, final) { DeviceCeilings = devices };
    }

    public void Dispose()
    {
        foreach (OpenedBackend opened in _backends)
        {
            opened.Backend.Dispose();
        }
    }

    /// <summary>The plan's points in the precisions this backend holds, in the plan's order.</summary>
    private static List<SweepPoint> PointsFor(SweepPlan plan, OpenedBackend backend) =>
        [.. plan.Points.Where(p => backend.Precisions.Contains(p.Precision))];

    /// <summary>Every point some backend measures, each once.</summary>
    private static IEnumerable<SweepPoint> MeasuredPoints(SweepPlan plan, IEnumerable<OpenedBackend> backends) =>
        backends.SelectMany(b => PointsFor(plan, b)).Distinct();

    /// <summary>A backend's own peak (its square sgemm at the options' size) and read bandwidth at its points' footprints.</summary>
    private static BackendCeilings MeasureCeilings(SweepOptions options, SweepPlan plan, OpenedBackend opened) =>
        new(opened.Info.Name,
            DeviceMeasurements.MeasurePeak(opened.Backend, options.PeakSize, options.PeakRepetitions, options.Seed),
            DeviceMeasurements.MeasureBandwidth(opened.Backend, PointsFor(plan, opened).Select(p => RooflineTraffic.Of(p).FootprintBytes), options.BandwidthRepetitions));

    /// <summary>The raw side of a point: the host's C floor, or for a backend with its own memory its GEMMs on its buffers.</summary>
    private ITimedWorkload CreateFloor(OpenedBackend opened, SweepPoint point) =>
        opened.OwnMemory ? DeviceFloorWorkload.Create(point, opened.Backend, Options.Seed) : FloorWorkload.Create(point, Options.Seed);

    /// <summary>
    /// Runs the first point of a backend, both sides, for about a second and keeps nothing: the first
    /// points of a run otherwise pay for JIT compilation, thread start-up and clock ramp-up (a quick run
    /// once measured its first floor at 0.5 GFLOP/s against 10 for the same point later).
    /// </summary>
    private void WarmUp(OpenedBackend opened, SweepPoint point)
    {
        using ManagedWorkload managed = ManagedWorkload.Create(point, opened.Backend, Options.Seed);
        using ITimedWorkload floor = CreateFloor(opened, point);
        long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            managed.Time(1);
            floor.Time(1);
        }
    }

    /// <summary>
    /// Splits a backend's points, in the plan's order, into runs whose <see cref="SweepPoint.EstimatedBytes"/>
    /// add up to at most <paramref name="groupBytes"/> (a point over it alone is a group of its own).
    /// </summary>
    internal static List<IReadOnlyList<SweepPoint>> RoundGroups(IReadOnlyList<SweepPoint> points, long groupBytes)
    {
        var groups = new List<IReadOnlyList<SweepPoint>>();
        var current = new List<SweepPoint>();
        long bytes = 0;
        foreach (SweepPoint point in points)
        {
            if (current.Count > 0 && bytes + point.EstimatedBytes > groupBytes)
            {
                groups.Add(current);
                current = [];
                bytes = 0;
            }

            current.Add(point);
            bytes += point.EstimatedBytes;
        }

        if (current.Count > 0)
        {
            groups.Add(current);
        }

        return groups;
    }

    /// <summary>
    /// Measures a group of points in rounds. Every point's workloads are made and calibrated first (each
    /// keeps its buffers until the group is done); then each of <see cref="SweepOptions.Pairs"/> rounds records
    /// one pair of every point in turn. On a shared machine the noise comes in stretches of a second or more
    /// (another tenant's job on the same cores or the same L3); measured one after the other, a point's pairs
    /// all fell in one stretch and its median with them, and the same forward read 0.57 of its roofline in one
    /// run and 1.05 in the next. In rounds a stretch costs many points one pair each, which their medians
    /// pass over.
    /// </summary>
    private void MeasureGroup(InterleavedTimer timer, OpenedBackend opened, IReadOnlyList<SweepPoint> group, ISweepObserver observer, List<PointResult> results)
    {
        int first = results.Count;
        var started = new List<(SweepPoint Point, ManagedWorkload Managed, ITimedWorkload Floor, InterleavedPair Pair)>(group.Count);
        try
        {
            for (int i = 0; i < group.Count; i++)
            {
                SweepPoint point = group[i];
                observer.PointStarted(opened.Info.Name, point, first + i, TotalPoints);
                ManagedWorkload managed = ManagedWorkload.Create(point, opened.Backend, Options.Seed);
                ITimedWorkload? floor = null;
                try
                {
                    floor = CreateFloor(opened, point);
                    started.Add((point, managed, floor, timer.Start(managed, floor)));
                }
                catch
                {
                    managed.Dispose();
                    floor?.Dispose();
                    throw;
                }
            }

            for (int round = 0; round < timer.Pairs; round++)
            {
                observer.RoundStarted(round, timer.Pairs, group.Count);
                foreach ((_, _, _, InterleavedPair pair) in started)
                {
                    pair.Record();
                }
            }

            foreach ((SweepPoint point, _, _, InterleavedPair pair) in started)
            {
                PointResult result = ResultOf(opened.Info.Name, point, pair.Samples(), CeilingsOf(opened));
                results.Add(result);
                observer.PointFinished(result, results.Count - 1, TotalPoints);
            }
        }
        finally
        {
            foreach ((_, ManagedWorkload managed, ITimedWorkload floor, _) in started)
            {
                managed.Dispose();
                floor.Dispose();
            }
        }
    }

    /// <summary>The peak and bandwidth a backend's rows are measured against: its own, or the host's.</summary>
    private BackendCeilings CeilingsOf(OpenedBackend opened) =>
        opened.OwnMemory ? DeviceCeilings.Single(d => d.Backend == opened.Info.Name) : new BackendCeilings(string.Empty, Peak, Bandwidth);

    private static PointResult ResultOf(string backendName, SweepPoint point, InterleavedSamples samples, BackendCeilings ceilings)
    {
        double managedGflop = point.Flops * samples.FirstIterations / 1e9;
        double floorGflop = point.Flops * samples.SecondIterations / 1e9;
        return new PointResult(
            backendName, point, samples.FirstIterations, samples.SecondIterations, samples.FirstSeconds.Count,
            Summary.Of([.. samples.FirstSeconds.Select(s => managedGflop / s)]),
            Summary.Of([.. samples.SecondSeconds.Select(s => floorGflop / s)]),
            ceilings.Peak.Gflops,
            RooflineOf(point, ceilings.Bandwidth, ceilings.Peak.Gflops));
    }

    /// <summary>The point's roofline: its least traffic at the bandwidth for its footprint, and its flops at the peak.</summary>
    private static RooflineEstimate RooflineOf(SweepPoint point, BandwidthMeasurement bandwidth, double peakGflops)
    {
        RooflineTraffic traffic = RooflineTraffic.Of(point);
        return RooflineEstimate.Create(point.Flops, traffic, bandwidth.FigureFor(traffic.FootprintBytes), peakGflops);
    }

    /// <summary>The read bandwidth at the footprint of every point measured, with every thread.</summary>
    private static BandwidthMeasurement MeasureBandwidth(SweepOptions options, IEnumerable<SweepPoint> points) =>
        BandwidthMeasurement.Measure(
            points.Select(p => RooflineTraffic.Of(p).FootprintBytes), options.BandwidthThreads, options.BandwidthRepetitions);

    /// <summary>
    /// Each wanted backend; with --cpu-routes, auto and cpu both mean the CPU backend, once per requested
    /// route (the routes belong to it alone), and cuda stays itself.
    /// </summary>
    private static IEnumerable<(BackendPreference, CpuRouteChoice?)> Expand(BackendPreference[] wanted, IReadOnlyList<CpuRouteChoice>? routes)
    {
        foreach (BackendPreference preference in wanted)
        {
            if (routes is null || preference == BackendPreference.Cuda)
            {
                yield return (preference, null);
                continue;
            }

            foreach (CpuRouteChoice route in routes)
            {
                yield return (preference, route);
            }
        }
    }

    private static List<OpenedBackend> OpenBackends(SweepOptions options, List<string> notes)
    {
        BackendPreference[] wanted = options.Backend switch
        {
            BackendChoice.Cpu => [BackendPreference.Cpu],
            BackendChoice.Cuda => [BackendPreference.Cuda],
            BackendChoice.All => [BackendPreference.Cpu, BackendPreference.Cuda],
            _ => [BackendPreference.Auto],
        };
        var opened = new List<OpenedBackend>();
        try
        {
            foreach ((BackendPreference preference, CpuRouteChoice? routes) in Expand(wanted, options.CpuRouting))
            {
                if (Open(options, preference, routes, notes) is OpenedBackend backend)
                {
                    opened.Add(backend);
                }
            }
        }
        catch
        {
            foreach (OpenedBackend backend in opened)
            {
                backend.Backend.Dispose();
            }

            throw;
        }

        if (opened.Count == 0)
        {
            throw new InvalidOperationException("No backend could be opened: " + string.Join("; ", notes));
        }

        foreach (OpenedBackend device in opened.Where(b => b.OwnMemory))
        {
            notes.Add($"backend {device.Info.Name}: its floor is its own raw sgemm on its own buffers (the floor's calls, no layer), its peak its square sgemm, and its read bandwidth one sgemv reading each footprint (launch included), not the host's");
        }

        return opened;
    }

    /// <summary>One backend, named and with its precisions; null when it is skipped (with a note).</summary>
    private static OpenedBackend? Open(SweepOptions options, BackendPreference preference, CpuRouteChoice? routes, List<string> notes)
    {
        BlasBackend backend;
        try
        {
            backend = routes is CpuRouteChoice pinned ? pinned.Create() : BlasBackend.Create(preference);
        }
        catch (BackendUnavailableException e) when (options.Backend == BackendChoice.All || options.CpuRouting is { Count: > 1 })
        {
            notes.Add($"backend {preference}{(routes is null ? "" : $" ({routes})")}: skipped, not available here: {e.Message}");
            return null;
        }

        try
        {
            int? threads = null;
            if (backend is CpuBackend openBlas)
            {
                if (options.Threads is int count)
                {
                    openBlas.SetThreadCount(count);
                }

                threads = openBlas.ThreadCount;
            }

            string name = backend.Kind switch
            {
                BackendKind.Cpu when routes is CpuRouteChoice pinnedRoutes => pinnedRoutes.BackendName,
                BackendKind.Cpu => "cpu",
                BackendKind.Cuda => "cuda",
                _ => backend.Kind.ToString(),
            };
            List<WeightPrecision> precisions = PrecisionsHeld(backend, name, options.Precisions, notes);
            return new OpenedBackend(new BackendInfo(name, backend.Describe(), threads), backend, precisions);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The asked-for precisions this backend prepares weights in. Float32 always; any other is tried on a
    /// one-element layer, and one the backend refuses (CUDA and bfloat16) gets a note with the backend's
    /// own reason instead of rows.
    /// </summary>
    private static List<WeightPrecision> PrecisionsHeld(BlasBackend backend, string name, IReadOnlyList<WeightPrecision> wanted, List<string> notes)
    {
        var held = new List<WeightPrecision>();
        foreach (WeightPrecision precision in wanted)
        {
            if (precision != WeightPrecision.Float32)
            {
                using var probe = new Linear(1, 1, bias: false, backend);
                try
                {
                    probe.PrepareForInference(precision);
                }
                catch (NotSupportedException e)
                {
                    notes.Add($"backend {name}: no {PrecisionNames.Of(precision)} rows, the backend refuses {PrecisionNames.Of(precision)} weights: {e.Message}");
                    continue;
                }
            }

            held.Add(precision);
        }

        return held;
    }

    /// <summary>A backend the sweep opened, and the weight precisions it is measured in.</summary>
    private sealed record OpenedBackend(BackendInfo Info, BlasBackend Backend, IReadOnlyList<WeightPrecision> Precisions)
    {
        /// <summary>Whether the backend computes in memory of its own (CUDA), so the host's floor and ceilings do not apply.</summary>
        public bool OwnMemory => Backend.Kind != BackendKind.Cpu;
    }
}
