namespace BlasLinear;

/// <summary>
/// The element types a safetensors header can name. <see cref="SafeTensorsFile"/> reads
/// <see cref="F32"/>, <see cref="F16"/>, <see cref="BF16"/> and <see cref="F64"/> as float32; the others are
/// recognised so a file holding them still opens, and their bytes are available through
/// <see cref="SafeTensorsFile.GetBytes(string)"/>.
/// </summary>
public enum SafeTensorDType
{
    /// <summary><c>BOOL</c>: one byte.</summary>
    Bool,

    /// <summary><c>U8</c>: unsigned 8-bit integer.</summary>
    U8,

    /// <summary><c>I8</c>: signed 8-bit integer.</summary>
    I8,

    /// <summary><c>F8_E5M2</c>: 8-bit float with 5 exponent and 2 mantissa bits.</summary>
    F8E5M2,

    /// <summary><c>F8_E4M3</c>: 8-bit float with 4 exponent and 3 mantissa bits.</summary>
    F8E4M3,

    /// <summary><c>I16</c>: signed 16-bit integer.</summary>
    I16,

    /// <summary><c>U16</c>: unsigned 16-bit integer.</summary>
    U16,

    /// <summary><c>F16</c>: IEEE 754 binary16.</summary>
    F16,

    /// <summary><c>BF16</c>: bfloat16, the upper half of a float32.</summary>
    BF16,

    /// <summary><c>I32</c>: signed 32-bit integer.</summary>
    I32,

    /// <summary><c>U32</c>: unsigned 32-bit integer.</summary>
    U32,

    /// <summary><c>F32</c>: IEEE 754 binary32.</summary>
    F32,

    /// <summary><c>F64</c>: IEEE 754 binary64.</summary>
    F64,

    /// <summary><c>I64</c>: signed 64-bit integer.</summary>
    I64,

    /// <summary><c>U64</c>: unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>The header names and sizes of <see cref="SafeTensorDType"/>.</summary>
internal static class SafeTensorDTypes
{
    /// <summary>The size of one element in bytes.</summary>
    public static int SizeOf(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool or SafeTensorDType.U8 or SafeTensorDType.I8
            or SafeTensorDType.F8E5M2 or SafeTensorDType.F8E4M3 => 1,
        SafeTensorDType.I16 or SafeTensorDType.U16 or SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 or SafeTensorDType.U32 or SafeTensorDType.F32 => 4,
        _ => 8,
    };

    /// <summary>The string the header uses, e.g. <c>BF16</c>.</summary>
    public static string HeaderName(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool => "BOOL",
        SafeTensorDType.F8E5M2 => "F8_E5M2",
        SafeTensorDType.F8E4M3 => "F8_E4M3",
        _ => dtype.ToString(),
    };

    /// <summary>Parses a header dtype string, exactly as the format spells it (case-sensitive).</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out SafeTensorDType dtype)
    {
        dtype = utf8 switch
        {
            _ when utf8.SequenceEqual("BOOL"u8) => SafeTensorDType.Bool,
            _ when utf8.SequenceEqual("U8"u8) => SafeTensorDType.U8,
            _ when utf8.SequenceEqual("I8"u8) => SafeTensorDType.I8,
            _ when utf8.SequenceEqual("F8_E5M2"u8) => SafeTensorDType.F8E5M2,
            _ when utf8.SequenceEqual("F8_E4M3"u8) => SafeTensorDType.F8E4M3,
            _ when utf8.SequenceEqual("I16"u8) => SafeTensorDType.I16,
            _ when utf8.SequenceEqual("U16"u8) => SafeTensorDType.U16,
            _ when utf8.SequenceEqual("F16"u8) => SafeTensorDType.F16,
            _ when utf8.SequenceEqual("BF16"u8) => SafeTensorDType.BF16,
            _ when utf8.SequenceEqual("I32"u8) => SafeTensorDType.I32,
            _ when utf8.SequenceEqual("U32"u8) => SafeTensorDType.U32,
            _ when utf8.SequenceEqual("F32"u8) => SafeTensorDType.F32,
            _ when utf8.SequenceEqual("F64"u8) => SafeTensorDType.F64,
            _ when utf8.SequenceEqual("I64"u8) => SafeTensorDType.I64,
            _ when utf8.SequenceEqual("U64"u8) => SafeTensorDType.U64,
            _ => (SafeTensorDType)(-1),
        };
        return Enum.IsDefined(dtype);
    }

    /// <summary>Whether <see cref="SafeTensorsFile"/> converts the type to float32.</summary>
    public static bool IsReadableAsFloat32(SafeTensorDType dtype) =>
        dtype is SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.F64;

    /// <summary>Whether <see cref="SafeTensorsFile.Save"/> can write the type from float32.</summary>
    public static bool IsWritableFromFloat32(SafeTensorDType dtype) => IsReadableAsFloat32(dtype);
}
