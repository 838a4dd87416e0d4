using Xunit.Sdk;

namespace BlasLinear.Tests.Support;

/// <summary>
/// The one tolerance of the suite (TESTING.md). Per element, a float32 result ĉ must satisfy
/// <code>|ĉ − c₆₄| ≤ (k + 2)·ε·G + 1e-30,   ε = 2⁻²³,   G = |α|·Σₚ|aₚ||bₚ| + |β|·|c₀|</code>
/// the forward-error bound of a length-k dot product (Higham, eq. 3.13) with room for the α and β
/// updates. A transposed operand or a wrong leading dimension gives errors of order one, far above it.
/// </summary>
internal static class Tolerance
{
    public const double Epsilon = 1.0 / (1 << 23);

    public static double Bound(int k, double g) => (k + 2) * Epsilon * g + 1e-30;

    /// <summary>
    /// Checks every element of the m×n result (stored with leading dimension ld) against the reference
    /// (stored densely). NaN in a result passes only where the reference is NaN.
    /// </summary>
    public static void AssertWithin(
        string what, int k, ReadOnlySpan<float> actual, int m, int n, int ld, double[] expected, double[] g)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double reference = expected[i * n + j];
                double result = actual[i * ld + j];
                double error = Math.Abs(result - reference);
                double bound = Bound(k, g[i * n + j]);
                bool ok = double.IsNaN(reference) ? double.IsNaN(result) : error <= bound;
                if (!ok)
                {
                    throw new XunitException(
                        $"{what}: element ({i}, {j}) = {result:R}, reference {reference:R}, |error| {error:E3} > bound {bound:E3} (k={k}).");
                }
            }
        }
    }

    /// <summary>Dense m×n result.</summary>
    public static void AssertWithin(string what, int k, ReadOnlySpan<float> actual, int m, int n, (double[] Value, double[] G) reference) =>
        AssertWithin(what, k, actual, m, n, n, reference.Value, reference.G);
}
