using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>
/// The CPU backend: OpenBLAS on the host, with BlasLinear's own small-batch kernels and, where it is
/// installed, oneDNN, each product routed to the fastest of them (<see cref="CpuRouting"/>). Host spans
/// are used in place (pinned for the call, never copied); buffers are 64-byte-aligned host memory.
/// </summary>
/// <remarks>
/// OpenBLAS keeps its threads, buffers and settings per process, and Debian's 0.3.21 is not safe for
/// every concurrent use; every call into any CPU provider passes a process-wide gate (see
/// <see cref="CpuGate"/>): one call at a time while calls are multithreaded, up to one single-threaded
/// call per core otherwise, so that OpenBLAS's threads and OpenMP's never compete for the cores.
/// </remarks>
public sealed partial class CpuBackend : BlasBackend
{
    /// <summary>The environment variable that sets <see cref="Routing"/> for backends created without one.</summary>
    public const string RoutingVariable = Settings.CpuRouting;

    private readonly string _selection;
    private readonly CpuRouter _router;

    private CpuBackend(string selection, CpuRouter router)
    {
        _selection = selection;
        _router = router;
    }

    /// <summary>Which providers compute this backend's products.</summary>
    public CpuRouting Routing => _router.Table.Requested;

    /// <summary>
    /// The instruction set BlasLinear's kernels run with in this backend (<see cref="CpuKernelIsa.Avx512"/> or
    /// <see cref="CpuKernelIsa.Avx2"/>, never <see cref="CpuKernelIsa.Auto"/>), and the route table measured
    /// for it; null when the kernels are not loaded or this CPU runs neither path.
    /// </summary>
    public CpuKernelIsa? KernelIsa => _router.Providers.KernelIsa;

    /// <inheritdoc/>
    public override BackendKind Kind => BackendKind.Cpu;

    /// <summary>The number of threads OpenBLAS uses for one call (process-wide).</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public int ThreadCount
    {
        get
        {
            ThrowIfDisposed();
            return CpuGate.Threads;
        }
    }

