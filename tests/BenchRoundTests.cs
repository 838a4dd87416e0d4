using BlasLinear.Bench.Sweep;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The sweep's rounds: points grouped by their buffers, every point of a group made and calibrated before the
/// first recorded pair, then one pair of each point per round, so that a point's pairs are spread over the
/// group's time; and pairs recorded one at a time are the same measurement as pairs recorded back to back.
/// </summary>
public sealed class BenchRoundTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "blaslinear-bench-rounds-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static SweepPoint Point(int batch) => new(new FeatureShape(16, 8), batch, LayerForm.Linear, Pass.Forward);

    [Fact]
    public void Groups_keep_the_plans_order_and_stay_under_the_budget_unless_a_point_is_over_it_alone()
    {
        // Batches 1, 2, 40, 3, 4: the 40 is far larger than the others.
        SweepPoint[] points = [Point(1), Point(2), Point(40), Point(3), Point(4)];
        long small = points[3].EstimatedBytes + points[4].EstimatedBytes;
        Assert.True(points[2].EstimatedBytes > small, "the batch-40 point is not over the budget alone");

        List<IReadOnlyList<SweepPoint>> groups = SweepRunner.RoundGroups(points, small);

        Assert.Equal(points, groups.SelectMany(g => g));
        Assert.Equal([2, 1, 2], groups.Select(g => g.Count));
        Assert.All(groups.Where(g => g.Count > 1), g => Assert.True(g.Sum(p => p.EstimatedBytes) <= small));

        // No room for two: one point a group; room for all: one group.
        Assert.All(SweepRunner.RoundGroups(points, 0), g => Assert.Single(g));
        Assert.Single(SweepRunner.RoundGroups(points, long.MaxValue));
        Assert.Empty(SweepRunner.RoundGroups([], long.MaxValue));
    }

    [Theory]
    [InlineData(long.MaxValue, 1)]
    [InlineData(0L, 6)]
    public void Every_point_of_a_group_is_prepared_before_its_rounds_and_finished_after_them(long groupBytes, int groups)
    {
        const int pairs = 3;
        SweepOptions options = TinySweep.Options(_folder) with { Pairs = pairs, RoundGroupBytes = groupBytes };
        var observer = new RecordingObserver();

        SweepResult result;
        using (SweepRunner runner = SweepRunner.Prepare(options))
        {
            result = runner.Run(observer);
        }

        // Two layer forms × three passes; each group: its points started, its rounds, its points finished.
        Assert.Equal(6, result.Points.Count);
        Assert.All(result.Points, p => Assert.Equal(pairs, p.Pairs));
        int size = 6 / groups;
        var expected = new List<string>();
        for (int g = 0; g < groups; g++)
        {
            expected.AddRange(Enumerable.Range(g * size, size).Select(i => $"start {i}"));
            expected.AddRange(Enumerable.Range(0, pairs).Select(r => $"round {r}/{pairs} of {size}"));
            expected.AddRange(Enumerable.Range(g * size, size).Select(i => $"finish {i}"));
        }

        Assert.Equal(expected, observer.Events);
    }

    [Fact]
    public void Pairs_recorded_one_at_a_time_between_other_points_are_those_recorded_back_to_back()
    {
        const int pairs = 4;
        var timer = new InterleavedTimer(pairs, 0.025);
        using var a1 = new CountingWorkload(0.001);
        using var b1 = new CountingWorkload(0.0005);
        InterleavedSamples together = timer.Measure(a1, b1);

        using var a2 = new CountingWorkload(0.001);
        using var b2 = new CountingWorkload(0.0005);
        using var other1 = new CountingWorkload(0.003);
        using var other2 = new CountingWorkload(0.002);
        InterleavedPair pair = timer.Start(a2, b2);
        InterleavedPair other = timer.Start(other1, other2);
        for (int i = 0; i < pairs; i++)
        {
            pair.Record();
            other.Record();
        }

        InterleavedSamples spread = pair.Samples();
        Assert.Equal(pairs, pair.Count);
        Assert.Equal(pairs, other.Count);
        Assert.Equal(together.FirstIterations, spread.FirstIterations);
        Assert.Equal(together.SecondIterations, spread.SecondIterations);
        Assert.Equal(together.FirstSeconds, spread.FirstSeconds);
        Assert.Equal(together.SecondSeconds, spread.SecondSeconds);
        Assert.Equal(a1.Runs, a2.Runs);
        Assert.Equal(b1.Runs, b2.Runs);
    }

    /// <summary>Every call costs the same made-up time; the iteration count of every run is kept.</summary>
    private sealed class CountingWorkload(double secondsPerCall) : ITimedWorkload
    {
        public List<int> Runs { get; } = [];

        public double Time(int iterations)
        {
            Runs.Add(iterations);
            return iterations * secondsPerCall;
        }

        public void Dispose()
        {
        }
    }

    private sealed class RecordingObserver : ISweepObserver
    {
        public List<string> Events { get; } = [];

        public void PointStarted(string backend, SweepPoint point, int index, int total) => Events.Add($"start {index}");

        public void RoundStarted(int round, int rounds, int points) => Events.Add($"round {round}/{rounds} of {points}");

        public void PointFinished(PointResult result, int index, int total) => Events.Add($"finish {index}");
    }
}
