namespace BlasLinear.Bench.Sweep;

/// <summary>Something that can run a fixed number of back-to-back iterations and say how long they took.</summary>
internal interface ITimedWorkload : IDisposable
{
    /// <summary>Wall seconds for <paramref name="iterations"/> runs, all work finished.</summary>
    double Time(int iterations);
}
