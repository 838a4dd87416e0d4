namespace BlasLinear;

/// <summary>One tensor's entry in a safetensors header, as validated by <see cref="SafeTensorsFile.Open"/>.</summary>
/// <param name="Name">The tensor's name, e.g. <c>fc1.weight</c>.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions, outermost first; empty for a scalar.</param>
/// <param name="DataOffsets">
/// The byte range [Begin, End) relative to the start of the data section (the byte after the header), as
/// the header's <c>data_offsets</c> gives it.
/// </param>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, IReadOnlyList<long> Shape, (long Begin, long End) DataOffsets)
{
    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long dimension in Shape)
            {
                count *= dimension;
            }

            return count;
        }
    }

    /// <summary>The number of bytes the tensor occupies: End − Begin.</summary>
    public long ByteLength => DataOffsets.End - DataOffsets.Begin;

    /// <summary>The shape as PyTorch prints it, e.g. <c>[5, 13]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
