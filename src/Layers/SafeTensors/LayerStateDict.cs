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
    /// <exception cref="NotSupportedException">A tensor's dtype cannot be read as float32.</exception>
    /// <exception cref="ObjectDisposedException">The layer or the file was disposed.</exception>
    public static void LoadStateDict(LinearLayer layer, SafeTensorsFile file, string prefix, bool strict)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(prefix);
        BlasBuffer weight = layer.Weight;
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
            ReadOnlySpan<float> weightValues = Float32View(file, weightInfo);
            ReadOnlySpan<float> biasValues = biasInfo is null ? default : Float32View(file, biasInfo);
            if (bias is null || biasInfo is null)
            {
                weight.CopyFrom(weightValues);
                return;
            }

            // The bias goes first, so a weight copy that fails can be undone by restoring a small snapshot.
            float[] previousBias = bias.ToArray();
            bias.CopyFrom(biasValues);
            try
            {
                weight.CopyFrom(weightValues);
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
