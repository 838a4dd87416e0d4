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

    public InterleavedSamples Measure(ITimedWorkload first, ITimedWorkload second)
    {
        // The first call of each side pays for page faults, OpenBLAS's thread start-up and JIT; it is
        // thrown away.
        first.Time(1);
        second.Time(1);
        int iterations = Calibrate(first, second);
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
                double perIteration = Math.Max(slower / n, 1e-9);
                return (int)Math.Clamp(Math.Ceiling(minSampleSeconds / perIteration), 1, int.MaxValue / 2);
            }

            n *= 2;
        }
    }
}
