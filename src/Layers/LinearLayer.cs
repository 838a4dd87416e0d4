using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>
/// What <see cref="Linear"/> and <see cref="ParameterLinear"/> share: a fully connected layer
/// Y = X·op(W) + b over inputs of shape (*, in_features), computed by a <see cref="BlasBackend"/>.
/// </summary>
/// <remarks>
/// <para>Inputs are flat row-major spans: any leading dimensions are flattened into M = length / in_features
/// rows without a copy, and outputs have shape (*, out_features). The parameters and their gradients
/// live in buffers of the layer's backend (aligned host memory for OpenBLAS) and are freed by
/// <see cref="Dispose()"/>, or by their handles' finalizers if the layer is forgotten.</para>
/// <para>Gradients accumulate across <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
/// calls like PyTorch's <c>.grad</c> until <see cref="ZeroGrad"/>.</para>
/// <para>Thread safety: <c>Forward</c> and <c>Backward</c> may be called on one layer from many threads at
/// once. On a device backend, host-span calls on one layer take turns (they share the layer's staging
/// buffers). Each <c>Backward</c> adds its contribution to the gradients atomically, so concurrent backward
/// calls leave the sum of all their contributions, equal to a sequential run up to the order of float32
/// additions; <c>ZeroGrad</c> is atomic with respect to them. Changing the parameters (<c>Weight.CopyFrom</c>,
/// <see cref="ResetParameters(int?)"/>) or the preparation (<see cref="PrepareForInference()"/>,
/// <see cref="PrepareForTraining"/>) while calls on the same layer are running is a data race the layer
/// does not detect: finish the calls first, as with any optimizer step.</para>
/// </remarks>
public abstract partial class LinearLayer : IDisposable
{
    private readonly BlasBuffer _weight;
    private readonly BlasBuffer _weightGrad;
    private readonly BlasBuffer? _bias;
    private readonly BlasBuffer? _biasGrad;
    private readonly HostStaging _staging;
    private readonly Lock _gradientLock = new();
    private readonly Lock _preparationLock = new();
    private PreparedWeight? _prepared;
    private int _disposed;

    private protected LinearLayer(
        WeightLayout layout, int inFeatures, int outFeatures, bool bias,
        BlasBackend? backend, ParameterInit init, int? seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ParameterInitializer.Check(init);
        Backend = backend ?? BlasBackend.Default;
        ObjectDisposedException.ThrowIf(Backend.IsDisposed, Backend);
        Layout = layout;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        int[] weightShape = layout == WeightLayout.OutByIn ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
        var owned = new List<IDisposable>(5);
        try
        {
            owned.Add(_staging = Backend.CreateHostStaging());
            owned.Add(_weight = Backend.Allocate(weightShape));
            owned.Add(_weightGrad = Backend.Allocate(weightShape));
            if (bias)
            {
                owned.Add(_bias = Backend.Allocate(outFeatures));
                owned.Add(_biasGrad = Backend.Allocate(outFeatures));
            }

            ResetParameters(init, seed);
        }
        catch
        {
            foreach (IDisposable resource in owned)
            {
                resource.Dispose();
            }

            throw;
        }
    }

    /// <summary>The size of each input row.</summary>
    public int InFeatures { get; }

