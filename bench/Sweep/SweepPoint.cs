using System.Globalization;

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

/// <summary>One measurement of the sweep: a layer form and pass at one shape and batch size.</summary>
internal sealed record SweepPoint(FeatureShape Shape, int Batch, LayerForm Layer, Pass Pass)
{
    /// <summary>
    /// The floor operation computing the same GEMMs. The with-bias forward is compared with the floor's
    /// bias-free forward on purpose: the ratio then shows what the bias costs.
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
    /// the managed side's input and output buffers, and the host arrays its data is generated in.
    /// </summary>
    public long EstimatedBytes
    {
        get
        {
            long mk = (long)Batch * Shape.In, nk = (long)Shape.In * Shape.Out, mn = (long)Batch * Shape.Out;
            long floor = Pass == Pass.Backward ? (2 * mk) + (2 * nk) + mn : mk + nk + mn;
            long managed = (2 * nk) + (Pass == Pass.Backward ? (2 * mk) + mn : mk + mn);
            long generated = mk + nk + mn;
            return sizeof(float) * (floor + managed + generated);
        }
    }

    /// <summary>Whether the layer has a bias: only the forward+bias pass (the backward runs without one).</summary>
    public bool HasBias => Pass == Pass.ForwardWithBias;

    public string LayerName => Layer == LayerForm.Linear ? "Linear" : "ParameterLinear";

    public string PassName => Pass switch
    {
        Pass.Forward => "forward",
        Pass.ForwardWithBias => "forward+bias",
        _ => "backward",
    };

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{LayerName} {PassName} {Shape} batch {Batch}");
}
