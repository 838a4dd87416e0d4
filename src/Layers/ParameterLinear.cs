using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>
/// The layer people build from raw parameters (<c>W = nn.Parameter(torch.randn(in, out))</c>,
/// <c>torch.matmul(x, W) + b</c>): Y = X·W + b with the weight stored row-major as
/// <c>W[in_features, out_features]</c> and the bias as <c>b[out_features]</c>. Inputs have shape
/// (*, in_features), outputs (*, out_features). Initialised from U(−1/√in, 1/√in) by default, or from
/// N(0, 1) with <see cref="ParameterInit.StandardNormal"/>.
/// </summary>
public sealed class ParameterLinear : LinearLayer
{
    /// <summary>Creates the layer and initialises its parameters.</summary>
    /// <param name="inFeatures">The size of each input row.</param>
    /// <param name="outFeatures">The size of each output row.</param>
    /// <param name="bias">Whether to add a learnable bias.</param>
    /// <param name="backend">The backend; <see cref="BlasBackend.Default"/> when null.</param>
    /// <param name="init">How to initialise the weight and bias.</param>
    /// <param name="seed">Seeds the initialisation for reproducible parameters.</param>
    /// <exception cref="ArgumentOutOfRangeException">A feature count is below 1, or <paramref name="init"/> is undefined.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="backend"/> was disposed.</exception>
    /// <exception cref="BackendUnavailableException">No backend was given and the default one cannot be created.</exception>
    public ParameterLinear(int inFeatures, int outFeatures, bool bias = true, BlasBackend? backend = null,
        ParameterInit init = ParameterInit.KaimingUniform, int? seed = null)
        : base(WeightLayout.InByOut, inFeatures, outFeatures, bias, backend, init, seed)
    {
    }

    private protected override string Name => "ParameterLinear";
}
