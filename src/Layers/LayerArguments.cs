using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>
/// The checks a layer makes on its arguments before any backend call, with PyTorch-style messages
/// (<c>input (3×6) and weight (7×5) cannot be multiplied</c>).
/// </summary>
internal readonly struct LayerArguments(LinearLayer layer)
{
    private string WeightShapeText => layer.Layout == WeightLayout.OutByIn
        ? $"{layer.OutFeatures}×{layer.InFeatures}"
        : $"{layer.InFeatures}×{layer.OutFeatures}";

    /// <summary>The rows of an input of <paramref name="inputLength"/> elements.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of in_features.</exception>
    public int RowsOf(int inputLength)
    {
        if (inputLength % layer.InFeatures != 0)
        {
            ThrowNotMultiple(inputLength, "input");
        }

        return inputLength / layer.InFeatures;
    }

    /// <exception cref="ArgumentException"><paramref name="length"/> is not rows × features.</exception>
    public void CheckLength(int length, int rows, int features, string name, string featureName)
    {
        if (length != (long)rows * features)
        {
            ThrowWrongLength(length, rows, features, name, featureName);
        }
    }

    /// <summary>Checked on the host spans themselves: once staged on a device they no longer share memory.</summary>
    /// <exception cref="ArgumentException">The spans overlap.</exception>
    public static void CheckNoOverlap(ReadOnlySpan<float> output, ReadOnlySpan<float> input, string outputName, string inputName)
    {
        if (output.Overlaps(input))
        {
            throw new ArgumentException($"{outputName} overlaps {inputName}; the result would be undefined.", outputName);
        }
    }

    /// <exception cref="ArgumentException">The buffer holds fewer than rows × features elements.</exception>
    public static void CheckAtLeast(BlasBuffer buffer, int rows, int features, string name, string featureName)
    {
        if (buffer.Length < (long)rows * features)
        {
            throw new ArgumentException(
                $"{name} {buffer.ShapeText} has {buffer.Length} elements; batch={rows} needs ({rows}×{features}) with {featureName}={features}.", name);
        }
    }

    /// <summary>An output buffer may be neither an input nor one of the layer's own parameters or gradients.</summary>
    /// <exception cref="ArgumentException"><paramref name="output"/> is one of <paramref name="others"/>.</exception>
    public static void CheckDistinct(BlasBuffer output, string outputName, ReadOnlySpan<BlasBuffer?> others, ReadOnlySpan<string> otherNames)
    {
        for (int i = 0; i < others.Length; i++)
        {
            if (ReferenceEquals(output, others[i]))
            {
                throw new ArgumentException($"{outputName} is the same buffer as {otherNames[i]}; the result would be undefined.", outputName);
            }
        }
    }

    /// <exception cref="ArgumentException">The shape is empty, has a negative extent, or its last extent is not in_features.</exception>
    public int[] OutputShape(ReadOnlySpan<int> inputShape)
    {
        if (inputShape.IsEmpty)
        {
            throw new ArgumentException("The input needs at least one dimension, (*, in_features).", nameof(inputShape));
        }

        foreach (int extent in inputShape)
        {
            if (extent < 0)
            {
                throw new ArgumentException($"The input shape ({Join(inputShape)}) has a negative extent.", nameof(inputShape));
            }
        }

        if (inputShape[^1] != layer.InFeatures)
        {
            throw new ArgumentException(
                $"input ({Join(inputShape)}) and weight ({WeightShapeText}) cannot be multiplied: the last dimension must be in_features={layer.InFeatures}.",
                nameof(inputShape));
        }

        int[] output = inputShape.ToArray();
        output[^1] = layer.OutFeatures;
        return output;
    }

    [DoesNotReturn]
    private void ThrowNotMultiple(int inputLength, string paramName) =>
        throw new ArgumentException(
            $"input ({inputLength} elements, not a multiple of in_features={layer.InFeatures}) and weight ({WeightShapeText}) cannot be multiplied.",
            paramName);

    [DoesNotReturn]
    private void ThrowWrongLength(int length, int rows, int features, string name, string featureName) =>
        throw new ArgumentException(
            $"{name} has {length} elements; the input ({rows}×{layer.InFeatures}) needs {name} ({rows}×{features}) = {(long)rows * features} with {featureName}={features}.",
            name);

    private static string Join(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }

        return string.Join("×", parts);
    }
}
