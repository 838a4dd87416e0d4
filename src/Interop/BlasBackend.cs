namespace BlasLinear.Backends;

/// <summary>
/// A BLAS that computes on float memory: OpenBLAS on the host or cuBLAS on a GPU. Every method speaks
/// row-major and checks all of its arguments in managed code before any native call; a backend that
/// computes column-major translates inside its own implementation.
/// </summary>
/// <remarks>
/// Operands are <see cref="ReadOnlyBlasSpan"/> and <see cref="BlasSpan"/>: host spans (arrays convert
/// implicitly) or ranges of this backend's <see cref="BlasBuffer"/>s. The CPU backend computes on host
/// spans in place; a device backend stages host spans through its own memory. Code that chains several
/// operations on host data stages once through a <see cref="HostStaging"/> from
/// <see cref="CreateHostStaging"/>, which costs nothing on the CPU.
/// </remarks>
public abstract partial class BlasBackend : IDisposable
{
    private static readonly Lazy<BlasBackend> s_default = new(CreateDefault);
    private bool _isShared;
    private int _disposed;

    private protected BlasBackend()
    {
    }

    /// <summary>
    /// The process-wide backend that layers use when none is given: chosen once, on first use, from
    /// <c>BLASLINEAR_BACKEND</c> (<c>auto</c>, <c>cpu</c> or <c>cuda</c>; <c>auto</c> when unset).
    /// Disposing it does nothing.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The chosen backend cannot be used here.</exception>
    /// <exception cref="InvalidOperationException"><c>BLASLINEAR_BACKEND</c>, or for the CPU backend <c>BLASLINEAR_CPU_ROUTES</c> or <c>BLASLINEAR_KERNELS_ISA</c>, holds an unknown value.</exception>
    public static BlasBackend Default => s_default.Value;

    /// <summary>The most floats one buffer can hold: its byte size must fit in a signed 64-bit count.</summary>
    public const long MaxBufferLength = long.MaxValue / sizeof(float);

