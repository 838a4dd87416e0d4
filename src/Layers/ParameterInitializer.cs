using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>How a layer's weight and bias are drawn: PyTorch's <c>nn.Linear</c> init, or N(0, 1).</summary>
internal static class ParameterInitializer
{
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="init"/> is not a defined value.</exception>
    public static void Check(ParameterInit init)
    {
        if (init is not (ParameterInit.KaimingUniform or ParameterInit.StandardNormal))
        {
            throw new ArgumentOutOfRangeException(nameof(init), init, "Not a ParameterInit.");
        }
    }

    /// <summary>Draws the weight, then the bias, from one generator: the order PyTorch uses.</summary>
    public static void Fill(BlasBuffer weight, BlasBuffer? bias, int inFeatures, ParameterInit init, int? seed)
    {
        var random = seed is int s ? new Random(s) : new Random();
        // U(−1/√in, 1/√in) is kaiming-uniform with a = √5: gain √(2/(1+5)), bound gain·√(3/in).
        double bound = 1.0 / Math.Sqrt(inFeatures);
        Fill(weight, random, init, bound);
        if (bias is not null)
        {
            Fill(bias, random, init, bound);
        }
    }

    private static void Fill(BlasBuffer buffer, Random random, ParameterInit init, double bound)
    {
        var values = new float[buffer.Length];
        if (init == ParameterInit.KaimingUniform)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
            }
        }
        else
        {
            for (int i = 0; i < values.Length; i += 2)
            {
                // Box–Muller: two independent N(0, 1) draws from two uniforms; 1 − u keeps the log finite.
                double radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
                double angle = 2 * Math.PI * random.NextDouble();
                values[i] = (float)(radius * Math.Cos(angle));
                if (i + 1 < values.Length)
                {
                    values[i + 1] = (float)(radius * Math.Sin(angle));
                }
            }
        }

        buffer.CopyFrom(values);
    }
}
