namespace BlasLinear.Bench.Sweep;

/// <summary>Follows a sweep as it runs, for a progress display.</summary>
internal interface ISweepObserver
{
    void PointStarted(string backend, SweepPoint point, int index, int total);

    void PointFinished(PointResult result, int index, int total);
}

/// <summary>One line per finished point, for consoles that cannot redraw (CI, redirected output) and for tests.</summary>
internal sealed class PlainSweepObserver(TextWriter writer) : ISweepObserver
{
    public void PointStarted(string backend, SweepPoint point, int index, int total)
    {
    }

    public void PointFinished(PointResult result, int index, int total) =>
        writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"[{index + 1}/{total}] {result.Backend} {result.Point}: {result.Managed.Median:0.0} GFLOP/s, floor {result.Floor.Median:0.0}, ratio {result.Ratio:0.00}"));
}
