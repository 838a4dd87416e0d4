using System.Runtime.InteropServices;

namespace BlasLinear.Backends;

/// <summary>
/// A BLAS that computes on float memory: OpenBLAS on the host or cuBLAS on a GPU. Every method speaks
/// row-major and checks all of its arguments in managed code before any native call; a backend that
/// computes column-major translates inside its own implementation.
/// </summary>
/// <remarks>
/// Operands are <see cref="ReadOnlyBlasSpan"/> and <see cref="BlasSpan"/>: host spans (arrays convert
/// implicitly) or ranges of this backend's <see cref="BlasBuffer"/>s. The OpenBLAS backend computes on
/// host spans in place; a device backend stages host spans through its own memory. Code that chains
/// several operations on host data stages once with <see cref="Stage"/>, <see cref="StageOutput"/>
/// and <see cref="Unstage"/>, which cost nothing on the OpenBLAS backend.
/// </remarks>
public abstract class BlasBackend : IDisposable
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
    /// <exception cref="InvalidOperationException"><c>BLASLINEAR_BACKEND</c> holds an unknown value.</exception>
    public static BlasBackend Default => s_default.Value;

    /// <summary>The BLAS this backend runs on.</summary>
    public abstract BackendKind Kind { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// True when host data must be copied into the backend's memory to be computed on (a device), so
    /// that <see cref="Stage"/> uses the caller's staging buffers; false when host spans are used in place.
    /// </summary>
    public bool StagesHostData => !HostSpansAreBackendMemory;

    /// <summary>
    /// Creates a backend. <see cref="BackendPreference.Auto"/> takes CUDA when a device answers and
    /// OpenBLAS otherwise, and the description of what it took says why.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The backend cannot be used on this machine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="preference"/> is not a defined value.</exception>
    public static BlasBackend Create(BackendPreference preference) => BackendSelector.Create(preference);

    /// <summary>Reads <c>BLASLINEAR_BACKEND</c>: <c>auto</c> (also when unset), <c>cpu</c> or <c>cuda</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable holds another value.</exception>
    public static BackendPreference PreferenceFromEnvironment() =>
        BackendSelector.ParsePreference(Environment.GetEnvironmentVariable(BackendSelector.BackendVariable));

    /// <summary>What this backend runs on: libraries, versions, threads or device, and selection notes.</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public abstract BackendDescription Describe();

    /// <summary>Allocates a zero-filled buffer of the given shape in this backend's memory.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An extent is negative or the total overflows.</exception>
    /// <exception cref="OutOfMemoryException">The memory could not be allocated.</exception>
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
                throw new ArgumentOutOfRangeException(nameof(shape), $"The shape [{string.Join(", ", shape)}] has too many elements.");
            }
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
    public unsafe void Gemm(
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
        CheckOwner(a.Buffer, nameof(a));
        CheckOwner(b.Buffer, nameof(b));
        CheckOwner(c.Buffer, nameof(c));
        if (m == 0 || n == 0)
        {
            return;
        }

        using var leaseA = new Lease(a.Buffer);
        using var leaseB = new Lease(b.Buffer);
        using var leaseC = new Lease(c.Buffer);
        fixed (float* pa = a.Host, pb = b.Host, pc = c.Host)
        {
            Operand oa = new(a, pa), ob = new(b, pb), oc = new(c, pc);
            CheckNoOverlap(oc, "C", oa, "A", nameof(c));
            CheckNoOverlap(oc, "C", ob, "B", nameof(c));
            if (alpha == 0 || k == 0)
            {
                // Managed, not OpenBLAS: its small-matrix kernels let a NaN in A through even for α = 0.
                if (beta != 1)
                {
                    ScaleCore(oc, m, n, ldc, beta);
                }

                return;
            }

            GemmCore(transA, transB, m, n, k, alpha, oa, lda, ob, ldb, beta, oc, ldc);
        }
    }

    /// <summary>
    /// y = α·op(A)·x + β·y with A row-major m×n (lda ≥ max(1, n)); x has n elements (NoTrans) or m
    /// (Trans), y the other count; both contiguous. β = 0 never reads y.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative, lda is too small, or the flag is undefined.</exception>
    /// <exception cref="ArgumentException">An operand is too short, y overlaps A or x, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public unsafe void Gemv(
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
        CheckOwner(a.Buffer, nameof(a));
        CheckOwner(x.Buffer, nameof(x));
        CheckOwner(y.Buffer, nameof(y));
        if (yLength == 0)
        {
            return;
        }

        using var leaseA = new Lease(a.Buffer);
        using var leaseX = new Lease(x.Buffer);
        using var leaseY = new Lease(y.Buffer);
        fixed (float* pa = a.Host, px = x.Host, py = y.Host)
        {
            Operand oa = new(a, pa), ox = new(x, px), oy = new(y, py);
            CheckNoOverlap(oy, "y", oa, "A", nameof(y));
            CheckNoOverlap(oy, "y", ox, "x", nameof(y));
            if (alpha == 0 || xLength == 0)
            {
                if (beta != 1)
                {
                    ScaleCore(oy, 1, yLength, yLength, beta);
                }

                return;
            }

            GemvCore(trans, m, n, alpha, oa, lda, ox, beta, oy);
        }
    }

    /// <summary>Writes <paramref name="row"/> (cols elements) into each of the first rows × cols elements of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public unsafe void BroadcastRows(ReadOnlyBlasSpan row, BlasSpan destination, int rows, int cols)
    {
        ThrowIfDisposed();
        BlasArguments.CheckDimension(rows, nameof(rows));
        BlasArguments.CheckDimension(cols, nameof(cols));
        BlasArguments.CheckVector(nameof(row), cols, row.Length, nameof(row));
        BlasArguments.CheckMatrix(nameof(destination), Transpose.NoTrans, rows, nameof(rows), cols, nameof(cols), Math.Max(1, cols), nameof(cols), destination.Length, nameof(destination));
        CheckOwner(row.Buffer, nameof(row));
        CheckOwner(destination.Buffer, nameof(destination));
        if (rows == 0 || cols == 0)
        {
            return;
        }

        using var leaseRow = new Lease(row.Buffer);
        using var leaseDestination = new Lease(destination.Buffer);
        fixed (float* pr = row.Host, pd = destination.Host)
        {
            Operand or = new(row, pr), od = new(destination, pd);
            CheckNoOverlap(od, nameof(destination), or, nameof(row), nameof(destination));
            BroadcastRowsCore(or, od, rows, cols);
        }
    }

    /// <summary>destination[j] += Σᵢ source[i, j] over a row-major rows × cols source (the bias gradient).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">An operand is too short, they overlap, or a buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or a buffer was disposed.</exception>
    public unsafe void AddRowSums(ReadOnlyBlasSpan source, int rows, int cols, BlasSpan destination)
    {
        ThrowIfDisposed();
        BlasArguments.CheckDimension(rows, nameof(rows));
        BlasArguments.CheckDimension(cols, nameof(cols));
        BlasArguments.CheckMatrix(nameof(source), Transpose.NoTrans, rows, nameof(rows), cols, nameof(cols), Math.Max(1, cols), nameof(cols), source.Length, nameof(source));
        BlasArguments.CheckVector(nameof(destination), cols, destination.Length, nameof(destination));
        CheckOwner(source.Buffer, nameof(source));
        CheckOwner(destination.Buffer, nameof(destination));
        if (rows == 0 || cols == 0)
        {
            return;
        }

        using var leaseSource = new Lease(source.Buffer);
        using var leaseDestination = new Lease(destination.Buffer);
        fixed (float* ps = source.Host, pd = destination.Host)
        {
            Operand os = new(source, ps), od = new(destination, pd);
            CheckNoOverlap(od, nameof(destination), os, nameof(source), nameof(destination));
            AddRowSumsCore(os, rows, cols, od);
        }
    }

    /// <summary>
    /// True when this backend computes X·W, with W stored k×n, faster than X·Bᵀ with the same matrix
    /// stored n×k, for X of m rows: then a layer whose weight is stored n×k (<c>Linear</c>) gains by
    /// keeping a transposed copy of it. False unless the backend's routing says so.
    /// </summary>
    internal virtual bool PrefersTransposedWeight(int m, int n, int k) => false;

    /// <summary>destination[c, r] = source[r, c] for a rows×cols <paramref name="source"/>; both this backend's buffers.</summary>
    internal unsafe void TransposeInto(BlasBuffer source, int rows, int cols, BlasBuffer destination)
    {
        ThrowIfDisposed();
        CheckOwner(source, nameof(source));
        CheckOwner(destination, nameof(destination));
        if (source.Length < (long)rows * cols || destination.Length < (long)rows * cols || ReferenceEquals(source, destination))
        {
            throw new ArgumentException($"Cannot transpose {source.ShapeText} ({rows}×{cols}) into {destination.ShapeText}.", nameof(destination));
        }

        using var leaseSource = new Lease(source);
        using var leaseDestination = new Lease(destination);
        TransposeCore(source.Pointer, rows, cols, destination.Pointer);
    }

    /// <summary>The transpose of <see cref="TransposeInto"/>; only backends that override <see cref="PrefersTransposedWeight"/> are asked.</summary>
    private protected virtual unsafe void TransposeCore(float* source, int rows, int cols, float* destination) =>
        throw new NotSupportedException($"{Kind} keeps no transposed copies.");

    /// <summary>
    /// Makes host data available to this backend: on OpenBLAS the span itself (no copy); on a device,
    /// a copy in <paramref name="staging"/>, which is allocated, or replaced by a larger one, as needed
    /// and belongs to the caller.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="staging"/> belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public ReadOnlyBlasSpan Stage(ReadOnlySpan<float> host, ref BlasBuffer? staging)
    {
        ThrowIfDisposed();
        if (HostSpansAreBackendMemory)
        {
            return host;
        }

        BlasBuffer buffer = EnsureStaging(ref staging, host.Length);
        buffer.CopyPrefixFrom(host);
        return new ReadOnlyBlasSpan(buffer, 0, host.Length);
    }

    /// <summary>
    /// Where to compute a result destined for <paramref name="host"/>: on OpenBLAS the span itself; on a
    /// device, <paramref name="staging"/> (grown as needed), filled from <paramref name="host"/> only when
    /// <paramref name="copyIn"/> is true. Finish with <see cref="Unstage"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="staging"/> belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public BlasSpan StageOutput(Span<float> host, ref BlasBuffer? staging, bool copyIn = false)
    {
        ThrowIfDisposed();
        if (HostSpansAreBackendMemory)
        {
            return host;
        }

        BlasBuffer buffer = EnsureStaging(ref staging, host.Length);
        if (copyIn)
        {
            buffer.CopyPrefixFrom(host);
        }

        return new BlasSpan(buffer, 0, host.Length);
    }

    /// <summary>Copies a staged result back to <paramref name="host"/>; nothing when it is already there.</summary>
    /// <exception cref="ArgumentException">The lengths differ, or the buffer belongs to another backend.</exception>
    /// <exception cref="ObjectDisposedException">The backend or the buffer was disposed.</exception>
    public void Unstage(ReadOnlyBlasSpan staged, Span<float> host)
    {
        ThrowIfDisposed();
        if (staged.Length != host.Length)
        {
            throw new ArgumentException($"The staged result has {staged.Length} elements; the host span has {host.Length}.", nameof(host));
        }

        if (staged.Buffer is null)
        {
            if (!staged.Host.Overlaps(host, out int offset) || offset != 0)
            {
                staged.Host.CopyTo(host);
            }

            return;
        }

        CheckOwner(staged.Buffer, nameof(staged));
        staged.Buffer.CopyRangeTo(staged.Offset, host);
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

    private protected void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ThrowIfUnusable();
    }

    /// <summary>Throws when the backend can no longer compute (a device whose context was lost).</summary>
    private protected virtual void ThrowIfUnusable()
    {
    }

    /// <summary>A buffer for <see cref="Stage"/>; device backends give it a page-locked host mirror.</summary>
    private protected virtual BlasBuffer AllocateStagingCore(long length) => AllocateCore([checked((int)length)], length);

    /// <summary>True when host spans are directly usable by the core operations (no staging).</summary>
    private protected abstract bool HostSpansAreBackendMemory { get; }

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

    private BlasBuffer EnsureStaging(ref BlasBuffer? staging, int length)
    {
        if (staging is not null)
        {
            CheckOwner(staging, nameof(staging));
            if (staging.Length >= length)
            {
                return staging;
            }

            staging.Dispose();
            staging = null;
        }

        staging = AllocateStagingCore(length);
        return staging;
    }

    /// <summary>
    /// One operand in the backend's terms: its address (host or device), whether it is a host span that
    /// a device backend must stage, and its extent for the overlap check.
    /// </summary>
    private protected readonly unsafe struct Operand
    {
        public Operand(ReadOnlyBlasSpan span, float* pinned)
        {
            Length = span.Length;
            IsHostSpan = span.Buffer is null;
            IsHostMemory = span.Buffer?.IsHostAccessible ?? true;
            Pointer = span.Buffer is null ? pinned : span.Buffer.Pointer + span.Offset;
        }

        public Operand(BlasSpan span, float* pinned)
        {
            Length = span.Length;
            IsHostSpan = span.Buffer is null;
            IsHostMemory = span.Buffer?.IsHostAccessible ?? true;
            Pointer = span.Buffer is null ? pinned : span.Buffer.Pointer + span.Offset;
        }

        public float* Pointer { get; }

        public long Length { get; }

        public bool IsHostSpan { get; }

        public bool IsHostMemory { get; }

        public bool Overlaps(Operand other)
        {
            if (Length == 0 || other.Length == 0 || IsHostMemory != other.IsHostMemory)
            {
                return false;
            }

            nuint start = (nuint)Pointer, end = start + (nuint)Length * sizeof(float);
            nuint otherStart = (nuint)other.Pointer, otherEnd = otherStart + (nuint)other.Length * sizeof(float);
            return start < otherEnd && otherStart < end;
        }
    }

    /// <summary>Keeps a buffer's memory alive across a native call, even if it is disposed meanwhile.</summary>
    private readonly ref struct Lease
    {
        private readonly SafeHandle? _memory;

        public Lease(BlasBuffer? buffer)
        {
            if (buffer is null)
            {
                return;
            }

            bool added = false;
            buffer.Memory.DangerousAddRef(ref added);
            _memory = buffer.Memory;
        }

        public void Dispose() => _memory?.DangerousRelease();
    }
}
