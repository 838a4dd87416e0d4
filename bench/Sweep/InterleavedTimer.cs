namespace BlasLinear.Bench.Sweep;

/// <summary>Seconds per sample for each side of an interleaved measurement, and each side's iterations per sample.</summary>
internal sealed record InterleavedSamples(int FirstIterations, int SecondIterations, IReadOnlyList<double> FirstSeconds, IReadOnlyList<double> SecondSeconds);

/// <summary>
/// Times two workloads in alternation (A B A B …), so that both see the same machine: clock changes,
/// other processes and thermal drift fall on both sides instead of biasing one. Each side runs its own
/// iteration count, enough for each of its samples to last the minimum, so that both sides' samples
/// span about the same stretch of the machine's time; and each recorded sample follows untimed calls of
/// its own side (<see cref="WarmUpShare"/> of the minimum; none where one call lasts the minimum), so that it
/// measures the side's steady state, not the refill of what the other side's sample evicted.
/// </summary>
internal sealed class InterleavedTimer(int pairs, double minSampleSeconds)
{
    // Calibration stops doubling once a run lasts this share of the target, then scales up in one step.
    private const double CalibrationShare = 0.125;

    // Full-length checks of the calibrated counts before the recorded pairs, at most; and the margin over the
    // minimum that a rescaled count aims for.
    private const int MaxChecks = 3;
    private const double RescaleMargin = 1.15;

    // Untimed calls of a side before each of its recorded samples, as a share of the minimum sample.
    // Each side's sample evicts the other's operands from the caches and leaves the other's threads
    // asleep, and a side comes back to speed over several calls, not one: a 768→3072 backward at batch 1
    // took 945, 613, 438, 392 … µs per call and about 280 from the tenth call on (3–4 ms), a 1024→1024
    // forward at batch 1 303, 61, 46 … 27 µs (under 1 ms).
    private const double WarmUpShare = 0.25;

    /// <summary>The number of pairs a sweep records of each point, one per round.</summary>
    public int Pairs => pairs;

    /// <summary>
    /// Makes two workloads ready to be timed in alternation: the discarded first call of each, the
    /// calibration of each side alone, and the check pair. The pairs themselves are recorded by
    /// <see cref="InterleavedPair.Record"/>, as many as the caller wants, whenever it wants: a sweep records
    /// one pair of each of many points in turn (<c>SweepRunner</c>'s rounds).
    /// </summary>
    public InterleavedPair Start(ITimedWorkload first, ITimedWorkload second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);

