namespace BlasLinear.Reference;

/// <summary>Seeded test data, so that every failure reproduces.</summary>
public static class TestData
{
    public static float[] Uniform(int length, int seed, float low = -1, float high = 1)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = low + (float)random.NextDouble() * (high - low);
        }

        return values;
    }

    /// <summary>Small integers in [−range, range]: products and sums of them are exact in float32.</summary>
    public static float[] Integers(int length, int seed, int range = 4)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = random.Next(-range, range + 1);
        }

        return values;
    }

    /// <summary>
    /// A rows × cols matrix stored with leading dimension ld ≥ cols: the values from <paramref name="dense"/>
    /// in the first cols of each row and <paramref name="sentinel"/> in the padding.
    /// </summary>
    public static float[] Padded(ReadOnlySpan<float> dense, int rows, int cols, int ld, float sentinel)
    {
        var stored = new float[rows == 0 ? 0 : (rows - 1) * ld + cols];
        Array.Fill(stored, sentinel);
        for (int r = 0; r < rows; r++)
        {
            dense.Slice(r * cols, cols).CopyTo(stored.AsSpan(r * ld, cols));
        }

        return stored;
    }

    /// <summary>A seed that depends only on the parts (FNV-1a), stable across processes.</summary>
    public static int Seed(params int[] parts)
    {
        uint hash = 2166136261;
        foreach (int part in parts)
        {
            hash = (hash ^ (uint)part) * 16777619;
        }

        return (int)(hash & 0x7FFFFFFF);
    }

    /// <summary>The sizes of TESTING.md's sweep: edges, primes and kernel-block boundaries.</summary>
    public static readonly int[] SweepSizes = [1, 2, 3, 7, 17, 31, 63, 65, 127, 129, 257];
}
