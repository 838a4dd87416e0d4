using BlasLinear.Backends;
using Xunit;

namespace BlasLinear.Tests.BFloat16;

/// <summary>
/// float32 → bfloat16 rounding (<see cref="BFloat16Bits"/>): to nearest, ties to even, on every class of value,
/// checked against a reference that picks the nearer of the two neighbours in float64.
/// </summary>
public class BFloat16RoundingTests
{
    /// <summary>Named cases: input bits → bfloat16 bits.</summary>
    public static TheoryData<uint, ushort, string> Cases => new()
    {
        { 0x3F80_0000, 0x3F80, "1 is exact" },
        { 0x3F80_8000, 0x3F80, "a tie below an even neighbour stays (ties to even)" },
        { 0x3F81_8000, 0x3F82, "a tie below an odd neighbour goes up to the even one" },
        { 0x3F80_8001, 0x3F81, "just past the tie goes up" },
        { 0x3F80_7FFF, 0x3F80, "just below the tie goes down" },
        { 0xBF81_8000, 0xBF82, "negative ties go to even as well" },
        { 0x0000_0000, 0x0000, "+0" },
        { 0x8000_0000, 0x8000, "−0 keeps its sign" },
        { 0x0000_0001, 0x0000, "the smallest subnormal rounds to +0" },
        { 0x8000_0001, 0x8000, "the smallest negative subnormal rounds to −0" },
        { 0x0000_8000, 0x0000, "a subnormal tie rounds to the even +0" },
        { 0x0001_8000, 0x0002, "a subnormal tie above an odd neighbour rounds up" },
        { 0x0001_7FFF, 0x0001, "a subnormal below the tie rounds down, not flushed" },
        { 0x007F_FFFF, 0x0080, "the largest subnormal rounds up to the smallest normal" },
        { 0x7F80_0000, 0x7F80, "+∞" },
        { 0xFF80_0000, 0xFF80, "−∞" },
        { 0x7F7F_FFFF, 0x7F80, "float32's largest finite value rounds to +∞" },
        { 0xFF7F_FFFF, 0xFF80, "and its negative to −∞" },
        { 0x7F7F_7FFF, 0x7F7F, "below half a unit past bfloat16's largest finite value stays finite" },
        { 0x7F7F_8000, 0x7F80, "half a unit past it (a tie above an odd neighbour) is +∞" },
        { 0x7FC0_0000, 0x7FC0, "a quiet NaN stays" },
        { 0x7F80_0001, 0x7FC0, "a NaN whose payload is in the dropped bits stays a NaN (quiet), not ∞" },
        { 0xFF80_0001, 0xFFC0, "the same with the sign set" },
        { 0x7FBF_FFFF, 0x7FFF, "a NaN is never rounded up into the next exponent" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rounds_each_class_of_value(uint input, ushort expected, string why)
    {
        float value = BitConverter.UInt32BitsToSingle(input);
        Assert.True(BFloat16Bits.Round(value) == expected, $"{why}: 0x{input:X8} gave 0x{BFloat16Bits.Round(value):X4}, expected 0x{expected:X4}");
        // The vector path: the same value in every lane of a span long enough for it, and in the scalar tail.
        var source = new float[37];
        Array.Fill(source, value);
        var bits = new ushort[source.Length];
        BFloat16Bits.Round(source, bits);
        Assert.All(bits, b => Assert.True(b == expected, $"{why} (span): 0x{b:X4}, expected 0x{expected:X4}"));
        Assert.True(Float32Conversions.SingleToBFloat16(value) == expected, $"{why}: the safetensors conversion disagrees");
    }

    /// <summary>Random bit patterns of every exponent, and the ties and their neighbours, against the float64 reference.</summary>
    [Fact]
    public void Random_bit_patterns_round_to_the_nearest_bfloat16_ties_to_even()
    {
        var random = new Random(2026);
        var source = new float[1 << 16];
        for (int i = 0; i < source.Length; i++)
        {
            uint bits = (uint)random.NextInt64(0, 1L << 32);
            // A quarter of them exact ties or one unit either side of a tie.
            if (i % 4 == 0)
            {
                bits = (bits & 0xFFFF_0000) | (uint)(0x8000 + (i / 4 % 3) - 1);
            }

            source[i] = BitConverter.UInt32BitsToSingle(bits);
        }

        var rounded = new ushort[source.Length];
        BFloat16Bits.Round(source, rounded);
        for (int i = 0; i < source.Length; i++)
        {
            ushort expected = Reference(source[i]);
            Assert.True(rounded[i] == expected,
                $"0x{BitConverter.SingleToUInt32Bits(source[i]):X8}: got 0x{rounded[i]:X4}, expected 0x{expected:X4}");
        }

        var widened = new float[rounded.Length];
        BFloat16Bits.Widen(rounded, widened);
        for (int i = 0; i < rounded.Length; i++)
        {
            Assert.Equal((uint)rounded[i] << 16, BitConverter.SingleToUInt32Bits(widened[i]));
        }
    }

    /// <summary>The nearer of the two bfloat16 neighbours of a float32 in float64, the even one on a tie; ∞ past the largest.</summary>
    private static ushort Reference(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        ushort below = (ushort)(bits >> 16);
        if ((bits & 0xFFFF) == 0)
        {
            return below;
        }

        ushort above = (ushort)(below + 1);
        double x = value;
        double low = Widen(below);
        // Past the largest finite bfloat16 the upper neighbour is ∞: compare with where the next value would be.
        double high = (above & 0x7FFF) == 0x7F80 ? Math.CopySign(Math.Pow(2, 128), x) : Widen(above);
        double toLow = Math.Abs(x - low), toHigh = Math.Abs(high - x);
        return toLow < toHigh ? below : toHigh < toLow ? above : (below & 1) == 0 ? below : above;
    }

    private static double Widen(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
