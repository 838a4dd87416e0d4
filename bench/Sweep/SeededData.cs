namespace BlasLinear.Bench.Sweep;

/// <summary>
/// The floor's generator (splitmix64 and its uniform(−1, 1) mapping in blaslinear_floor.c), so that
/// the managed side and the floor multiply exactly the same numbers for the same seed.
/// </summary>
internal sealed class SeededData(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next <paramref name="count"/> values, in the order the floor fills its buffers.</summary>
    public float[] Next(long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            ulong j = NextUInt64() >> 40;
            values[i] = (float)(((2 * j) + 1) / 16777216.0 - 1.0);
        }

        return values;
    }

    private ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15ul;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ul;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBul;
        return z ^ (z >> 31);
    }
}