    /// <summary>The BLAS this backend runs on.</summary>
    public abstract BackendKind Kind { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Creates a backend. <see cref="BackendPreference.Auto"/> takes CUDA when a device answers and
    /// OpenBLAS otherwise, and the description of what it took says why.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The backend cannot be used on this machine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="preference"/> is not a defined value.</exception>
    /// <exception cref="InvalidOperationException">For the CPU backend, <c>BLASLINEAR_CPU_ROUTES</c> or <c>BLASLINEAR_KERNELS_ISA</c> holds an unknown value.</exception>
    public static BlasBackend Create(BackendPreference preference) => BackendSelector.Create(preference);

    /// <summary>Reads <c>BLASLINEAR_BACKEND</c>: <c>auto</c> (also when unset), <c>cpu</c> or <c>cuda</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable holds another value.</exception>
    public static BackendPreference PreferenceFromEnvironment() =>
        Settings.Read(Settings.Backend, BackendSelector.Choices);

    /// <summary>What this backend runs on: libraries, versions, threads or device, and selection notes.</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public abstract BackendDescription Describe();

    /// <summary>Allocates a zero-filled buffer of the given shape in this backend's memory.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An extent is negative, or the buffer would hold more than <see cref="MaxBufferLength"/> floats.</exception>
    /// <exception cref="OutOfMemoryException">
    /// The memory is not there: on the host, more than the process can get (the least of <c>MemAvailable</c> and its
    /// control groups' limits, compared before allocating), on a device more than is free; the message gives both sizes.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public BlasBuffer Allocate(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        long length = 1;
        foreach (int extent in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(extent, nameof(shape));
            try
            {
                length = checked(length * extent);
            }
            catch (OverflowException)
            {
                length = long.MaxValue;
            }
        }

        if (length > MaxBufferLength)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"The shape [{string.Join(", ", shape)}] has more than {MaxBufferLength} elements, the most one buffer can hold.");
        }

        return AllocateCore((int[])shape.Clone(), length);
    }

    /// <summary>
    /// C = α·op(A)·op(B) + β·C on row-major matrices: op(A) is m×k, op(B) k×n, C m×n. A is stored
    /// m×k (NoTrans) or k×m (Trans) with leading dimension lda ≥ max(1, stored columns); likewise B and
    /// C (ldc ≥ max(1, n)). β = 0 never reads C; α = 0 or k = 0 gives C = β·C exactly without reading A
    /// or B; m·n = 0 makes no native call and leaves C untouched.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative, a leading dimension is too small, or a flag is undefined.</exception>
    /// <exception cref="ArgumentException">An operand is too short, C overlaps A or B, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public void Gemm(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, ReadOnlyBlasSpan a, int lda, ReadOnlyBlasSpan b, int ldb,
        float beta, BlasSpan c, int ldc)
    {
        ThrowIfDisposed();
        CheckTranspose(transA, nameof(transA));
        CheckTranspose(transB, nameof(transB));
        BlasArguments.CheckDimension(m, nameof(m));
        BlasArguments.CheckDimension(n, nameof(n));
        BlasArguments.CheckDimension(k, nameof(k));
        bool ta = transA == Transpose.Trans, tb = transB == Transpose.Trans;
        BlasArguments.CheckMatrix("A", transA, ta ? k : m, ta ? "k" : "m", ta ? m : k, ta ? "m" : "k", lda, nameof(lda), a.Length, nameof(a));
        BlasArguments.CheckMatrix("B", transB, tb ? n : k, tb ? "n" : "k", tb ? k : n, tb ? "k" : "n", ldb, nameof(ldb), b.Length, nameof(b));
        BlasArguments.CheckMatrix("C", Transpose.NoTrans, m, nameof(m), n, nameof(n), ldc, nameof(ldc), c.Length, nameof(c));
        var operation = new GemmOperation(transA, transB, m, n, k, alpha, lda, ldb, beta, ldc);
        Run(ref operation, new(a, nameof(a), "A"), new(b, nameof(b), "B"), new(c, nameof(c), "C"), empty: m == 0 || n == 0);
    }

    /// <summary>
    /// Y[m, n] = X[m, k]·op(W) + β·Y for a prepared form this backend's GEMM cannot take (a bfloat16 weight):
    /// the operands are checked, leased and pinned here, then <see cref="PreparedWeight.MultiplyPinned"/> runs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="m"/> is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    internal void MultiplyPrepared(PreparedWeight weight, int m, ReadOnlyBlasSpan x, float beta, BlasSpan y)
    {
        CheckPrepared(weight, m, x, y);
        var operation = new PreparedOperation(weight, m, beta);
        Run(ref operation, new(x, nameof(x), "X"), default, new(y, nameof(y), "Y"), empty: m == 0);
    }

    /// <summary>Y = X·op(W) + bias on every row, through <see cref="PreparedWeight.MultiplyPinned"/>: validates, pins, calls.</summary>
    internal void MultiplyPrepared(PreparedWeight weight, int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan bias, BlasSpan y)
    {
        CheckPrepared(weight, m, x, y);
        BlasArguments.CheckVector(nameof(bias), weight.N, bias.Length, nameof(bias));
        var operation = new PreparedWithBiasOperation(weight, m);
        Run(ref operation, new(x, nameof(x), "X"), new(bias, nameof(bias), nameof(bias)), new(y, nameof(y), "Y"), empty: m == 0);
    }

    /// <summary>The checks of both <see cref="MultiplyPrepared(PreparedWeight, int, ReadOnlyBlasSpan, float, BlasSpan)"/> forms: X [m, k] and Y [m, n].</summary>
    private void CheckPrepared(PreparedWeight weight, int m, ReadOnlyBlasSpan x, BlasSpan y)
    {
        ThrowIfDisposed();
        BlasArguments.CheckDimension(m, nameof(m));
        BlasArguments.CheckMatrix("X", Transpose.NoTrans, m, nameof(m), weight.K, "k", weight.K, "k", x.Length, nameof(x));
        BlasArguments.CheckMatrix("Y", Transpose.NoTrans, m, nameof(m), weight.N, "n", weight.N, "n", y.Length, nameof(y));
    }

    /// <summary>
    /// y = α·op(A)·x + β·y with A row-major m×n (lda ≥ max(1, n)); x has n elements (NoTrans) or m
    /// (Trans), y the other count; both contiguous. β = 0 never reads y.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative, lda is too small, or the flag is undefined.</exception>
    /// <exception cref="ArgumentException">An operand is too short, y overlaps A or x, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public void Gemv(
        Transpose trans, int m, int n, float alpha, ReadOnlyBlasSpan a, int lda, ReadOnlyBlasSpan x,
        float beta, BlasSpan y)
    {
        ThrowIfDisposed();
        CheckTranspose(trans, nameof(trans));
        BlasArguments.CheckDimension(m, nameof(m));
        BlasArguments.CheckDimension(n, nameof(n));
        bool t = trans == Transpose.Trans;
        BlasArguments.CheckMatrix("A", Transpose.NoTrans, m, nameof(m), n, nameof(n), lda, nameof(lda), a.Length, nameof(a));
        int xLength = t ? m : n, yLength = t ? n : m;
        BlasArguments.CheckVector("x", xLength, x.Length, nameof(x));
        BlasArguments.CheckVector("y", yLength, y.Length, nameof(y));
        var operation = new GemvOperation(trans, m, n, alpha, lda, beta, xLength, yLength);
        Run(ref operation, new(a, nameof(a), "A"), new(x, nameof(x), "x"), new(y, nameof(y), "y"), empty: yLength == 0);
    }

    /// <summary>Writes <paramref name="row"/> (cols elements) into each of the first rows × cols elements of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public void BroadcastRows(ReadOnlyBlasSpan row, BlasSpan destination, int rows, int cols)
    {
        ThrowIfDisposed();
        BlasArguments.CheckDimension(rows, nameof(rows));
        BlasArguments.CheckDimension(cols, nameof(cols));
        BlasArguments.CheckVector(nameof(row), cols, row.Length, nameof(row));
        BlasArguments.CheckMatrix(nameof(destination), Transpose.NoTrans, rows, nameof(rows), cols, nameof(cols), Math.Max(1, cols), nameof(cols), destination.Length, nameof(destination));
        var operation = new BroadcastRowsOperation(rows, cols);
        Run(ref operation, new(row, nameof(row), nameof(row)), default, new(destination, nameof(destination), nameof(destination)), empty: rows == 0 || cols == 0);
    }

    /// <summary>destination[j] += Σᵢ source[i, j] over a row-major rows × cols source (the bias gradient).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public void AddRowSums(ReadOnlyBlasSpan source, int rows, int cols, BlasSpan destination)
    {
        ThrowIfDisposed();
        BlasArguments.CheckDimension(rows, nameof(rows));
        BlasArguments.CheckDimension(cols, nameof(cols));
        BlasArguments.CheckMatrix(nameof(source), Transpose.NoTrans, rows, nameof(rows), cols, nameof(cols), Math.Max(1, cols), nameof(cols), source.Length, nameof(source));
        BlasArguments.CheckVector(nameof(destination), cols, destination.Length, nameof(destination));
        var operation = new AddRowSumsOperation(rows, cols);
        Run(ref operation, new(source, nameof(source), nameof(source)), default, new(destination, nameof(destination), nameof(destination)), empty: rows == 0 || cols == 0);
    }

    /// <summary>
    /// Prepares <paramref name="weight"/> for repeated products Y[m, n] = X[m, k]·op(W) + β·Y, in the form
    /// this backend multiplies fastest (on the CPU with its kernels a copy in their panels, one kernel at
    /// every batch; without them a transposed copy where oneDNN computes X·W faster than X·Wᵀ; on a device
    /// the weight as it is). W is stored n×k when <paramref name="trans"/> is
    /// <see cref="Transpose.Trans"/> (<c>Linear</c>), k×n otherwise. While prepared, a write to the weight
    /// through <see cref="BlasBuffer.CopyFrom(ReadOnlySpan{float})"/> or <see cref="BlasBuffer.Clear"/> refreshes the prepared
    /// form, and writable views of it are refused; dispose the prepared weight to end that.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is less than 1 or the flag is undefined.</exception>
    /// <exception cref="ArgumentException">The weight is not n×k elements or belongs to another backend.</exception>
    /// <exception cref="InvalidOperationException">The weight is already prepared.</exception>
    /// <exception cref="ObjectDisposedException">The backend or the weight was disposed.</exception>
    public PreparedWeight PrepareWeight(BlasBuffer weight, Transpose trans, int n, int k) =>
        PrepareWeight(weight, trans, n, k, WeightPrecision.Float32);

    /// <summary>
    /// <see cref="PrepareWeight(BlasBuffer, Transpose, int, int)"/> with the element type of the prepared form:
    /// <see cref="WeightPrecision.Float32"/> as that overload, or <see cref="WeightPrecision.BFloat16"/> for a
    /// copy rounded to bfloat16 (CPU backend), multiplied in float32 after an exact widening of each element.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is less than 1 or a flag is undefined.</exception>
    /// <exception cref="ArgumentException">The weight is not n×k elements or belongs to another backend.</exception>
    /// <exception cref="InvalidOperationException">The weight is already prepared.</exception>
    /// <exception cref="NotSupportedException">This backend has no form of that precision (CUDA and bfloat16; the message says why).</exception>
    /// <exception cref="ObjectDisposedException">The backend or the weight was disposed.</exception>
    public PreparedWeight PrepareWeight(BlasBuffer weight, Transpose trans, int n, int k, WeightPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ThrowIfDisposed();
        CheckTranspose(trans, nameof(trans));
        if (precision is not (WeightPrecision.Float32 or WeightPrecision.BFloat16))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Not a WeightPrecision.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        CheckOwner(weight, nameof(weight));
        if (weight.Length != (long)n * k)
        {
            throw new ArgumentException($"The weight {weight.ShapeText} has {weight.Length} elements; n={n} × k={k} needs {(long)n * k}.", nameof(weight));
        }

        PreparedWeight prepared = precision == WeightPrecision.BFloat16
            ? PrepareBFloat16Core(weight, trans, n, k)
            : PrepareWeightCore(weight, trans, n, k);
        try
        {
            weight.Attach(prepared);
        }
        catch
        {
            prepared.Dispose();
            throw;
        }

        return prepared;
    }

    /// <summary>
    /// A staging object for host data: nothing on the CPU, page-locked buffers on a device. Each owner
    /// (a layer) makes its own and disposes it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public HostStaging CreateHostStaging()
    {
        ThrowIfDisposed();
        return CreateHostStagingCore();
    }

    /// <summary>Waits until all work this backend queued has finished; nothing on OpenBLAS.</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public void Synchronize()
    {
        ThrowIfDisposed();
        SynchronizeCore();
    }

    /// <summary>Releases the backend. The <see cref="Default"/> backend ignores this.</summary>
    public void Dispose()
    {
        if (_isShared || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the backend owns.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    internal void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ThrowIfUnusable();
    }

    /// <summary>Throws when the backend can no longer compute (a device whose context was lost).</summary>
    private protected virtual void ThrowIfUnusable()
    {
    }

    private protected abstract HostStaging CreateHostStagingCore();

    /// <summary>
    /// Y = X·op(W) + bias on every row for a prepared form, on checked, leased and pinned operands; the base hands
    /// the pointers to <see cref="PreparedWeight.MultiplyPinned"/> (host memory: the CPU's forms).
    /// </summary>
    private protected virtual unsafe void MultiplyPreparedWithBiasCore(PreparedWeight weight, int m, Operand x, Operand bias, Operand y) =>
        weight.MultiplyPinned(m, x.Pointer, bias.Pointer, 0f, y.Pointer);

    /// <summary>The prepared form of a validated weight; the base multiplies by the weight as it is.</summary>
    private protected virtual PreparedWeight PrepareWeightCore(BlasBuffer weight, Transpose trans, int n, int k) =>
        PreparedWeight.AsItIs(this, weight, trans, n, k);

    /// <summary>The bfloat16 form of a validated weight; the base has none.</summary>
    /// <exception cref="NotSupportedException">Always, unless a backend overrides it.</exception>
    private protected virtual PreparedWeight PrepareBFloat16Core(BlasBuffer weight, Transpose trans, int n, int k) =>
        throw new NotSupportedException($"The {Kind} backend has no bfloat16 weights.");

    private protected abstract BlasBuffer AllocateCore(int[] shape, long length);

    private protected abstract void SynchronizeCore();

    private protected abstract void GemmCore(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, Operand a, int lda, Operand b, int ldb, float beta, Operand c, int ldc);

    private protected abstract void GemvCore(
        Transpose trans, int m, int n, float alpha, Operand a, int lda, Operand x, float beta, Operand y);

    /// <summary>C = β·C on rows × cols with leading dimension ld; β = 0 writes zeros without reading.</summary>
    private protected abstract void ScaleCore(Operand c, int rows, int cols, int ld, float beta);

    private protected abstract void BroadcastRowsCore(Operand row, Operand destination, int rows, int cols);

    private protected abstract void AddRowSumsCore(Operand source, int rows, int cols, Operand destination);

    private static BlasBackend CreateDefault()
    {
        BlasBackend backend = Create(PreferenceFromEnvironment());
        backend._isShared = true;
        return backend;
    }

    private static void CheckTranspose(Transpose value, string name)
    {
        if (value is not (Transpose.NoTrans or Transpose.Trans))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be NoTrans or Trans.");
        }
    }

    private void CheckOwner(BlasBuffer? buffer, string name)
    {
        if (buffer is null)
        {
            return;
        }

        if (!ReferenceEquals(buffer.Backend, this))
        {
            BlasArguments.ThrowForeignBuffer(name, buffer, this);
        }

        buffer.ThrowIfDisposed();
    }

    private static void CheckNoOverlap(Operand output, string outputName, Operand input, string inputName, string paramName)
    {
        if (output.Overlaps(input))
        {
            BlasArguments.ThrowOverlap(outputName, inputName, paramName);
        }
    }

    /// <summary>
    /// The one sequence every operation runs after its own argument checks: each buffer belongs to this
    /// backend and is live, its memory is leased for the call (a concurrent Dispose frees it only after),
    /// host spans are pinned, and the output overlaps neither input; then the operation's core runs.
    /// </summary>
    private unsafe void Run<TOperation>(ref TOperation operation, Argument first, Argument second, OutputArgument output, bool empty)
        where TOperation : struct, IOperation
    {
        CheckOwner(first.Span.Buffer, first.Parameter);
        CheckOwner(second.Span.Buffer, second.Parameter);
        CheckOwner(output.Span.Buffer, output.Parameter);
        if (empty)
        {
            return;
        }

        using var leaseFirst = new Lease(first.Span.Buffer);
        using var leaseSecond = new Lease(second.Span.Buffer);
        using var leaseOutput = new Lease(output.Span.Buffer);
        fixed (float* p1 = first.Span.Host, p2 = second.Span.Host, p3 = output.Span.Host)
        {
            Operand o1 = new(first.Span, p1), o2 = new(second.Span, p2), o3 = new(output.Span, p3);
            CheckNoOverlap(o3, output.Name, o1, first.Name, output.Parameter);
            CheckNoOverlap(o3, output.Name, o2, second.Name, output.Parameter);
            operation.Run(this, o1, o2, o3);
        }
    }
}
