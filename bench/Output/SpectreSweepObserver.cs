using BlasLinear.Bench.Sweep;
using Spectre.Console;

namespace BlasLinear.Bench.Output;

/// <summary>A Spectre.Console progress bar naming the point being prepared, then the round being measured.</summary>
internal sealed class SpectreSweepObserver(ProgressTask task) : ISweepObserver
{
    public void PointStarted(string backend, SweepPoint point, int index, int total)
    {
        task.MaxValue = total;
        task.Description = Markup.Escape($"{backend} {point}");
    }

    public void RoundStarted(int round, int rounds, int points) =>
        task.Description = $"round {round + 1} of {rounds} over {points} points";

    public void PointFinished(PointResult result, int index, int total) => task.Value = index + 1;
}