    /// <summary>
    /// Sets the number of threads every CPU provider uses for one call. This is process-wide: it changes
    /// every CPU backend, and it waits until no call is inside a provider. With one thread, up to one call
    /// per core runs at once; with more, one call at a time. <c>OPENBLAS_NUM_THREADS</c> has effect only when
    /// set before the process starts; this is the way to change it afterwards.
    /// </summary>
    /// <remarks>
    /// At most <see cref="Environment.ProcessorCount"/>: a call split over more threads than processors
    /// only waits for them (64 threads on 2 cores made a batch-1 forward 14 times slower), and OpenBLAS
    /// would keep the extra threads for the life of the process. Larger values are refused, not clamped, so
    /// that a mistaken setting is seen.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1 or more than the processors this process may use.</exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public void SetThreadCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count > Environment.ProcessorCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"At most {Environment.ProcessorCount} threads, one per processor this process may use: more only slow each call down and stay behind as idle threads.");
        }

        ThrowIfDisposed();
        CpuGate.SetThreads(count);
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
            new("threads", CpuGate.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("processors", openblas_get_num_procs().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("parallel", parallel switch { 0 => "sequential", 1 => "pthreads", 2 => "OpenMP", _ => parallel.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
            new("concurrency", CpuGate.Threads > 1
                ? "one call inside the CPU providers at a time (they are multithreaded); concurrent callers queue"
                : $"up to {CpuGate.Width} single-threaded calls inside the CPU providers at once (one per core)"),
            new("kernels", _router.Providers.KernelsNote),
            new("oneDNN", _router.Providers.OneDnnNote),
            new("routing", _router.Table.Describe()),
            new("selection", _selection),
            new("load trace", string.Join("; ", library.Trace)),
        ]);
    }

    /// <summary>
    /// Creates a CPU backend whose products take <paramref name="routes"/>: <see cref="CpuRouting.Auto"/>
    /// for the fastest, or one provider pinned to measure it or rule it out.
    /// </summary>
    /// <remarks>The kernels run on the path <c>BLASLINEAR_KERNELS_ISA</c> says (<see cref="KernelIsaVariable"/>), the widest this CPU runs when it is unset.</remarks>
    /// <exception cref="BackendUnavailableException">OpenBLAS, the pinned provider, or the kernels path <c>BLASLINEAR_KERNELS_ISA</c> forces cannot be used here; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="routes"/> is not a defined value.</exception>
    /// <exception cref="InvalidOperationException"><c>BLASLINEAR_KERNELS_ISA</c> holds none of its values.</exception>
    public static CpuBackend Create(CpuRouting routes)
    {
        ThrowIfUndefined(routes);
        return Create("cpu asked for", routes);
    }

    /// <summary>
    /// Creates a CPU backend whose products take <paramref name="routes"/> and whose kernels run on
    /// <paramref name="isa"/>, whatever <c>BLASLINEAR_KERNELS_ISA</c> says: <see cref="CpuKernelIsa.Auto"/> for
    /// the widest path this CPU runs, or one path forced (the AVX2 one runs on an AVX-512 CPU too).
    /// </summary>
    /// <exception cref="BackendUnavailableException">OpenBLAS or the pinned provider cannot be used here, or
    /// <paramref name="isa"/> forces a path this CPU lacks or the kernels are not loaded; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="routes"/> or <paramref name="isa"/> is not a defined value.</exception>
    public static CpuBackend Create(CpuRouting routes, CpuKernelIsa isa)
    {
        ThrowIfUndefined(routes);
        if (isa is not (CpuKernelIsa.Auto or CpuKernelIsa.Avx512 or CpuKernelIsa.Avx2))
        {
            throw new ArgumentOutOfRangeException(nameof(isa), isa, "Not a CpuKernelIsa.");
        }

        return Create("cpu asked for", routes, isa);
    }

    private static void ThrowIfUndefined(CpuRouting routes)
    {
        if (routes is not (CpuRouting.Auto or CpuRouting.OpenBlas or CpuRouting.Kernels or CpuRouting.OneDnn))
        {
            throw new ArgumentOutOfRangeException(nameof(routes), routes, "Not a CpuRouting.");
        }
    }

    /// <summary>Reads <c>BLASLINEAR_CPU_ROUTES</c>: <c>auto</c> (also when unset), <c>openblas</c>, <c>kernels</c> or <c>onednn</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable holds another value.</exception>
    public static CpuRouting RoutingFromEnvironment() => Settings.Read(Settings.CpuRouting, RoutingChoices);

    /// <summary>
    /// Reads a routing name as <c>BLASLINEAR_CPU_ROUTES</c> takes it: <c>auto</c> (also null or empty),
    /// <c>openblas</c>, <c>kernels</c> or <c>onednn</c>, in any case, surrounding spaces ignored.
    /// </summary>
    /// <returns>False, with <see cref="CpuRouting.Auto"/>, when <paramref name="value"/> is none of them.</returns>
    public static bool TryParseRouting(string? value, out CpuRouting routing) => Settings.TryParse(value, RoutingChoices, out routing);

    internal static CpuRouting ParseRouting(string? value) => Settings.Parse(Settings.CpuRouting, value, RoutingChoices);

    /// <summary>The values of <c>BLASLINEAR_CPU_ROUTES</c>; the first is the default.</summary>
    private static ReadOnlySpan<(string Name, CpuRouting Value)> RoutingChoices => s_routingChoices;

    private static readonly (string, CpuRouting)[] s_routingChoices =
        [("auto", CpuRouting.Auto), ("openblas", CpuRouting.OpenBlas), ("kernels", CpuRouting.Kernels), ("onednn", CpuRouting.OneDnn)];

    /// <summary>
    /// Loads OpenBLAS and finds the other providers, or explains, with every attempt, why it cannot. Null
    /// <paramref name="routes"/> or <paramref name="isa"/> is read from its environment variable.
    /// </summary>
    internal static CpuBackend Create(string selection, CpuRouting? routes = null, CpuKernelIsa? isa = null)
    {
        LoadedLibrary library = NativeLibraries.OpenBlas;
        if (!library.IsLoaded)
        {
            throw new BackendUnavailableException(BackendKind.Cpu, library.DescribeFailure());
        }

        CpuRouting routing = routes ?? RoutingFromEnvironment();
        string? forcedBy = null;
        if (isa is null)
        {
            string? value = Environment.GetEnvironmentVariable(Settings.KernelsIsa);
            isa = ParseKernelIsa(value);
            forcedBy = isa == CpuKernelIsa.Auto ? null : $"{Settings.KernelsIsa}={value!.Trim()}";
        }
        else if (isa != CpuKernelIsa.Auto)
        {
            forcedBy = $"CpuKernelIsa.{isa}";
        }

        return new CpuBackend(selection, CpuRouter.Create(routing, isa.Value, forcedBy));
    }

    /// <summary>The route table in force (tests check which ISA's limits it has).</summary>
    internal CpuRouteTable RouteTable => _router.Table;

    /// <summary>The route this backend takes for a product of this shape (tests pin the switch points).</summary>
    internal CpuRouteTable.Route RouteOf(Transpose transA, Transpose transB, int m, int n, int k) =>
        _router.Table.Choose(transA, transB, m, n, k);

    private protected override HostStaging CreateHostStagingCore() => new CpuHostStaging(this);

    /// <summary>
    /// Whether a float32 prepared weight is held in the kernels' panels (<see cref="CpuPanelWeight"/>): where the
    /// routing has the kernels. Otherwise it is <see cref="CpuPreparedWeight"/>.
    /// </summary>
    internal bool PreparesPanels => _router.Table.HasKernels;

    private protected override PreparedWeight PrepareWeightCore(BlasBuffer weight, Transpose trans, int n, int k) =>
        PreparesPanels
            ? new CpuPanelWeight(this, weight, trans, n, k, WeightPrecision.Float32)
            : new CpuPreparedWeight(this, weight, trans, n, k);

    private protected override PreparedWeight PrepareBFloat16Core(BlasBuffer weight, Transpose trans, int n, int k) =>
        new CpuPanelWeight(this, weight, trans, n, k, WeightPrecision.BFloat16);

    private protected override BlasBuffer AllocateCore(int[] shape, long length) => new HostBuffer(this, shape, length);

    private protected override void SynchronizeCore()
    {
    }

    private protected override unsafe void GemmCore(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, Operand a, int lda, Operand b, int ldb, float beta, Operand c, int ldc)
    {
        using (CpuGate.Enter())
        {
            _router.Gemm(transA, transB, m, n, k, alpha, a.Pointer, lda, b.Pointer, ldb, beta, c.Pointer, ldc);
        }
    }

    /// <summary>Y = X·op(W) + β·Y (+ bias on every row, when not null) with op(W) in panels (<see cref="CpuPanelWeight"/>); operands checked and pinned by the caller.</summary>
    internal unsafe void GemmPanels(WeightPrecision precision, int m, int n, int k, float* x, void* panels, float beta, float* bias, float* y)
    {
        if (m == 0)
        {
            return;
        }

        using (CpuGate.Enter())
        {
            _router.GemmPanels(precision, m, n, k, x, panels, beta, bias, y);
        }
    }

    /// <summary>Whether X·W beats X·Wᵀ at m rows under this backend's routing (<see cref="CpuPreparedWeight"/>).</summary>
    internal bool PrefersTransposedWeight(int m, int n, int k) => _router.Table.PrefersTransposedWeight(m, n, k);

    /// <summary>destination[c, r] = source[r, c] for a rows×cols source; both this backend's buffers, both leased.</summary>
    internal unsafe void TransposeInto(BlasBuffer source, int rows, int cols, BlasBuffer destination)
    {
        ThrowIfDisposed();
        using var leaseSource = new Lease(source);
        using var leaseDestination = new Lease(destination);
        using (CpuGate.Enter())
        {
            _router.TransposeInto(source.Pointer, rows, cols, destination.Pointer);
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

        using (CpuGate.Enter())
        {
            cblas_sgemv(CblasOrder.RowMajor, trans.ToCblas(), m, n, alpha, a.Pointer, lda, x.Pointer, 1, beta, y.Pointer, 1);
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
}
