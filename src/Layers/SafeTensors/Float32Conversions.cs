using System.Buffers.Binary;

namespace BlasLinear;

/// <summary>
/// Element conversions between the stored types and float32. Widening (BF16, F16 → F32) is exact;
/// narrowing rounds to nearest, ties to even, and keeps NaN a NaN. Stored bytes are little-endian.
/// </summary>
internal static class Float32Conversions
{
    /// <summary>Converts <paramref name="source"/>, stored as <paramref name="dtype"/>, into <paramref name="destination"/>.</summary>
    public static void ToFloat32(SafeTensorDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case SafeTensorDType.F32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
                }

                break;
            case SafeTensorDType.BF16:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]));
                }

                break;
            case SafeTensorDType.F16:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]);
                }

                break;
            case SafeTensorDType.F64:
                for (int i = 0; i < destination.Length; i++)
                {
                    // The conversion rounds to nearest, ties to even; beyond float32's range it gives ±∞.
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]);
                }

                break;
            default:
                throw new NotSupportedException($"{dtype} cannot be read as float32.");
        }
    }

    /// <summary>Stores <paramref name="source"/> as <paramref name="dtype"/> into <paramref name="destination"/>.</summary>
    public static void FromFloat32(SafeTensorDType dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        switch (dtype)
        {
            case SafeTensorDType.F32:
                for (int i = 0; i < source.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(destination[(4 * i)..], source[i]);
                }

                break;
            case SafeTensorDType.BF16:
                for (int i = 0; i < source.Length; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], SingleToBFloat16(source[i]));
                }

                break;
            case SafeTensorDType.F16:
                for (int i = 0; i < source.Length; i++)
                {
                    // .NET's float → Half conversion rounds to nearest, ties to even, and keeps NaN.
                    BinaryPrimitives.WriteHalfLittleEndian(destination[(2 * i)..], (Half)source[i]);
                }

                break;
            case SafeTensorDType.F64:
                for (int i = 0; i < source.Length; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(destination[(8 * i)..], source[i]);
                }

                break;
            default:
                throw new NotSupportedException($"float32 cannot be stored as {dtype}.");
        }
    }

    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Keeps the upper 16 bits of the float32, rounded to nearest, ties to even; a NaN stays a quiet NaN.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            // Truncating a NaN whose payload sits in the low 16 bits would leave an infinity: set the quiet bit.
            return (ushort)((bits >> 16) | 0x0040);
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
