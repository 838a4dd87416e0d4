using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>The weight precisions the sweep measures, by the names --precision and results.csv use.</summary>
internal static class PrecisionNames
{
    /// <summary>The values --precision accepts, as its usage and errors list them.</summary>
    public const string Accepted = "float32, bfloat16";

    /// <summary><c>float32</c> or <c>bfloat16</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="precision"/> is not a defined value.</exception>
    public static string Of(WeightPrecision precision) => precision switch
    {
        WeightPrecision.Float32 => "float32",
        WeightPrecision.BFloat16 => "bfloat16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Not a WeightPrecision."),
    };

    /// <summary>The precision a name stands for, in any case; null for anything else.</summary>
    public static WeightPrecision? Parse(string text) => text.ToUpperInvariant() switch
    {
        "FLOAT32" => WeightPrecision.Float32,
        "BFLOAT16" => WeightPrecision.BFloat16,
        _ => null,
    };
}
