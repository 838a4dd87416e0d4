using System.Runtime.InteropServices;
using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>
/// PyTorch-style state dicts for <see cref="LinearLayer"/>: the parameters as <c>{prefix}.weight</c> and
/// <c>{prefix}.bias</c> (<c>weight</c> and <c>bias</c> for an empty prefix), shaped as the layer stores them.
/// </summary>
internal static class LayerStateDict
{
    /// <summary>The layer's parameters as F32 tensors, copied from its buffers.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> or <paramref name="prefix"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public static IReadOnlyList<SafeTensor> StateDict(LinearLayer layer, string prefix)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        BlasBuffer weight = layer.Weight;
        var tensors = new List<SafeTensor>(2)
        {
            new(Key(prefix, "weight"), WeightShape(layer), weight.ToArray()),
        };
        if (layer.Bias is BlasBuffer bias)
        {
            tensors.Add(new SafeTensor(Key(prefix, "bias"), [(long)layer.OutFeatures], bias.ToArray()));
        }

        return tensors;
    }

    /// <summary>
    /// Loads <c>{prefix}.weight</c> and <c>{prefix}.bias</c> from <paramref name="file"/> into the layer, all or
    /// nothing: every check runs, and every conversion into a temporary is made, before the first write.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A tensor is missing, unexpected (strict) or of the wrong shape.</exception>
    /// <remarks>
    /// A layer that dropped its float32 weights (<see cref="LinearLayer.Float32WeightsDropped"/>) gets its weight
    /// written into its bfloat16 form: a BF16 tensor's bits are copied as they are, with no float32 round trip;
    /// other types are read as float32 and rounded.
    /// </remarks>
    /// <exception cref="NotSupportedException">A tensor's dtype cannot be read as float32.</exception>
    /// <exception cref="ObjectDisposedException">The layer or the file was disposed.</exception>
    public static void LoadStateDict(LinearLayer layer, SafeTensorsFile file, string prefix, bool strict)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(prefix);
        PreparedWeight? bfloat16 = layer.Float32WeightsDropped ? layer.Prepared : null;
        BlasBuffer? weight = bfloat16 is null ? layer.Weight : null;
        BlasBuffer? bias = layer.Bias;

        string weightKey = Key(prefix, "weight"), biasKey = Key(prefix, "bias");
        SafeTensorInfo weightInfo = file.TryGetInfo(weightKey, out SafeTensorInfo? foundWeight)
            ? foundWeight
            : throw Mismatch(layer, file, $"Missing key '{weightKey}': {layer} needs a weight of shape {Text(WeightShape(layer))}.");
        CheckShape(layer, file, weightInfo, WeightShape(layer), LayoutWords(layer));

        SafeTensorInfo? biasInfo = null;
        if (file.TryGetInfo(biasKey, out SafeTensorInfo? foundBias))
        {
            if (bias is not null)
            {
                biasInfo = foundBias;
                CheckShape(layer, file, biasInfo, [layer.OutFeatures], "the bias is [out_features]");
            }
            else if (strict)
            {
                throw Mismatch(layer, file,
                    $"Unexpected key '{biasKey}' of shape {foundBias.ShapeText}: {layer} has no bias (pass strict: false to ignore it).");
            }
        }
        else if (bias is not null && strict)
        {
            throw Mismatch(layer, file,
                $"Missing key '{biasKey}': {layer} needs a bias of shape [{layer.OutFeatures}] (pass strict: false to keep the current one).");
        }

        file.AddRef();
        try
        {
            ReadOnlySpan<float> weightValues = weight is null ? default : Float32View(file, weightInfo);
            ReadOnlySpan<ushort> weightBits = weight is null ? BFloat16View(file, weightInfo) : default;
            ReadOnlySpan<float> biasValues = biasInfo is null ? default : Float32View(file, biasInfo);
            if (bias is null || biasInfo is null)
            {
                WriteWeight(weight, bfloat16, weightValues, weightBits);
                return;
            }

            // The bias goes first, so a weight copy that fails can be undone by restoring a small snapshot.
            float[] previousBias = bias.ToArray();
            bias.CopyFrom(biasValues);
            try
            {
                WriteWeight(weight, bfloat16, weightValues, weightBits);
            }
            catch
            {
                bias.CopyFrom(previousBias);
                throw;
            }
        }
        finally
        {
            file.Release();
        }
    }

    /// <summary>The float32 weight from <paramref name="values"/>, or the bfloat16 form from <paramref name="bits"/> when the float32 weight was dropped.</summary>
    private static void WriteWeight(BlasBuffer? weight, PreparedWeight? bfloat16, ReadOnlySpan<float> values, ReadOnlySpan<ushort> bits)
    {
        if (weight is not null)
        {
            weight.CopyFrom(values);
        }
        else
        {
            bfloat16!.CopyFromBFloat16(bits);
        }
    }

    /// <summary>The tensor as bfloat16 bits: a BF16 tensor's own bits in the mapping, else its float32 values rounded into a temporary.</summary>
    private static ReadOnlySpan<ushort> BFloat16View(SafeTensorsFile file, SafeTensorInfo info)
    {
        if (info.DType == SafeTensorDType.BF16 && BitConverter.IsLittleEndian)
        {
            // The file stores each element's 16 bits little-endian, as this machine reads a ushort.
            return MemoryMarshal.Cast<byte, ushort>(file.DataOf(info));
        }

        ReadOnlySpan<float> values = Float32View(file, info);
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            bits[i] = Float32Conversions.SingleToBFloat16(values[i]);
        }

        return bits;
    }

    /// <summary>The tensor's float32 values: in place in the mapping for aligned F32, else converted into a temporary of its size.</summary>
    private static ReadOnlySpan<float> Float32View(SafeTensorsFile file, SafeTensorInfo info)
    {
        if (file.TryViewFloat32(info, out ReadOnlySpan<float> inPlace))
        {
            return inPlace;
        }

        var converted = new float[info.ElementCount];
        Float32Conversions.ToFloat32(info.DType, file.DataOf(info), converted);
        return converted;
    }

    private static void CheckShape(LinearLayer layer, SafeTensorsFile file, SafeTensorInfo info, long[] expected, string layoutWords)
    {
        if (!info.Shape.SequenceEqual(expected))
        {
            throw Mismatch(layer, file,
                $"'{info.Name}' has shape {info.ShapeText}; {layer} expects {Text(expected)} ({layoutWords}).");
        }

        SafeTensorsFile.CheckReadable(info);
    }

    private static long[] WeightShape(LinearLayer layer) => layer.Layout == WeightLayout.OutByIn
        ? [layer.OutFeatures, layer.InFeatures]
        : [layer.InFeatures, layer.OutFeatures];

    private static string LayoutWords(LinearLayer layer) => layer.Layout == WeightLayout.OutByIn
        ? "the weight is [out_features, in_features], as in nn.Linear"
        : "the weight is [in_features, out_features], as in x @ W + b";

    private static string Key(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

    private static string Text(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static ArgumentException Mismatch(LinearLayer layer, SafeTensorsFile file, string what) =>
        new($"Error loading the state dict of '{file.FilePath}' into {layer}: {what}", nameof(file));
}
