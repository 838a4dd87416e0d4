using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BlasLinear.Interop.Native;
using static BlasLinear.Interop.Native.Interop.OpenBlas;

namespace BlasLinear.Interop;

/// <summary>
/// OpenBLAS on the host. Host spans are used in place (pinned for the call, never copied); buffers are
/// 64-byte-aligned host memory.
/// </summary>
/// <remarks>
/// OpenBLAS keeps its threads, buffers and settings per process, and Debian's 0.3.21 is not safe when
/// multithreaded GEMMs run concurrently (calls with different transpose flags race, and many callers at
/// once exhaust its buffer table, after which it prints to stdout and aborts). Every call into it is
/// therefore made under one process-wide lock: concurrent callers are safe and queue, and each call
/// still uses all of OpenBLAS's threads.
/// </remarks>
public sealed class OpenBlasBackend : BlasBackend
{
    private static readonly Lock s_gate = new();
    private readonly string _selection;

    private OpenBlasBackend(string selection)
    {
        _selection = selection;
    }

    /// <inheritdoc/>
    public override BackendKind Kind => BackendKind.OpenBlas;

    /// <summary>The number of threads OpenBLAS uses for one call (process-wide).</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public int ThreadCount
    {
        get
        {
            ThrowIfDisposed();
            return openblas_get_num_threads();
        }
    }

    /// <summary>
    /// Sets the number of threads OpenBLAS uses for one call. This is process-wide: it changes every
    /// OpenBLAS backend. <c>OPENBLAS_NUM_THREADS</c> has effect only when set before the process starts;
    /// this is the way to change it afterwards.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public void SetThreadCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ThrowIfDisposed();
        lock (s_gate)
        {
            openblas_set_num_threads(count);
        }
    }

    /// <inheritdoc/>
    public override unsafe BackendDescription Describe()
    {
        ThrowIfDisposed();
        LoadedLibrary library = NativeLibraries.OpenBlas;
        int parallel = openblas_get_parallel();
        return new BackendDescription(Kind,
        [
            new("backend", "OpenBLAS (CPU)"),
            new("library", library.ResolvedPath ?? "?"),
            new("loaded as", library.LoadedFrom ?? "?"),
            new("config", Marshal.PtrToStringUTF8((nint)openblas_get_config())?.Trim() ?? "?"),
            new("core", Marshal.PtrToStringUTF8((nint)openblas_get_corename()) ?? "?"),
            new("threads", openblas_get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("processors", openblas_get_num_procs().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("parallel", parallel switch { 0 => "sequential", 1 => "pthreads", 2 => "OpenMP", _ => parallel.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
            new("concurrency", "calls into OpenBLAS are serialized by one process-wide lock"),
            new("selection", _selection),
            new("load trace", string.Join("; ", library.Trace)),
        ]);
    }

    /// <summary>Loads OpenBLAS or explains, with every attempt, why it cannot.</summary>
    internal static OpenBlasBackend Create(string selection)
    {
        LoadedLibrary library = NativeLibraries.OpenBlas;
        if (!library.IsLoaded)
        {
            throw new BackendUnavailableException(BackendKind.OpenBlas, library.DescribeFailure());
        }

        return new OpenBlasBackend(selection);
    }

    private protected override bool HostSpansAreBackendMemory => true;

    private protected override BlasBuffer AllocateCore(int[] shape, long length) => new HostBuffer(this, shape, length);

    private protected override void SynchronizeCore()
    {
    }

    private protected override unsafe void GemmCore(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, Operand a, int lda, Operand b, int ldb, float beta, Operand c, int ldc)
    {
        lock (s_gate)
        {
            cblas_sgemm(CblasOrder.RowMajor, ToCblas(transA), ToCblas(transB), m, n, k,
                alpha, a.Pointer, lda, b.Pointer, ldb, beta, c.Pointer, ldc);
        }
    }

    private protected override unsafe void GemvCore(
        Transpose trans, int m, int n, float alpha, Operand a, int lda, Operand x, float beta, Operand y)
    {
        if (beta == 0)
        {
            // OpenBLAS scales y by β before the product; clearing first keeps a NaN in y out of the result.
            ScaleCore(y, 1, trans == Transpose.Trans ? n : m, 0, 0);
        }

        lock (s_gate)
        {
            cblas_sgemv(CblasOrder.RowMajor, ToCblas(trans), m, n, alpha, a.Pointer, lda, x.Pointer, 1, beta, y.Pointer, 1);
        }
    }

    private protected override unsafe void ScaleCore(Operand c, int rows, int cols, int ld, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = new Span<float>(c.Pointer + (long)r * ld, cols);
            if (beta == 0)
            {
                row.Clear();
            }
            else
            {
                TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    private protected override unsafe void BroadcastRowsCore(Operand row, Operand destination, int rows, int cols)
    {
        var source = new ReadOnlySpan<float>(row.Pointer, cols);
        for (int r = 0; r < rows; r++)
        {
            source.CopyTo(new Span<float>(destination.Pointer + (long)r * cols, cols));
        }
    }

    private protected override unsafe void AddRowSumsCore(Operand source, int rows, int cols, Operand destination)
    {
        var sums = new Span<float>(destination.Pointer, cols);
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(sums, new ReadOnlySpan<float>(source.Pointer + (long)r * cols, cols), sums);
        }
    }

    private static CblasTranspose ToCblas(Transpose trans) =>
        trans == Transpose.Trans ? CblasTranspose.Trans : CblasTranspose.NoTrans;
}
