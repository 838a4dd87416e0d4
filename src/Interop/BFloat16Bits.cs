using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BlasLinear.Backends;

/// <summary>
/// float32 ↔ bfloat16 (the upper 16 bits of a float32, held in a <see cref="ushort"/>). Narrowing rounds to
/// nearest, ties to even, on the bits: subnormals round like any other value (never flushed), values past
/// the largest bfloat16 by half a unit or more become ±∞, ±∞ and ±0 keep their sign, and a NaN stays a NaN
/// (its quiet bit set, so that a payload in the discarded bits cannot turn it into ∞). Widening is exact.
/// </summary>
internal static class BFloat16Bits
{
    /// <summary>One float32 rounded to bfloat16.</summary>
    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        // Adding 0x7FFF rounds halves down; the kept bit's value makes ties go to the even neighbour.
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The exact float32 value of a bfloat16.</summary>
    public static float Widen(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>destination[i] = Round(source[i]); the spans have the same length.</summary>
    public static void Round(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<uint> magnitude = Vector256.Create(0x7FFF_FFFFu), infinity = Vector256.Create(0x7F80_0000u);
            Vector256<uint> half = Vector256.Create(0x7FFFu), one = Vector256.Create(1u), quiet = Vector256.Create(0x0040u);
            for (; i + 16 <= bits.Length; i += 16)
            {
                Vector256<uint> low = RoundVector(Vector256.Create(bits.Slice(i, 8)), magnitude, infinity, half, one, quiet);
                Vector256<uint> high = RoundVector(Vector256.Create(bits.Slice(i + 8, 8)), magnitude, infinity, half, one, quiet);
                Vector256.Narrow(low, high).CopyTo(destination.Slice(i, 16));
            }
        }

        for (; i < bits.Length; i++)
        {
            destination[i] = Round(source[i]);
        }
    }

    /// <summary>destination[i] = Widen(source[i]); the spans have the same length.</summary>
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= source.Length; i += 16)
            {
                (Vector256<uint> low, Vector256<uint> high) = Vector256.Widen(Vector256.Create(source.Slice(i, 16)));
                Vector256.ShiftLeft(low, 16).CopyTo(bits.Slice(i, 8));
                Vector256.ShiftLeft(high, 16).CopyTo(bits.Slice(i + 8, 8));
            }
        }

        for (; i < source.Length; i++)
        {
            bits[i] = (uint)source[i] << 16;
        }
    }

    private static Vector256<uint> RoundVector(
        Vector256<uint> bits, Vector256<uint> magnitude, Vector256<uint> infinity, Vector256<uint> half, Vector256<uint> one, Vector256<uint> quiet)
    {
        Vector256<uint> rounded = Vector256.ShiftRightLogical(bits + half + (Vector256.ShiftRightLogical(bits, 16) & one), 16);
        Vector256<uint> nan = Vector256.ShiftRightLogical(bits, 16) | quiet;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(bits & magnitude, infinity), nan, rounded);
    }
}
