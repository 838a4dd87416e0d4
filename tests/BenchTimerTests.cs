using BlasLinear.Bench.Sweep;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The sweep's interleaved timer on workloads with a made-up clock (nothing sleeps): every recorded
/// sample of the slower side lasts the minimum, also when the machine was slow while the timer calibrated.
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
    public void Every_recorded_sample_of_the_slower_side_lasts_the_minimum(double slowSeconds, int slowCalls, double fastSeconds)
    {
        const int pairs = 5;
        using var first = new MadeUpWorkload(slowSeconds, slowCalls, fastSeconds);
        using var second = new MadeUpWorkload(slowSeconds / 2, slowCalls, fastSeconds / 2);

        InterleavedSamples samples = new InterleavedTimer(pairs, Minimum).Measure(first, second);

        Assert.Equal(pairs, samples.FirstSeconds.Count);
        Assert.Equal(pairs, samples.SecondSeconds.Count);
        for (int i = 0; i < pairs; i++)
        {
            double slower = Math.Max(samples.FirstSeconds[i], samples.SecondSeconds[i]);
            Assert.True(slower >= Minimum, $"pair {i}: the slower side lasted {slower * 1000:F2} ms, under the {Minimum * 1000} ms minimum ({samples.Iterations} iterations)");
        }

        // The recorded pairs are the last runs of each side, all at the one count the timer reports.
        Assert.All(first.Runs.TakeLast(pairs), run => Assert.Equal(samples.Iterations, run.Iterations));
        Assert.All(second.Runs.TakeLast(pairs), run => Assert.Equal(samples.Iterations, run.Iterations));
    }

    [Fact]
    public void A_steady_machine_costs_one_check_pair()
    {
        using var first = new MadeUpWorkload(0, 0, 0.001);
        using var second = new MadeUpWorkload(0, 0, 0.0005);

        InterleavedSamples samples = new InterleavedTimer(3, Minimum).Measure(first, second);

        // Warm-up, calibration (1, 2, 4 iterations: 4 ms reaches an eighth of 25 ms), one check, three pairs.
        int n = samples.Iterations;
        Assert.InRange(n, 25, 26);
        Assert.Equal([1, 1, 2, 4, n, n, n, n], first.Runs.Select(r => r.Iterations));
    }
}
