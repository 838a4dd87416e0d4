namespace BlasLinear.Bench.Sweep;

/// <summary>Follows a sweep as it runs, for a progress display.</summary>
internal interface ISweepObserver
{
    /// <summary>A point's workloads are being made and calibrated; its pairs come in the rounds that follow.</summary>
    void PointStarted(string backend, SweepPoint point, int index, int total);

    /// <summary>Round <paramref name="round"/> (from 0) of <paramref name="rounds"/> over a group of <paramref name="points"/> points begins.</summary>
    void RoundStarted(int round, int rounds, int points);

    void PointFinished(PointResult result, int index, int total);
}

/// <summary>One line per finished point, for consoles that cannot redraw (CI, redirected output) and for tests.</summary>
internal sealed class PlainSweepObserver(TextWriter writer) : ISweepObserver
{
    public void PointStarted(string backend, SweepPoint point, int index, int total)
    {
    }

    public void RoundStarted(int round, int rounds, int points)
    {
    }

    public void PointFinished(PointResult result, int index, int total) =>
        writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"[{index + 1}/{total}] {result.Backend} {result.Point}: {result.Managed.Median:0.0} GFLOP/s, floor {result.Floor.Median:0.0}, ratio {result.Ratio:0.00}"));
}
