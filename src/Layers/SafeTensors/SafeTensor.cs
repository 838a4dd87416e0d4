namespace BlasLinear;

/// <summary>
/// A tensor to write with <see cref="SafeTensorsFile.Save"/>: a name, a shape and float32 values, stored
/// in the file as <see cref="DType"/> (F32 keeps the values exactly; F16 and BF16 round each value to
/// the nearest representable one, ties to even; F64 widens exactly).
/// </summary>
public sealed class SafeTensor
{
    private readonly long[] _shape;

    /// <summary>Describes a tensor to save.</summary>
    /// <param name="name">The name in the file, e.g. <c>fc1.weight</c>.</param>
    /// <param name="shape">The dimensions, outermost first (copied); empty for a scalar.</param>
    /// <param name="data">The values, row-major; not copied, so keep them unchanged until saved.</param>
    /// <param name="dtype">The type to store: F32 (default), F16, BF16 or F64.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="shape"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="name"/> is <c>__metadata__</c>, a dimension is negative, or the product of the shape
    /// differs from the length of <paramref name="data"/>.
    /// </exception>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is not F32, F16, BF16 or F64.</exception>
    public SafeTensor(string name, IEnumerable<long> shape, ReadOnlyMemory<float> data, SafeTensorDType dtype = SafeTensorDType.F32)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == SafeTensorsHeader.MetadataKey)
        {
            throw new ArgumentException($"'{SafeTensorsHeader.MetadataKey}' is reserved for the metadata and cannot name a tensor.", nameof(name));
        }

        if (!SafeTensorDTypes.IsWritableFromFloat32(dtype))
        {
            throw new NotSupportedException($"Tensor '{name}': float32 values cannot be stored as {dtype}; use F32, F16, BF16 or F64.");
        }

        _shape = shape.ToArray();
        long count = 1;
        foreach (long dimension in _shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"Tensor '{name}': shape [{string.Join(", ", _shape)}] has a negative dimension.", nameof(shape));
            }

            count = dimension == 0 || count == 0 ? 0 : count <= long.MaxValue / dimension ? count * dimension : long.MaxValue;
        }

        if (count != data.Length)
        {
            throw new ArgumentException(
                $"Tensor '{name}': shape [{string.Join(", ", _shape)}] needs {count} elements; got {data.Length}.", nameof(data));
        }

        Name = name;
        Data = data;
        DType = dtype;
    }

    /// <summary>Describes a tensor to save from 32-bit dimensions, such as <c>BlasBuffer.Shape</c>.</summary>
    /// <param name="name">The name in the file.</param>
    /// <param name="shape">The dimensions, outermost first (copied).</param>
    /// <param name="data">The values, row-major; not copied.</param>
    /// <param name="dtype">The type to store: F32 (default), F16, BF16 or F64.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="shape"/> is null.</exception>
    /// <exception cref="ArgumentException">The name is reserved, a dimension is negative, or the shape does not match the data.</exception>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is not F32, F16, BF16 or F64.</exception>
    public SafeTensor(string name, IEnumerable<int> shape, ReadOnlyMemory<float> data, SafeTensorDType dtype = SafeTensorDType.F32)
        : this(name, (shape ?? throw new ArgumentNullException(nameof(shape))).Select(d => (long)d), data, dtype)
    {
    }

    /// <summary>The name in the file.</summary>
    public string Name { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>The values, row-major.</summary>
    public ReadOnlyMemory<float> Data { get; }

    /// <summary>The type the values are stored as.</summary>
    public SafeTensorDType DType { get; }

    /// <summary>The same tensor stored as another type.</summary>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is not F32, F16, BF16 or F64.</exception>
    public SafeTensor As(SafeTensorDType dtype) => new(Name, _shape, Data, dtype);
}