    /// <summary>The size of each output row.</summary>
    public int OutFeatures { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool HasBias => _bias is not null;

    /// <summary>How the weight is stored.</summary>
    public WeightLayout Layout { get; }

    /// <summary>The backend that computes and owns the buffers.</summary>
    public BlasBackend Backend { get; }

    /// <summary>The weight: [out, in] for <see cref="Linear"/>, [in, out] for <see cref="ParameterLinear"/>.</summary>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped (<see cref="Float32WeightsDropped"/>).</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer Weight => LiveFloat32(_weight, "read the float32 weight of");

    /// <summary>The bias [out], or null when the layer has none.</summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer? Bias => LiveOrNull(_bias);

    /// <summary>The accumulated gradient of the weight, shaped like <see cref="Weight"/>.</summary>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped (<see cref="Float32WeightsDropped"/>).</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer WeightGrad => LiveFloat32(_weightGrad, "read the weight gradient of");

    /// <summary>The accumulated gradient of the bias, or null when the layer has none.</summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer? BiasGrad => LiveOrNull(_biasGrad);

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>True between <see cref="PrepareForInference()"/> and <see cref="PrepareForTraining"/>.</summary>
    public bool IsPreparedForInference => Volatile.Read(ref _prepared) is not null;

    /// <summary>The backend's prepared weight while the layer is prepared for inference (tests look into it).</summary>
    internal PreparedWeight? Prepared => Volatile.Read(ref _prepared);

    /// <summary>The PyTorch-style name used by <see cref="ToString"/>.</summary>
    private protected abstract string Name { get; }

    private LayerArguments Arguments => new(this);

    /// <summary>
    /// Y = X·op(W) + b. <paramref name="input"/> holds M rows of in_features; <paramref name="output"/>
    /// receives M rows of out_features. An empty input writes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The input length is not a multiple of in_features, the output has the wrong length, or they overlap.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        ThrowIfDisposed();
        int m = Arguments.RowsOf(input.Length);
        Arguments.CheckLength(output.Length, m, OutFeatures, nameof(output), "out_features");
        LayerArguments.CheckNoOverlap(output, input, nameof(output), nameof(input));
        if (m == 0)
        {
            return;
        }

        using HostStagingScope staging = _staging.Begin();
        ReadOnlyBlasSpan x = staging.In(input);
        BlasSpan y = staging.Out(output);
        ForwardCore(m, x, y);
        staging.CopyBack(y, output);
    }

    /// <summary>Y = X·op(W) + b into a new array.</summary>
    /// <exception cref="ArgumentException">The input length is not a multiple of in_features.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public float[] Forward(ReadOnlySpan<float> input)
    {
        ThrowIfDisposed();
        var output = new float[(long)Arguments.RowsOf(input.Length) * OutFeatures];
        Forward(input, output);
        return output;
    }

    /// <summary>
    /// Y = X·op(W) + b on buffers of the layer's backend, with no host round trip: the first
    /// <paramref name="batch"/> rows of <paramref name="input"/> into the first rows of <paramref name="output"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative.</exception>
    /// <exception cref="ArgumentException">A buffer is too short, belongs to another backend, or they are the same buffer.</exception>
    /// <exception cref="ObjectDisposedException">The layer, its backend or a buffer was disposed.</exception>
    public void Forward(BlasBuffer input, BlasBuffer output, int batch)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        LayerArguments.CheckAtLeast(input, batch, InFeatures, nameof(input), "in_features");
        LayerArguments.CheckAtLeast(output, batch, OutFeatures, nameof(output), "out_features");
        LayerArguments.CheckDistinct(output, nameof(output), [input, _weight, _weightGrad, _bias, _biasGrad], [nameof(input), "the layer's weight", "the layer's weight gradient", "the layer's bias", "the layer's bias gradient"]);
        if (batch == 0)
        {
            return;
        }

