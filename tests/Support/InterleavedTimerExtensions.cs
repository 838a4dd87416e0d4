using BlasLinear.Bench.Sweep;

namespace BlasLinear.Tests.Support;

/// <summary>The timer on one point alone, as the sweep runs a group of one point: started, then all its pairs back to back.</summary>
internal static class InterleavedTimerExtensions
{
    public static InterleavedSamples Measure(this InterleavedTimer timer, ITimedWorkload first, ITimedWorkload second)
    {
        InterleavedPair pair = timer.Start(first, second);
        for (int i = 0; i < timer.Pairs; i++)
        {
            pair.Record();
        }

        return pair.Samples();
    }
}
