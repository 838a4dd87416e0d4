using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>Explicit preparation for inference: the backend's fastest form of the weight, asked for, never inferred.</summary>
public abstract partial class LinearLayer
{
    /// <summary>
    /// Asks the backend for the weight in the form its forward multiplies fastest, and uses it until
    /// <see cref="PrepareForTraining"/>: on the CPU, <c>Linear</c> keeps a transposed copy of its weight
    /// (as large as the weight) and multiplies by it at the batch sizes where that is faster; on CUDA the
    /// weight is used as it is. A second call does nothing.
    /// </summary>
    /// <remarks>
    /// <para>Results depend only on the weights, the input, the batch size and whether the layer is prepared,
    /// never on earlier calls. A prepared and an unprepared layer may differ in the last bits at batch sizes
    /// where the prepared form takes another route (both are within the float32 bound of docs/accuracy.md).</para>
    /// <para>While prepared, <c>Weight.CopyFrom</c>, <c>Weight.Clear</c> and <see cref="ResetParameters(int?)"/>
    /// refresh the prepared weight (on the CPU, one transpose per write), and writable views of the weight
    /// (<c>AsSpan()</c>, <c>Slice</c>, a <c>BlasSpan</c>) are refused with <see cref="InvalidOperationException"/>.
    /// <c>Backward</c> works as before; gradients do not use the prepared form. Training loops that write
    /// the weight every step should stay unprepared and pay for no copy.</para>
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The layer or its backend was disposed.</exception>
    public void PrepareForInference()
    {
        lock (_preparationLock)
        {
            ThrowIfDisposed();
            if (_prepared is null)
            {
                Volatile.Write(ref _prepared, PrepareWeight());
            }
        }
    }

    /// <summary>
    /// Ends <see cref="PrepareForInference"/>: frees the prepared weight, and the weight can be written
    /// through views again. Nothing when the layer is not prepared. Not to be called while calls on the
    /// layer are running.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public void PrepareForTraining()
    {
        lock (_preparationLock)
        {
            ThrowIfDisposed();
            Interlocked.Exchange(ref _prepared, null)?.Dispose();
        }
    }

    /// <summary>The backend's prepared form of this layer's weight for its forward product.</summary>
    private PreparedWeight PrepareWeight() =>
        Backend.PrepareWeight(_weight, LinearGemm.WeightOp(Layout), OutFeatures, InFeatures);
}
