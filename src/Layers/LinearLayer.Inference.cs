using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>Explicit preparation for inference: the backend's fastest form of the weight, asked for, never inferred.</summary>
public abstract partial class LinearLayer
{
    private WeightPrecision _preparedPrecision;
    private int _float32WeightsDropped;

    /// <summary>The element type of the prepared weight while the layer is prepared for inference; null otherwise.</summary>
    public WeightPrecision? PreparedPrecision
    {
        get
        {
            lock (_preparationLock)
            {
                return _prepared is null ? null : _preparedPrecision;
            }
        }
    }

    /// <summary>
    /// True once <see cref="PrepareForInference(WeightPrecision, bool)"/> freed the float32 weight and its
    /// gradient: the layer then only infers, from its bfloat16 weight, until it is disposed.
    /// </summary>
    public bool Float32WeightsDropped => Volatile.Read(ref _float32WeightsDropped) != 0;

    /// <summary>Whether the float32 weight's and gradient's memory was freed (tests look).</summary>
    internal bool Float32MemoryFreed => _weight.IsDisposed && _weightGrad.IsDisposed;

    /// <summary>
    /// Asks the backend for the weight in the form its forward multiplies fastest, and uses it until
    /// <see cref="PrepareForTraining"/>: on the CPU, a copy of the weight in the kernels' panels (as large as
    /// the weight), multiplied by one kernel at every batch size; on CUDA the weight is used as it is. A second call does nothing. The same as
    /// <c>PrepareForInference(WeightPrecision.Float32)</c>.
    /// </summary>
    /// <remarks>
    /// <para>Results depend only on the weights, the input, the batch size and whether the layer is prepared,
    /// never on earlier calls. A prepared and an unprepared layer may differ in the last bits at batch sizes
    /// where the prepared form takes another route (both are within the float32 bound of docs/accuracy.md).</para>
    /// <para>While prepared, <c>Weight.CopyFrom</c>, <c>Weight.Clear</c> and <see cref="ResetParameters(int?)"/>
    /// refresh the prepared weight (on the CPU, one repacking per write), and writable views of the weight
    /// (<c>AsSpan()</c>, <c>Slice</c>, a <c>BlasSpan</c>) are refused with <see cref="InvalidOperationException"/>.
    /// <c>Backward</c> works as before; gradients do not use the prepared form. Training loops that write
    /// the weight every step should stay unprepared and pay for no copy.</para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped (see <see cref="PrepareForInference(WeightPrecision, bool)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void PrepareForInference() => PrepareForInference(WeightPrecision.Float32, dropFloat32Weights: false);

    /// <summary>
    /// <see cref="PrepareForInference()"/> with the element type of the prepared weight:
    /// <see cref="WeightPrecision.Float32"/> as that overload, or <see cref="WeightPrecision.BFloat16"/> (CPU
    /// backend) for a copy of the weight rounded to bfloat16, half the bytes, which the forward reads and
    /// widens exactly to float32 in registers: inputs, products, sums and outputs stay float32, and the only
    /// change to the result is the rounding of each weight (relative 2⁻⁹ at most; docs/accuracy.md). It pays
    /// where a forward is bound by reading the weight: one row (about 1.9× the float32 form on the machine
    /// measured), and a few rows of a weight too large for the caches (1.7–1.9× at 8 rows of 4096→4096);
    /// where the arithmetic bounds the forward it runs within a few percent of float32 (README, bfloat16 weights).
    /// </summary>
    /// <remarks>
    /// <para>A layer prepared with another precision is prepared again with this one. While prepared with
    /// <see cref="WeightPrecision.BFloat16"/>, writes to the weight (<c>Weight.CopyFrom</c>, <c>Weight.Clear</c>,
    /// <see cref="ResetParameters(int?)"/>, <c>LoadStateDict</c>) round it again, and <c>Backward</c> is
    /// refused: its gradients would be those of other weights than the forward used. Call
    /// <see cref="PrepareForTraining"/> first.</para>
    /// </remarks>
    /// <param name="precision">The element type of the prepared weight.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="precision"/> is not a defined value.</exception>
    /// <exception cref="NotSupportedException">The backend has no weights of that precision (CUDA and bfloat16; the message says why).</exception>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped and <paramref name="precision"/> is Float32.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void PrepareForInference(WeightPrecision precision) => PrepareForInference(precision, dropFloat32Weights: false);

