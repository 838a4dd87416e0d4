using System.Diagnostics.CodeAnalysis;
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
/// <see cref="ResetParameters(int?)"/>) while calls on the same layer are running is a data race the layer
/// does not detect: finish the calls first, as with any optimizer step.</para>
/// </remarks>
public abstract class LinearLayer : IDisposable
{
    private readonly BlasBuffer _weight;
    private readonly BlasBuffer _weightGrad;
    private readonly BlasBuffer? _bias;
    private readonly BlasBuffer? _biasGrad;
    private readonly Lock _stagingLock = new();
    private readonly Lock _gradientLock = new();
    private readonly Lock _transposedLock = new();
    private BlasBuffer? _transposed;
    private int _decidedVersion = -1;
    private bool _usesTransposed;
    private int _forwardsAtVersion;
    private int _forwardsAtPreviousVersion = -1;
    private BlasBuffer? _stagedInput;
    private BlasBuffer? _stagedOutput;
    private BlasBuffer? _stagedGradOutput;
    private BlasBuffer? _stagedGradInput;
    private int _disposed;

    private protected LinearLayer(
        WeightLayout layout, int inFeatures, int outFeatures, bool bias,
        BlasBackend? backend, ParameterInit init, int? seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        CheckInit(init);
        Backend = backend ?? BlasBackend.Default;
        ObjectDisposedException.ThrowIf(Backend.IsDisposed, Backend);
        Layout = layout;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        int[] weightShape = layout == WeightLayout.OutByIn ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
        var owned = new List<BlasBuffer>(4);
        try
        {
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
            foreach (BlasBuffer buffer in owned)
            {
                buffer.Dispose();
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
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer Weight => Live(_weight);

    /// <summary>The bias [out], or null when the layer has none.</summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer? Bias => LiveOrNull(_bias);

    /// <summary>The accumulated gradient of the weight, shaped like <see cref="Weight"/>.</summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer WeightGrad => Live(_weightGrad);

    /// <summary>The accumulated gradient of the bias, or null when the layer has none.</summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public BlasBuffer? BiasGrad => LiveOrNull(_biasGrad);

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>True while the forward multiplies by a transposed copy of the weight that matches it.</summary>
    internal bool HoldsCurrentTransposedWeight =>
        Volatile.Read(ref _decidedVersion) == _weight.Version && _usesTransposed && !_weight.IsExposedForWriting;

    /// <summary>The PyTorch-style name used by <see cref="ToString"/>.</summary>
    private protected abstract string Name { get; }

    private string WeightShapeText => Layout == WeightLayout.OutByIn
        ? $"{OutFeatures}×{InFeatures}"
        : $"{InFeatures}×{OutFeatures}";

    /// <summary>
    /// Y = X·op(W) + b. <paramref name="input"/> holds M rows of in_features; <paramref name="output"/>
    /// receives M rows of out_features. An empty input writes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The input length is not a multiple of in_features, the output has the wrong length, or they overlap.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        ThrowIfDisposed();
        int m = RowsOf(input.Length);
        CheckLength(output.Length, m, OutFeatures, nameof(output), "out_features");
        CheckNoOverlap(output, input, nameof(output), nameof(input));
        if (m == 0)
        {
            return;
        }

        bool takesTurn = EnterStaging();
        try
        {
            ReadOnlyBlasSpan x = Backend.Stage(input, ref _stagedInput);
            BlasSpan y = Backend.StageOutput(output, ref _stagedOutput);
            ForwardCore(m, x, y);
            Backend.Unstage(y, output);
        }
        finally
        {
            ExitStaging(takesTurn);
        }
    }

    /// <summary>Y = X·op(W) + b into a new array.</summary>
    /// <exception cref="ArgumentException">The input length is not a multiple of in_features.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public float[] Forward(ReadOnlySpan<float> input)
    {
        ThrowIfDisposed();
        var output = new float[(long)RowsOf(input.Length) * OutFeatures];
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
        CheckAtLeast(input, batch, InFeatures, nameof(input), "in_features");
        CheckAtLeast(output, batch, OutFeatures, nameof(output), "out_features");
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
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        ThrowIfDisposed();
        int m = RowsOf(input.Length);
        CheckLength(gradOutput.Length, m, OutFeatures, nameof(gradOutput), "out_features");
        bool wantsInputGrad = !gradInput.IsEmpty;
        if (wantsInputGrad)
        {
            CheckLength(gradInput.Length, m, InFeatures, nameof(gradInput), "in_features");
            CheckNoOverlap(gradInput, input, nameof(gradInput), nameof(input));
            CheckNoOverlap(gradInput, gradOutput, nameof(gradInput), nameof(gradOutput));
        }

        if (m == 0)
        {
            return;
        }

        bool takesTurn = EnterStaging();
        try
        {
            ReadOnlyBlasSpan x = Backend.Stage(input, ref _stagedInput);
            ReadOnlyBlasSpan dy = Backend.Stage(gradOutput, ref _stagedGradOutput);
            if (wantsInputGrad)
            {
                BlasSpan dx = Backend.StageOutput(gradInput, ref _stagedGradInput);
                LinearGemm.InputGradient(Backend, Layout, m, OutFeatures, InFeatures, dy, _weight, dx);
                Backend.Unstage(dx, gradInput);
            }

            AccumulateParameterGradients(m, x, dy);
        }
        finally
        {
            ExitStaging(takesTurn);
        }
    }

    /// <summary>
    /// <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> on buffers of the
    /// layer's backend; <paramref name="gradInput"/> may be null to skip dX.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative.</exception>
    /// <exception cref="ArgumentException">A buffer is too short, belongs to another backend, or the output is an input.</exception>
    /// <exception cref="ObjectDisposedException">The layer, its backend or a buffer was disposed.</exception>
    public void Backward(BlasBuffer input, BlasBuffer gradOutput, BlasBuffer? gradInput, int batch)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(gradOutput);
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        CheckAtLeast(input, batch, InFeatures, nameof(input), "in_features");
        CheckAtLeast(gradOutput, batch, OutFeatures, nameof(gradOutput), "out_features");
        if (gradInput is not null)
        {
            CheckAtLeast(gradInput, batch, InFeatures, nameof(gradInput), "in_features");
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
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
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
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void ResetParameters(ParameterInit init, int? seed = null)
    {
        ThrowIfDisposed();
        CheckInit(init);
        var random = seed is int s ? new Random(s) : new Random();
        // U(−1/√in, 1/√in) is kaiming-uniform with a = √5: gain √(2/(1+5)), bound gain·√(3/in).
        double bound = 1.0 / Math.Sqrt(InFeatures);
        Fill(_weight, random, init, bound);
        if (_bias is not null)
        {
            Fill(_bias, random, init, bound);
        }
    }

    /// <summary>The output shape (*, out_features) for an input of shape (*, in_features).</summary>
    /// <exception cref="ArgumentException">The shape is empty, has a negative extent, or its last extent is not in_features.</exception>
    public int[] OutputShape(params ReadOnlySpan<int> inputShape)
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

        if (inputShape[^1] != InFeatures)
        {
            throw new ArgumentException(
                $"input ({Join(inputShape)}) and weight ({WeightShapeText}) cannot be multiplied: the last dimension must be in_features={InFeatures}.",
                nameof(inputShape));
        }

        int[] output = inputShape.ToArray();
        output[^1] = OutFeatures;
        return output;
    }

    /// <summary>PyTorch's repr, e.g. <c>Linear(in_features=3, out_features=2, bias=True)</c>.</summary>
    public override string ToString() =>
        $"{Name}(in_features={InFeatures.ToString(CultureInfo.InvariantCulture)}, out_features={OutFeatures.ToString(CultureInfo.InvariantCulture)}, bias={(HasBias ? "True" : "False")})";

    /// <summary>Frees the parameters, gradients and staging buffers; a second call does nothing.</summary>
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

        _weight.Dispose();
        _weightGrad.Dispose();
        lock (_transposedLock)
        {
            _transposed?.Dispose();
        }

        _bias?.Dispose();
        _biasGrad?.Dispose();
        lock (_stagingLock)
        {
            _stagedInput?.Dispose();
            _stagedOutput?.Dispose();
            _stagedGradOutput?.Dispose();
            _stagedGradInput?.Dispose();
        }
    }

    /// <summary>
    /// Takes the layer's staging lock when the backend copies host data into the layer's staging buffers;
    /// where host spans are used in place nothing of the layer's is shared, so calls need not take turns.
    /// </summary>
    private bool EnterStaging()
    {
        if (!Backend.StagesHostData)
        {
            return false;
        }

        _stagingLock.Enter();
        return true;
    }

    private void ExitStaging(bool takesTurn)
    {
        if (takesTurn)
        {
            _stagingLock.Exit();
        }
    }

    private void ForwardCore(int m, ReadOnlyBlasSpan x, BlasSpan y)
    {
        float beta = 0f;
        if (_bias is not null)
        {
            Backend.BroadcastRows(_bias, y, m, OutFeatures);
            beta = 1f;
        }

        if (TransposedWeightFor(m) is BlasBuffer transposed)
        {
            // Linear's W[out, in] multiplied as its copy Wᵀ[in, out]: ParameterLinear's product, same Y.
            LinearGemm.Forward(Backend, WeightLayout.InByOut, m, OutFeatures, InFeatures, x, transposed, beta, y);
            return;
        }

        LinearGemm.Forward(Backend, Layout, m, OutFeatures, InFeatures, x, _weight, beta, y);
    }

    /// <summary>
    /// The transposed copy of a <c>Linear</c> weight, when the backend computes X·W faster than X·Wᵀ at
    /// <paramref name="m"/> rows (the CPU backend's routing, <see cref="BlasBackend"/>'s
    /// PrefersTransposedWeight); otherwise null and the forward multiplies by <see cref="Weight"/> itself.
    /// </summary>
    /// <remarks>
    /// Whether a given set of weights (each write by <c>CopyFrom</c>, <c>Clear</c> or
    /// <see cref="ResetParameters(int?)"/> makes a new set) is multiplied through the copy is decided once, at
    /// its first forward, so the same input and weights always give the same bits. The copy is made for the
    /// first weights a layer runs and for weights that follow ones used by two or more forwards (inference,
    /// or several batches per step); weights written before every single forward (a training step) are
    /// multiplied directly, so such a loop never pays for a transpose. Once a writable view of the weight has
    /// been taken (<c>AsSpan</c>, <c>Slice</c>, a <c>BlasSpan</c>), writes through it cannot be seen, and the
    /// copy is not used again. The public views, <c>CopyFrom</c>/<c>CopyTo</c> and the gradients keep the
    /// documented [out, in] layout; the copy is internal and freed with the layer.
    /// </remarks>
    private BlasBuffer? TransposedWeightFor(int m)
    {
        if (Layout != WeightLayout.OutByIn || _weight.IsExposedForWriting
            || !Backend.PrefersTransposedWeight(m, OutFeatures, InFeatures))
        {
            return null;
        }

        int version = _weight.Version;
        if (Volatile.Read(ref _decidedVersion) != version)
        {
            Decide(version);
        }

        Interlocked.Increment(ref _forwardsAtVersion);
        return _usesTransposed ? _transposed : null;
    }

    private void Decide(int version)
    {
        lock (_transposedLock)
        {
            // Dispose marks the layer before it takes this lock: no copy is made for a disposed layer.
            ThrowIfDisposed();
            if (_decidedVersion == version)
            {
                return;
            }

            if (_decidedVersion >= 0)
            {
                _forwardsAtPreviousVersion = _forwardsAtVersion;
            }

            _forwardsAtVersion = 0;
            _usesTransposed = _forwardsAtPreviousVersion is < 0 or >= 2;
            if (_usesTransposed)
            {
                _transposed ??= Backend.Allocate(InFeatures, OutFeatures);
                Backend.TransposeInto(_weight, OutFeatures, InFeatures, _transposed);
            }

            Volatile.Write(ref _decidedVersion, version);
        }
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

    /// <summary>Checked on the host spans themselves: once staged on a device they no longer share memory.</summary>
    private static void CheckNoOverlap(Span<float> output, ReadOnlySpan<float> input, string outputName, string inputName)
    {
        if (output.Overlaps(input))
        {
            throw new ArgumentException($"{outputName} overlaps {inputName}; the result would be undefined.", outputName);
        }
    }

    private int RowsOf(int inputLength)
    {
        if (inputLength % InFeatures != 0)
        {
            ThrowNotMultiple(inputLength, "input");
        }

        return inputLength / InFeatures;
    }

    private void CheckLength(int length, int rows, int features, string name, string featureName)
    {
        if (length != (long)rows * features)
        {
            ThrowWrongLength(length, rows, features, name, featureName);
        }
    }

    private static void CheckAtLeast(BlasBuffer buffer, int rows, int features, string name, string featureName)
    {
        if (buffer.Length < (long)rows * features)
        {
            throw new ArgumentException(
                $"{name} {buffer.ShapeText} has {buffer.Length} elements; batch={rows} needs ({rows}×{features}) with {featureName}={features}.", name);
        }
    }

    [DoesNotReturn]
    private void ThrowNotMultiple(int inputLength, string paramName) =>
        throw new ArgumentException(
            $"input ({inputLength} elements, not a multiple of in_features={InFeatures}) and weight ({WeightShapeText}) cannot be multiplied.",
            paramName);

    [DoesNotReturn]
    private void ThrowWrongLength(int length, int rows, int features, string name, string featureName) =>
        throw new ArgumentException(
            $"{name} has {length} elements; the input ({rows}×{InFeatures}) needs {name} ({rows}×{features}) = {(long)rows * features} with {featureName}={features}.",
            name);

    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ObjectDisposedException.ThrowIf(Backend.IsDisposed, Backend);
    }

    private BlasBuffer Live(BlasBuffer buffer)
    {
        ThrowIfDisposed();
        return buffer;
    }

    private BlasBuffer? LiveOrNull(BlasBuffer? buffer)
    {
        ThrowIfDisposed();
        return buffer;
    }

    private static void CheckInit(ParameterInit init)
    {
        if (init is not (ParameterInit.KaimingUniform or ParameterInit.StandardNormal))
        {
            throw new ArgumentOutOfRangeException(nameof(init), init, "Not a ParameterInit.");
        }
    }

    private static void Fill(BlasBuffer buffer, Random random, ParameterInit init, double bound)
    {
        var values = new float[buffer.Length];
        if (init == ParameterInit.KaimingUniform)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
            }
        }
        else
        {
            for (int i = 0; i < values.Length; i += 2)
            {
                // Box–Muller: two independent N(0, 1) draws from two uniforms; 1 − u keeps the log finite.
                double radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
                double angle = 2 * Math.PI * random.NextDouble();
                values[i] = (float)(radius * Math.Cos(angle));
                if (i + 1 < values.Length)
                {
                    values[i + 1] = (float)(radius * Math.Sin(angle));
                }
            }
        }

        buffer.CopyFrom(values);
    }

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
