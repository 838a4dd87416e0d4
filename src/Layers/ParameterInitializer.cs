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

    /// <summary>
    /// Draws into <paramref name="buffer"/> a chunk at a time, so that initialising a layer needs no host
    /// array as large as its weight; the draws, and so the values, are those of one pass over the whole.
    /// </summary>
    private static void Fill(BlasBuffer buffer, Random random, ParameterInit init, double bound)
    {
        // An even size, so that a Box–Muller pair never straddles two chunks.
        const int ChunkFloats = 1 << 16;
        var values = new float[Math.Min(buffer.Length, ChunkFloats)];
        for (long offset = 0; offset < buffer.Length; offset += values.Length)
        {
            Span<float> chunk = values.AsSpan(0, (int)Math.Min(values.Length, buffer.Length - offset));
            if (init == ParameterInit.KaimingUniform)
            {
                for (int i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = (float)((random.NextDouble() * 2 - 1) * bound);
                }
            }
            else
            {
                for (int i = 0; i < chunk.Length; i += 2)
                {
                    // Box–Muller: two independent N(0, 1) draws from two uniforms; 1 − u keeps the log finite.
                    double radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
                    double angle = 2 * Math.PI * random.NextDouble();
                    chunk[i] = (float)(radius * Math.Cos(angle));
                    if (i + 1 < chunk.Length)
                    {
                        chunk[i + 1] = (float)(radius * Math.Sin(angle));
                    }
                }
            }

            buffer.CopyFrom(chunk, offset);
        }
    }
}