    /// <summary>
    /// <see cref="PrepareForInference(WeightPrecision)"/>, and with <paramref name="dropFloat32Weights"/> and
    /// <see cref="WeightPrecision.BFloat16"/>, frees the float32 weight and its gradient afterwards, for an
    /// inference-only layer in about a quarter of the memory of an unprepared one (2 bytes per weight instead
    /// of 8). This cannot be undone: from then on <see cref="Weight"/>, <see cref="WeightGrad"/>,
    /// <c>Backward</c>, <see cref="ZeroGrad"/>, <see cref="ResetParameters(int?)"/>, <see cref="PrepareForTraining"/>
    /// and <c>StateDict</c> throw <see cref="InvalidOperationException"/> saying so, while <c>Forward</c> and
    /// <c>LoadStateDict</c> work (a BF16 file's weight is copied bit for bit, other types are rounded).
    /// </summary>
    /// <param name="precision">The element type of the prepared weight.</param>
    /// <param name="dropFloat32Weights">Free the float32 weight and its gradient (bfloat16 only).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="precision"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException"><paramref name="dropFloat32Weights"/> with <see cref="WeightPrecision.Float32"/>: the prepared form would have nothing to read.</exception>
    /// <exception cref="NotSupportedException">The backend has no weights of that precision (CUDA and bfloat16; the message says why).</exception>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped and <paramref name="precision"/> is Float32.</exception>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void PrepareForInference(WeightPrecision precision, bool dropFloat32Weights)
    {
        if (precision is not (WeightPrecision.Float32 or WeightPrecision.BFloat16))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Not a WeightPrecision.");
        }

        if (dropFloat32Weights && precision != WeightPrecision.BFloat16)
        {
            throw new ArgumentException(
                "dropFloat32Weights needs WeightPrecision.BFloat16: a float32 prepared weight reads the float32 weight it would free.",
                nameof(dropFloat32Weights));
        }

        lock (_preparationLock)
        {
            ThrowIfDisposed();
            if (Float32WeightsDropped)
            {
                if (precision != WeightPrecision.BFloat16)
                {
                    throw DroppedException($"prepare it as {precision}");
                }

                return;
            }

            if (_prepared is null || _preparedPrecision != precision)
            {
                Reprepare(precision);
            }

            if (dropFloat32Weights)
            {
                // The bfloat16 form holds its own copy and never reads the float32 weight again.
                Volatile.Write(ref _float32WeightsDropped, 1);
                _weight.Dispose();
                _weightGrad.Dispose();
            }
        }
    }

    /// <summary>
    /// Ends <see cref="PrepareForInference()"/>: frees the prepared weight, and the weight can be written
    /// through views again. Nothing when the layer is not prepared. Not to be called while calls on the
    /// layer are running.
    /// </summary>
    /// <exception cref="InvalidOperationException">The float32 weights were dropped: there is nothing to train.</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void PrepareForTraining()
    {
        lock (_preparationLock)
        {
            ThrowIfDisposed();
            if (Float32WeightsDropped)
            {
                throw DroppedException("prepare it for training");
            }

            Interlocked.Exchange(ref _prepared, null)?.Dispose();
        }
    }

    /// <summary>Replaces the prepared weight by one of <paramref name="precision"/>; on failure the earlier one is made again.</summary>
    private void Reprepare(WeightPrecision precision)
    {
        PreparedWeight? previous = Interlocked.Exchange(ref _prepared, null);
        previous?.Dispose();
        try
        {
            Volatile.Write(ref _prepared, PrepareWeight(precision));
            _preparedPrecision = precision;
        }
        catch
        {
            if (previous is not null)
            {
                Volatile.Write(ref _prepared, PrepareWeight(_preparedPrecision));
            }

            throw;
        }
    }

    /// <summary>The backend's prepared form of this layer's weight for its forward product.</summary>
    private PreparedWeight PrepareWeight(WeightPrecision precision) =>
        Backend.PrepareWeight(_weight, LinearGemm.WeightOp(Layout), OutFeatures, InFeatures, precision);

    /// <summary>Refuses a call that trains or reads the float32 weight, when the layer cannot.</summary>
    /// <exception cref="InvalidOperationException">The layer is prepared with bfloat16 weights or dropped its float32 weights.</exception>
    private void ThrowIfCannotTrain(string call)
    {
        if (Float32WeightsDropped)
        {
            throw DroppedException(call);
        }

        if (Volatile.Read(ref _prepared) is { Precision: WeightPrecision.BFloat16 })
        {
            throw new InvalidOperationException(
                $"Cannot {call} {this}: it is prepared for inference with bfloat16 weights, and its gradients would be those of the "
                + "float32 weights, not of the rounded ones its forward used. Call PrepareForTraining() first.");
        }
    }

    private InvalidOperationException DroppedException(string call) => new(
        $"Cannot {call} {this}: its float32 weight and weight gradient were freed by PrepareForInference(WeightPrecision.BFloat16, "
        + "dropFloat32Weights: true), and it keeps only the bfloat16 weight for inference. To train or read float32 weights, "
        + "create a layer and load the state dict into it.");
}
