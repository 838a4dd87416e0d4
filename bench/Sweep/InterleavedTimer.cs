namespace BlasLinear.Bench.Sweep;

/// <summary>Seconds per sample for each side of an interleaved measurement, and the iterations in each.</summary>
internal sealed record InterleavedSamples(int Iterations, IReadOnlyList<double> FirstSeconds, IReadOnlyList<double> SecondSeconds);

/// <summary>
/// Times two workloads in alternation (A B A B …), so that both see the same machine: clock changes,
/// other processes and thermal drift fall on both sides instead of biasing one.
/// </summary>
internal sealed class InterleavedTimer(int pairs, double minSampleSeconds)
{
    // Calibration stops doubling once a run lasts this share of the target, then scales up in one step.
    private const double CalibrationShare = 0.125;

    // Full-length checks of the calibrated count before the recorded pairs, at most; and the margin over the
    // minimum that a rescaled count aims for.
    private const int MaxChecks = 3;
    private const double RescaleMargin = 1.15;

    public InterleavedSamples Measure(ITimedWorkload first, ITimedWorkload second)
    {
        // The first call of each side pays for page faults, OpenBLAS's thread start-up and JIT; it is
        // thrown away.
        first.Time(1);
        second.Time(1);
        int iterations = Check(first, second, Calibrate(first, second));
        var a = new double[pairs];
        var b = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            a[i] = first.Time(iterations);
            b[i] = second.Time(iterations);
        }

        return new InterleavedSamples(iterations, a, b);
    }

    /// <summary>
    /// Runs one unrecorded pair at the calibrated count and, while the slower side lasts less than the minimum,
    /// rescales the count from that full-length run and tries again (<see cref="MaxChecks"/> times at most).
    /// Calibration times short runs, so a moment of the machine's noise during them (a preempted core, a
    /// worker waking from sleep) makes a call look several times dearer than it is: without this check such a
    /// point got samples of 3 ms where the minimum was 25 ms. (A machine that turns fast again only after a
    /// check has passed still gives shorter samples; nothing here can foresee that.)
    /// </summary>
    private int Check(ITimedWorkload first, ITimedWorkload second, int iterations)
    {
        for (int check = 0; check < MaxChecks; check++)
        {
            double slower = Math.Max(first.Time(iterations), second.Time(iterations));
            if (slower >= minSampleSeconds)
            {
                break;
            }

            iterations = Math.Max(iterations, IterationsFor(RescaleMargin * minSampleSeconds, slower, iterations));
        }

        return iterations;
    }

    /// <summary>
    /// The iteration count that makes the slower side's sample last at least the minimum. Both sides
    /// run the same count, so neither gets a longer, smoother sample than the other.
    /// </summary>
    private int Calibrate(ITimedWorkload first, ITimedWorkload second)
    {
        int n = 1;
        while (true)
        {
            double slower = Math.Max(first.Time(n), second.Time(n));
            if (slower >= minSampleSeconds * CalibrationShare || n >= 1 << 24)
            {
                return IterationsFor(minSampleSeconds, slower, n);
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
}
