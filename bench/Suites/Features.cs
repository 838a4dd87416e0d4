using System.Globalization;

namespace BlasLinear.Bench.Suites;

/// <summary>in_features → out_features, as a BenchmarkDotNet parameter (public, with a readable ToString).</summary>
public sealed record Features(int In, int Out)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{In}x{Out}");
}
