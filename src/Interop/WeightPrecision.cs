namespace BlasLinear.Backends;

/// <summary>The element type a weight prepared for inference is stored in (<see cref="BlasBackend.PrepareWeight(BlasBuffer, Transpose, int, int, WeightPrecision)"/>).</summary>
public enum WeightPrecision
{
    /// <summary>float32, as the weight is trained: the default.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The member names the element type it stands for, as PyTorch's torch.float32 does.")]
    Float32 = 0,

    /// <summary>
    /// bfloat16, the upper 16 bits of a float32 rounded to nearest, ties to even: half the bytes, 8 bits of
    /// significand (a relative rounding of at most 2⁻⁹ per weight). Inputs, products, sums and outputs stay
    /// float32. CPU backend only.
    /// </summary>
    BFloat16 = 1,
}
