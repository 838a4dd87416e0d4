using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>Which of the two layer forms a point measures.</summary>
internal enum LayerForm
{
    Linear,
    ParameterLinear,
}

/// <summary>What a point times: one forward (with or without bias) or one backward.</summary>
internal enum Pass
{
    Forward,
    ForwardWithBias,
    Backward,
}

/// <summary>in_features → out_features.</summary>
internal readonly record struct FeatureShape(int In, int Out)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{In}→{Out}");

    /// <summary>A form safe in file names: 1024x4096.</summary>
    public string FileToken => string.Create(CultureInfo.InvariantCulture, $"{In}x{Out}");
}

/// <summary>
/// One measurement of the sweep: a layer form and pass at one shape and batch size, with the weight in
/// the precision its layer is prepared with (float32, or bfloat16 for a forward on the CPU).
/// </summary>
internal sealed record SweepPoint(FeatureShape Shape, int Batch, LayerForm Layer, Pass Pass, WeightPrecision Precision = WeightPrecision.Float32)
{
    private const int BFloat16Bytes = 2;

    /// <summary>
    /// The floor operation computing the same GEMMs. The with-bias forward is compared with the floor's
    /// bias-free forward on purpose: the ratio then shows what the bias costs. The floor is the float32
    /// call at every precision, so a bfloat16 row's ratio is its speed-up over the same raw call.
    /// </summary>
    public FloorOp FloorOp => (Layer, Pass) switch
    {
        (LayerForm.Linear, Pass.Backward) => FloorOp.LinearBackward,
        (LayerForm.Linear, _) => FloorOp.LinearForward,
        (LayerForm.ParameterLinear, Pass.Backward) => FloorOp.ParameterBackward,
        _ => FloorOp.ParameterForward,
    };

    /// <summary>
    /// 2·M·N·K for a forward, 4·M·N·K for a backward (the dX and dW GEMMs); the bias's broadcast and
    /// row sums are left out, so both sides are credited for the same GEMM work.
    /// </summary>
    public double Flops
    {
        get
        {
            double gemm = 2.0 * Batch * Shape.In * Shape.Out;
            return Pass == Pass.Backward ? 2 * gemm : gemm;
        }
    }

    /// <summary>
    /// Bytes held while the point runs: the floor's buffers, the layer's parameters and gradients,
    /// the managed side's input and output buffers, the host arrays its data is generated in, and a
    /// bfloat16 layer's rounded copy of the weight.
    /// </summary>
    public long EstimatedBytes
    {
        get
        {
            long mk = (long)Batch * Shape.In, nk = (long)Shape.In * Shape.Out, mn = (long)Batch * Shape.Out;
            long floor = Pass == Pass.Backward ? (2 * mk) + (2 * nk) + mn : mk + nk + mn;
            long managed = (2 * nk) + (Pass == Pass.Backward ? (2 * mk) + mn : mk + mn);
            long generated = mk + nk + mn;
            long rounded = Precision == WeightPrecision.BFloat16 ? nk * BFloat16Bytes : 0;
            return (sizeof(float) * (floor + managed + generated)) + rounded;
        }
    }

    /// <summary>Bytes per element of the weight the layer's forward reads: 4 for float32, 2 for bfloat16.</summary>
    public int WeightElementBytes => Precision == WeightPrecision.BFloat16 ? BFloat16Bytes : sizeof(float);

    /// <summary>The precision as results.csv writes it: <c>float32</c> or <c>bfloat16</c>.</summary>
    public string PrecisionName => PrecisionNames.Of(Precision);

    /// <summary>The layer, and its precision when that is not float32: <c>Linear</c>, <c>Linear bfloat16</c>.</summary>
    public string VariantName => Precision == WeightPrecision.Float32 ? LayerName : $"{LayerName} {PrecisionName}";

    /// <summary>Whether the layer has a bias: only the forward+bias pass (the backward runs without one).</summary>
    public bool HasBias => Pass == Pass.ForwardWithBias;

    public string LayerName => Layer == LayerForm.Linear ? "Linear" : "ParameterLinear";

    public string PassName => Pass switch
    {
        Pass.Forward => "forward",
        Pass.ForwardWithBias => "forward+bias",
        _ => "backward",
    };

    public override string ToString() => Precision == WeightPrecision.Float32
        ? string.Create(CultureInfo.InvariantCulture, $"{LayerName} {PassName} {Shape} batch {Batch}")
        : string.Create(CultureInfo.InvariantCulture, $"{LayerName} {PassName} {Shape} batch {Batch} ({PrecisionName} weight)");
}
