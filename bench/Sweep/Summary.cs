namespace BlasLinear.Bench.Sweep;

/// <summary>Median, min and max of a set of GFLOP/s samples.</summary>
internal readonly record struct Summary(double Median, double Min, double Max)
{
    public static Summary Of(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0)
        {
            throw new ArgumentException("No samples to summarise.", nameof(samples));
        }

        double[] sorted = [.. samples.Order()];
        int middle = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Summary(median, sorted[0], sorted[^1]);
    }
}
