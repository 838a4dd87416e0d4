using BlasLinear.Bench.Sweep;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The sweep's interleaved timer on workloads with a made-up clock (nothing sleeps): every recorded
/// sample of each side lasts the minimum, also when the machine was slow while the timer calibrated, and
/// each recorded sample follows an untimed warm-up of its own side.
/// </summary>
public sealed class BenchTimerTests
{
    private const double Minimum = 0.025;

    /// <summary>Calls cost <paramref name="slowSeconds"/> each for the first <paramref name="slowCalls"/>, then <paramref name="fastSeconds"/>.</summary>
    private sealed class MadeUpWorkload(double slowSeconds, int slowCalls, double fastSeconds) : ITimedWorkload
    {
        public int Calls { get; private set; }

        public List<(int Iterations, double Seconds)> Runs { get; } = [];

        public double Time(int iterations)
        {
            double seconds = 0;
            for (int i = 0; i < iterations; i++)
            {
                seconds += Calls++ < slowCalls ? slowSeconds : fastSeconds;
            }

            Runs.Add((iterations, seconds));
            return seconds;
        }

        public void Dispose()
        {
        }
    }

    [Theory]
    // A steady machine: calibration is right the first time.
    [InlineData(0.001, 0, 0.001)]
    // Calls ten times dearer while calibrating (its runs are short), then fast: the calibrated count
    // alone gives samples of a tenth of the minimum.
    [InlineData(0.001, 8, 0.0001)]
    // A slow stretch that reaches into the first check, which then rescales from a mixed run.
    [InlineData(0.001, 12, 0.0001)]
    public void Every_recorded_sample_of_each_side_lasts_the_minimum(double slowSeconds, int slowCalls, double fastSeconds)
    {
        const int pairs = 5;
        using var first = new MadeUpWorkload(slowSeconds, slowCalls, fastSeconds);
        using var second = new MadeUpWorkload(slowSeconds / 2, slowCalls, fastSeconds / 2);

        InterleavedSamples samples = new InterleavedTimer(pairs, Minimum).Measure(first, second);

        Assert.Equal(pairs, samples.FirstSeconds.Count);
        Assert.Equal(pairs, samples.SecondSeconds.Count);
        for (int i = 0; i < pairs; i++)
        {
            Assert.True(samples.FirstSeconds[i] >= Minimum, $"pair {i}: the first side lasted {samples.FirstSeconds[i] * 1000:F2} ms, under the {Minimum * 1000} ms minimum ({samples.FirstIterations} iterations)");
            Assert.True(samples.SecondSeconds[i] >= Minimum, $"pair {i}: the second side lasted {samples.SecondSeconds[i] * 1000:F2} ms, under the {Minimum * 1000} ms minimum ({samples.SecondIterations} iterations)");
        }

        // The recorded samples are the last runs of each side, each after its untimed warm-up, each at the
        // count the timer reports for its side.
        foreach ((MadeUpWorkload side, int iterations, IReadOnlyList<double> seconds) in new[]
                 {
                     (first, samples.FirstIterations, samples.FirstSeconds),
                     (second, samples.SecondIterations, samples.SecondSeconds),
                 })
        {
            var recorded = side.Runs.TakeLast(2 * pairs).Where((_, i) => i % 2 == 1).ToList();
            Assert.All(recorded, run => Assert.Equal(iterations, run.Iterations));
            Assert.Equal(seconds, recorded.Select(r => r.Seconds));
        }
    }

    /// <summary>
    /// The runs of each side on a steady machine (first side 1 ms a call). The discarded call; calibration of
    /// each side alone, until a run lasts an eighth of 25 ms (1, 2, 4 calls of 1 ms; 1, 2, 4, 8 of 0.5 ms; one
    /// call of 30 ms); one check pair; then the recorded pairs, each sample after a warm-up of a quarter of the
    /// minimum (6.25 ms: 7 calls of 1 ms, 13 of 0.5 ms), and none for a side whose one call lasts the minimum.
    /// </summary>
    [Theory]
    [InlineData(0.0005, 3, 50, new[] { 1, 1, 2, 4, 25, 7, 25, 7, 25, 7, 25 }, new[] { 1, 1, 2, 4, 8, 50, 13, 50, 13, 50, 13, 50 })]
    [InlineData(0.030, 2, 1, new[] { 1, 1, 2, 4, 25, 7, 25, 7, 25 }, new[] { 1, 1, 1, 1, 1 })]
    public void A_steady_machine_costs_one_check_pair_and_warms_up_only_short_calls(
        double secondSeconds, int pairs, int secondIterations, int[] firstRuns, int[] secondRuns)
    {
        using var first = new MadeUpWorkload(0, 0, 0.001);
        using var second = new MadeUpWorkload(0, 0, secondSeconds);

        InterleavedSamples samples = new InterleavedTimer(pairs, Minimum).Measure(first, second);

        Assert.Equal(25, samples.FirstIterations);
        Assert.Equal(secondIterations, samples.SecondIterations);
        Assert.Equal(firstRuns, first.Runs.Select(r => r.Iterations));
        Assert.Equal(secondRuns, second.Runs.Select(r => r.Iterations));
    }

    /// <summary>
    /// Each side's calls come back to speed over several calls after the other side's sample (evicted
    /// caches, sleeping threads): the warm-up takes that refill out of the recorded samples.
    /// </summary>
    [Fact]
    public void A_side_that_is_slow_after_the_other_sides_sample_is_recorded_at_its_steady_speed()
    {
        using var first = new RefillingWorkload(slowCalls: 4, slowSeconds: 0.002, fastSeconds: 0.0002);
        using var second = new RefillingWorkload(slowCalls: 0, slowSeconds: 0, fastSeconds: 0.002);
        RefillingWorkload.Pair(first, second);

        InterleavedSamples samples = new InterleavedTimer(5, Minimum).Measure(first, second);

        Assert.All(samples.FirstSeconds, s => Assert.Equal(samples.FirstIterations * 0.0002, s, 12));
    }

    /// <summary>Its first <paramref name="slowCalls"/> calls after the other workload ran cost <paramref name="slowSeconds"/>.</summary>
    private sealed class RefillingWorkload(int slowCalls, double slowSeconds, double fastSeconds) : ITimedWorkload
    {
        private RefillingWorkload? _other;
        private int _sinceOther;

        public static void Pair(RefillingWorkload a, RefillingWorkload b) => (a._other, b._other) = (b, a);

        public double Time(int iterations)
        {
            if (_other is not null)
            {
                _other._sinceOther = 0;
            }

            double seconds = 0;
            for (int i = 0; i < iterations; i++)
            {
                seconds += _sinceOther++ < slowCalls ? slowSeconds : fastSeconds;
            }

            return seconds;
        }

        public void Dispose()
        {
        }
    }
}
