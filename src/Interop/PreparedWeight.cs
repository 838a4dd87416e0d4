namespace BlasLinear.Backends;

/// <summary>
/// A weight W made ready by its backend for repeated products Y[m, n] = X[m, k]·op(W) + β·Y
/// (<see cref="BlasBackend.PrepareWeight(BlasBuffer, Transpose, int, int, WeightPrecision)"/>): the backend chooses the form it multiplies fastest and owns
/// it. The result of <c>Multiply</c> depends only on the weight, the input and m, never on earlier
/// calls. While it lives, writes to the weight through <see cref="BlasBuffer.CopyFrom(ReadOnlySpan{float})"/> and
/// <see cref="BlasBuffer.Clear"/> refresh the prepared form and writable views of the weight are refused;
/// <see cref="Dispose()"/> ends both. A form of <see cref="WeightPrecision.BFloat16"/> holds its own rounded
/// copy of the weight and never reads <see cref="Weight"/> to multiply, so the weight buffer may be freed
/// while it lives (a layer that drops its float32 weights); it is then written with <see cref="CopyFromBFloat16"/>.
/// </summary>
public class PreparedWeight : IDisposable
{
    private int _disposed;

    private protected PreparedWeight(BlasBackend backend, BlasBuffer weight, Transpose trans, int n, int k, WeightPrecision precision = WeightPrecision.Float32)
    {
        Backend = backend;
        Weight = weight;
        Trans = trans;
        N = n;
        K = k;
        Precision = precision;
    }

    /// <summary>The backend that owns the prepared form.</summary>
    public BlasBackend Backend { get; }

    /// <summary>The weight it was made from: stored n×k when <see cref="Trans"/> is <see cref="Transpose.Trans"/>, k×n otherwise.</summary>
    public BlasBuffer Weight { get; }

    /// <summary>op(W): whether the product uses the weight transposed.</summary>
    public Transpose Trans { get; }

    /// <summary>Columns of the product (the layer's out_features).</summary>
    public int N { get; }

    /// <summary>The inner dimension (the layer's in_features).</summary>
    public int K { get; }

    /// <summary>The element type the prepared form stores the weight in.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Y[m, n] = X[m, k]·op(W) + β·Y, both row-major and contiguous.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="m"/> is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The prepared weight, its backend or a buffer was disposed.</exception>
    public void Multiply(int m, ReadOnlyBlasSpan x, float beta, BlasSpan y)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        MultiplyCore(m, x, beta, y);
    }

    /// <summary>
    /// Y[m, n] = X[m, k]·op(W) + b, the bias b (n elements) added to every row: a forward with a bias. The same
    /// result as writing b into every row of Y and multiplying with β = 1; on the CPU's kernels the bias is
    /// added as each tile of Y is stored, without that extra pass over Y.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="m"/> is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The prepared weight, its backend or a buffer was disposed.</exception>
    public void Multiply(int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan bias, BlasSpan y)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        BlasArguments.CheckVector(nameof(bias), N, bias.Length, nameof(bias));
        MultiplyWithBiasCore(m, x, bias, y);
    }

    /// <summary>
    /// Writes a bfloat16 form's weight from bfloat16 bits (the upper 16 bits of each float32, as a BF16
    /// safetensors file stores them), laid out as <see cref="Weight"/> is, without a float32 round trip. The
    /// float32 weight is not written: use it only when that buffer is no longer read (it was freed).
    /// </summary>
    /// <exception cref="NotSupportedException">The form is not <see cref="WeightPrecision.BFloat16"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> does not have n·k elements.</exception>
    /// <exception cref="ObjectDisposedException">The prepared weight was disposed.</exception>
    public void CopyFromBFloat16(ReadOnlySpan<ushort> source)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Precision != WeightPrecision.BFloat16)
        {
            throw new NotSupportedException($"This prepared weight is stored as {Precision}; bfloat16 bits can be written only into a WeightPrecision.BFloat16 form.");
        }

        if (source.Length != (long)N * K)
        {
            throw new ArgumentException($"The prepared weight has n={N} × k={K} = {(long)N * K} elements; got {source.Length}.", nameof(source));
        }

        CopyFromBFloat16Core(source);
    }

    /// <summary>Ends the preparation: frees the prepared form and lets the weight be written through views again.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the prepared form owns.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Weight.Detach(this);
        }
    }

    /// <summary>Called after each write to <see cref="Weight"/> through the buffer's own methods.</summary>
    internal virtual void Refresh()
    {
    }

    /// <summary>Writes the bfloat16 form from validated bits (<see cref="CopyFromBFloat16"/>).</summary>
    private protected virtual void CopyFromBFloat16Core(ReadOnlySpan<ushort> source) =>
        throw new NotSupportedException($"{GetType().Name} holds no bfloat16 form.");

    /// <summary>
    /// Y = X·op(W) + β·Y (+ the bias on every row, when not null) on pinned, checked operands, for a form <see cref="BlasBackend"/>'s GEMM cannot
    /// take (<c>BlasBackend.MultiplyPrepared</c> validates and pins, then calls this).
    /// </summary>
    internal virtual unsafe void MultiplyPinned(int m, float* x, float* bias, float beta, float* y) =>
        throw new NotSupportedException($"{GetType().Name} multiplies through the backend's GEMM.");

    /// <summary>The product; the base multiplies by the weight as it is.</summary>
    private protected virtual void MultiplyCore(int m, ReadOnlyBlasSpan x, float beta, BlasSpan y) =>
        Backend.Gemm(Transpose.NoTrans, Trans, m, N, K, 1f, x, K, Weight, Trans == Transpose.Trans ? K : N, beta, y, N);

    /// <summary>The product with a bias; the base writes the bias into every row of Y, then multiplies with β = 1.</summary>
    private protected virtual void MultiplyWithBiasCore(int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan bias, BlasSpan y)
    {
        Backend.BroadcastRows(bias, y, m, N);
        MultiplyCore(m, x, 1f, y);
    }

    internal static PreparedWeight AsItIs(BlasBackend backend, BlasBuffer weight, Transpose trans, int n, int k) =>
        new(backend, weight, trans, n, k);
}
