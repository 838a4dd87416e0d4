namespace BlasLinear;

/// <summary>How a layer stores its weight, row-major.</summary>
public enum WeightLayout
{
    /// <summary><c>W[out, in]</c>: <see cref="Linear"/>, PyTorch's <c>nn.Linear</c>.</summary>
    OutByIn,

    /// <summary><c>W[in, out]</c>: <see cref="ParameterLinear"/>, a layer built from raw parameters.</summary>
    InByOut,
}

/// <summary>How <see cref="LinearLayer.ResetParameters(ParameterInit, int?)"/> fills the parameters.</summary>
public enum ParameterInit
{
    /// <summary>
    /// PyTorch's <c>nn.Linear</c> default: kaiming-uniform with a = √5 for the weight, which is
    /// U(−1/√in, 1/√in), and the same range for the bias.
    /// </summary>
    KaimingUniform,

    /// <summary>Standard normal N(0, 1) for weight and bias, as <c>torch.randn</c> in a hand-made layer.</summary>
    StandardNormal,
}