        // The first call of each side pays for page faults, OpenBLAS's thread start-up and JIT; it is
        // thrown away.
        first.Time(1);
        second.Time(1);
        var a = new Side(first, Calibrate(first));
        var b = new Side(second, Calibrate(second));
        Check(a, b);
        return new InterleavedPair(a, b, minSampleSeconds);
    }

    /// <summary>
    /// The untimed calls before a sample: those that last <see cref="WarmUpShare"/> of the minimum at a side's last measured rate, at
    /// least one; none where one call lasts the minimum on its own. Such a call takes a second or more at the
    /// sweep's largest points, where a warm-up call doubled the point's time (286 of a full sweep's 1,056 s),
    /// and the refill is a small part of it: a footprint that fits the caches refills from memory in about a
    /// millisecond, and one that does not is read from memory on every call anyway.
    /// </summary>
    public static int WarmUpIterations(double secondsPerCall, double minSampleSeconds) =>
        secondsPerCall >= minSampleSeconds ? 0 : IterationsFor(WarmUpShare * minSampleSeconds, secondsPerCall, 1);

    /// <summary>
    /// Runs one unrecorded pair at the calibrated counts and, while a side lasts less than the minimum,
    /// rescales its count from that full-length run and tries again (<see cref="MaxChecks"/> times at most).
    /// Calibration times short runs, so a moment of the machine's noise during them (a preempted core, a
    /// worker waking from sleep) makes a call look several times dearer than it is: without this check such a
    /// point got samples of 3 ms where the minimum was 25 ms. (A machine that turns fast again only after a
    /// check has passed still gives shorter samples; nothing here can foresee that.)
    /// </summary>
    private void Check(Side a, Side b)
    {
        for (int check = 0; check < MaxChecks; check++)
        {
            a.Run();
            b.Run();
            if (a.LastSeconds >= minSampleSeconds && b.LastSeconds >= minSampleSeconds)
            {
                return;
            }

            foreach (Side side in new[] { a, b })
            {
                if (side.LastSeconds < minSampleSeconds)
                {
                    side.Iterations = Math.Max(side.Iterations, IterationsFor(RescaleMargin * minSampleSeconds, side.LastSeconds, side.Iterations));
                }
            }
        }
    }

    /// <summary>The iteration count that makes a sample of this side alone last at least the minimum.</summary>
    private int Calibrate(ITimedWorkload workload)
    {
        int n = 1;
        while (true)
        {
            double took = workload.Time(n);
            if (took >= minSampleSeconds * CalibrationShare || n >= 1 << 24)
            {
                return IterationsFor(minSampleSeconds, took, n);
            }

            n *= 2;
        }
    }

    /// <summary>The iterations that last <paramref name="seconds"/> at the rate of a run of <paramref name="ran"/> that took <paramref name="took"/>.</summary>
    private static int IterationsFor(double seconds, double took, int ran)
    {
        double perIteration = Math.Max(took / ran, 1e-9);
        return (int)Math.Clamp(Math.Ceiling(seconds / perIteration), 1, int.MaxValue / 2);
    }

    /// <summary>One side: its workload, its iteration count and how long its last full-count run took.</summary>
    internal sealed class Side(ITimedWorkload workload, int iterations)
    {
        public int Iterations { get; set; } = iterations;

        public double LastSeconds { get; private set; }

        /// <summary>Seconds per call of the last full-count run (the count may have been rescaled since).</summary>
        public double LastSecondsPerCall { get; private set; }

        public void Run()
        {
            LastSeconds = workload.Time(Iterations);
            LastSecondsPerCall = LastSeconds / Iterations;
        }

        /// <summary>Runs <paramref name="warmUp"/> untimed calls (if any), then one recorded sample at the side's count.</summary>
        public double Sample(int warmUp)
        {
            if (warmUp > 0)
            {
                workload.Time(warmUp);
            }

            Run();
            return LastSeconds;
        }
    }
}

/// <summary>
/// Two calibrated workloads (<see cref="InterleavedTimer.Start"/>): each <see cref="Record"/> times one pair,
/// each sample after its side's untimed warm-up, so a pair recorded long after the last one (other points
/// ran in between) still measures each side's steady state.
/// </summary>
internal sealed class InterleavedPair
{
    private readonly InterleavedTimer.Side _first;
    private readonly InterleavedTimer.Side _second;
    private readonly double _minSampleSeconds;
    private readonly List<double> _firstSeconds = [];
    private readonly List<double> _secondSeconds = [];

    internal InterleavedPair(InterleavedTimer.Side first, InterleavedTimer.Side second, double minSampleSeconds)
    {
        _first = first;
        _second = second;
        _minSampleSeconds = minSampleSeconds;
    }

    /// <summary>Pairs recorded so far.</summary>
    public int Count => _firstSeconds.Count;

    /// <summary>Times one pair: the first side's sample, then the second's, each after its warm-up.</summary>
    public void Record()
    {
        _firstSeconds.Add(_first.Sample(InterleavedTimer.WarmUpIterations(_first.LastSecondsPerCall, _minSampleSeconds)));
        _secondSeconds.Add(_second.Sample(InterleavedTimer.WarmUpIterations(_second.LastSecondsPerCall, _minSampleSeconds)));
    }

    /// <summary>The pairs recorded so far, and each side's iteration count.</summary>
    public InterleavedSamples Samples() => new(_first.Iterations, _second.Iterations, [.. _firstSeconds], [.. _secondSeconds]);
}