        ForwardCore(batch, input.Slice(0, (long)batch * InFeatures), output.Slice(0, (long)batch * OutFeatures));
    }

    /// <summary>
    /// Back-propagates <paramref name="gradOutput"/> (dY, M × out_features) through the layer for the
    /// <paramref name="input"/> (X, M × in_features) of the forward pass: writes dX into
    /// <paramref name="gradInput"/> (M × in_features; pass an empty span to skip it) and adds dW and db
    /// to <see cref="WeightGrad"/> and <see cref="BiasGrad"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A length does not match the input's rows, or the output overlaps an input.</exception>
    /// <exception cref="InvalidOperationException">The layer is prepared for inference with bfloat16 weights (call <see cref="PrepareForTraining"/> first) or dropped its float32 weights.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        ThrowIfDisposed();
        ThrowIfCannotTrain("run Backward on");
        int m = Arguments.RowsOf(input.Length);
        Arguments.CheckLength(gradOutput.Length, m, OutFeatures, nameof(gradOutput), "out_features");
        bool wantsInputGrad = !gradInput.IsEmpty;
        if (wantsInputGrad)
        {
            Arguments.CheckLength(gradInput.Length, m, InFeatures, nameof(gradInput), "in_features");
            LayerArguments.CheckNoOverlap(gradInput, input, nameof(gradInput), nameof(input));
            LayerArguments.CheckNoOverlap(gradInput, gradOutput, nameof(gradInput), nameof(gradOutput));
        }

        if (m == 0)
        {
            return;
        }

        using HostStagingScope staging = _staging.Begin();
        ReadOnlyBlasSpan x = staging.In(input);
        ReadOnlyBlasSpan dy = staging.In(gradOutput);
        if (wantsInputGrad)
        {
            BlasSpan dx = staging.Out(gradInput);
            LinearGemm.InputGradient(Backend, Layout, m, OutFeatures, InFeatures, dy, _weight, dx);
            staging.CopyBack(dx, gradInput);
        }

        AccumulateParameterGradients(m, x, dy);
    }

    /// <summary>
    /// <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> on buffers of the
    /// layer's backend; <paramref name="gradInput"/> may be null to skip dX.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative.</exception>
    /// <exception cref="ArgumentException">A buffer is too short, belongs to another backend, or the output is an input.</exception>
    /// <exception cref="InvalidOperationException">The layer is prepared for inference with bfloat16 weights (call <see cref="PrepareForTraining"/> first) or dropped its float32 weights.</exception>
    /// <exception cref="ObjectDisposedException">The layer, its backend or a buffer was disposed.</exception>
    public void Backward(BlasBuffer input, BlasBuffer gradOutput, BlasBuffer? gradInput, int batch)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(gradOutput);
        ThrowIfDisposed();
        ThrowIfCannotTrain("run Backward on");
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        LayerArguments.CheckAtLeast(input, batch, InFeatures, nameof(input), "in_features");
        LayerArguments.CheckAtLeast(gradOutput, batch, OutFeatures, nameof(gradOutput), "out_features");
        if (gradInput is not null)
        {
            LayerArguments.CheckAtLeast(gradInput, batch, InFeatures, nameof(gradInput), "in_features");
            LayerArguments.CheckDistinct(gradInput, nameof(gradInput), [input, gradOutput, _weight, _weightGrad, _bias, _biasGrad], [nameof(input), nameof(gradOutput), "the layer's weight", "the layer's weight gradient", "the layer's bias", "the layer's bias gradient"]);
        }

        if (batch == 0)
        {
            return;
        }

        ReadOnlyBlasSpan x = input.Slice(0, (long)batch * InFeatures);
        ReadOnlyBlasSpan dy = gradOutput.Slice(0, (long)batch * OutFeatures);
        if (gradInput is not null)
        {
            LinearGemm.InputGradient(Backend, Layout, batch, OutFeatures, InFeatures, dy, _weight, gradInput.Slice(0, (long)batch * InFeatures));
        }

        AccumulateParameterGradients(batch, x, dy);
    }

    /// <summary>Sets <see cref="WeightGrad"/> and <see cref="BiasGrad"/> to exact zeros.</summary>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped (<see cref="Float32WeightsDropped"/>).</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        if (Float32WeightsDropped)
        {
            throw DroppedException("zero the gradients of");
        }

        lock (_gradientLock)
        {
            _weightGrad.Clear();
            _biasGrad?.Clear();
        }
    }

    /// <summary>Re-initialises the parameters as PyTorch's <c>nn.Linear</c> does (<see cref="ParameterInit.KaimingUniform"/>).</summary>
    /// <param name="seed">Seeds the generator for a reproducible draw; null draws a fresh seed.</param>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void ResetParameters(int? seed = null) => ResetParameters(ParameterInit.KaimingUniform, seed);

    /// <summary>Re-initialises the weight and bias with <paramref name="init"/>.</summary>
    /// <param name="init">The distribution.</param>
    /// <param name="seed">Seeds the generator for a reproducible draw; null draws a fresh seed.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="init"/> is not a defined value.</exception>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped (<see cref="Float32WeightsDropped"/>).</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void ResetParameters(ParameterInit init, int? seed = null)
    {
        ThrowIfDisposed();
        ParameterInitializer.Check(init);
        lock (_preparationLock)
        {
            if (Float32WeightsDropped)
            {
                throw DroppedException("reset the parameters of");
            }

            // Written in chunks: a prepared weight is set aside and prepared once again after, not refreshed per chunk.
            PreparedWeight? prepared = Interlocked.Exchange(ref _prepared, null);
            prepared?.Dispose();
            ParameterInitializer.Fill(_weight, _bias, InFeatures, init, seed);
            if (prepared is not null)
            {
                Volatile.Write(ref _prepared, PrepareWeight(_preparedPrecision));
            }
        }
    }

    /// <summary>The output shape (*, out_features) for an input of shape (*, in_features).</summary>
    /// <exception cref="ArgumentException">The shape is empty, has a negative extent, or its last extent is not in_features.</exception>
    public int[] OutputShape(params ReadOnlySpan<int> inputShape) => Arguments.OutputShape(inputShape);

    /// <summary>PyTorch's repr, e.g. <c>Linear(in_features=3, out_features=2, bias=True)</c>.</summary>
    public override string ToString() =>
        $"{Name}(in_features={InFeatures.ToString(CultureInfo.InvariantCulture)}, out_features={OutFeatures.ToString(CultureInfo.InvariantCulture)}, bias={(HasBias ? "True" : "False")})";

    /// <summary>Frees the parameters, gradients, prepared weight and staging buffers; a second call does nothing.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the layer owns.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_preparationLock)
        {
            Interlocked.Exchange(ref _prepared, null)?.Dispose();
        }

        _weight.Dispose();
        _weightGrad.Dispose();
        _bias?.Dispose();
        _biasGrad?.Dispose();
        _staging.Dispose();
    }

    private void ForwardCore(int m, ReadOnlyBlasSpan x, BlasSpan y)
    {
        if (Volatile.Read(ref _prepared) is PreparedWeight prepared)
        {
            // The prepared form adds the bias itself (on the CPU's kernels, as it stores Y).
            if (_bias is not null)
            {
                prepared.Multiply(m, x, _bias, y);
            }
            else
            {
                prepared.Multiply(m, x, 0f, y);
            }

            return;
        }

        float beta = 0f;
        if (_bias is not null)
        {
            Backend.BroadcastRows(_bias, y, m, OutFeatures);
            beta = 1f;
        }

        LinearGemm.Forward(Backend, Layout, m, OutFeatures, InFeatures, x, _weight, beta, y);
    }

    private void AccumulateParameterGradients(int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan dy)
    {
        lock (_gradientLock)
        {
            LinearGemm.AccumulateWeightGradient(Backend, Layout, m, OutFeatures, InFeatures, x, dy, _weightGrad);
            if (_biasGrad is not null)
            {
                Backend.AddRowSums(dy, m, OutFeatures, _biasGrad);
            }
        }
    }

    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ObjectDisposedException.ThrowIf(Backend.IsDisposed, Backend);
    }

    private BlasBuffer LiveFloat32(BlasBuffer buffer, string call)
    {
        ThrowIfDisposed();
        if (Float32WeightsDropped)
        {
            throw DroppedException(call);
        }

        return buffer;
    }

    private BlasBuffer? LiveOrNull(BlasBuffer? buffer)
    {
        ThrowIfDisposed();
        return buffer;
    }
}
