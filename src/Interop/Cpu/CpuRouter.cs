using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;
using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>
/// Chooses, for each row-major product, which CPU provider computes it, and calls it. The caller holds
/// <see cref="CpuGate"/> and has validated every argument; α ≠ 0, k ≥ 1 and m·n ≥ 1 here.
/// </summary>
/// <remarks>
/// <para>The table for <see cref="CpuRouting.Auto"/>. "batch" is the dimension the layers' batch becomes:
/// m for the forward and input-gradient products, k for the weight gradient (Aᵀ·B). The rows that decide
/// it are the benchmark's, 1024→1024 on the reference machine (2 cores of an AMD EPYC Zen 5 with
/// AVX-512; OpenBLAS 0.3.21 with OPENBLAS_CORETYPE=Haswell; oneDNN 2.6.3), each provider pinned and
/// measured side by side against the same floor in one run:
/// <c>bench -- --quick --cpu-routes each --shapes 1024x1024 --batches 1,2,4,5,8,16,17,32,64,128,255,256,512</c>
/// (README, "CPU routes"). Median GFLOP/s, OpenBLAS / kernels / oneDNN (oneDNN on slices, one per thread):</para>
/// <code>
///   shape          batch   route                          Linear forward (A·Bᵀ)        ParameterLinear forward (A·B)
///   A·Bᵀ  (X·Wᵀ)   1–24    kernels, dot products          b1 9.7/63.6/57.9, b4 22.1/205.3/116.0,
///                                                         b8 41.8/173.2/151.5, b16 96.5/181.7/96.5, b17 85.0/193.8/111.8
///                  25–63   oneDNN on (B·Aᵀ)ᵀ, swapped     b32 128.4/203.0/167.3, swapped 272.1
///                  ≥ 64    oneDNN                         b64 146.2/221.4/249.5 (swapped 234.5), b255 173.1/191.1/336.5,
///                                                         b512 187.9/157.6/364.0
///                  (no oneDNN: kernels to 255, then OpenBLAS)
///   A·B   (X·W)    1–7     kernels, broadcasts                                          b1 11.6/57.4/50.3, b2 16.9/118.9/54.5,
///                                                                                       b5 29.8/203.4/161.0, b6 32.9/198.1/166.9 ‡
///                  ≥ 8     oneDNN                                                       b8 43.9/205.0/228.9 ‡, b12 34.9/-/238.6 ‡,
///                                                                                       b16 113.4/242.6/296.5, b128 169.4/296.2/350.5,
///                                                                                       b512 189.8/277.6/317.2
///                  (no oneDNN: kernels at every batch)
///   Aᵀ·B  (dW)     1–32    kernels, broadcasts            from the backward rows (dX + dW), Linear backward §:
///                  ≥ 33    oneDNN                         b5 38.3/130.2/81.6, b8 48.8/168.9/126.6, b16 86.2/212.0/200.9,
///                                                         b32 128.2/270.0/239.3, b63 151.5/304.5/326.0,
///                                                         b128 170.5/302.8/348.6, b512 185.7/282.2/381.6
///                  (no oneDNN: kernels at every batch)
///   operands past 16 MiB (4096→4096): A·B kernels for one row, Aᵀ·B never (µs, kernels / oneDNN / OpenBLAS,
///                  two threads, 4096×4096: A·B m=1 1895/1992/3975, m=4 4748/2363/8108;
///                  Aᵀ·B k=1 6862/2655/2681, k=32 10624/7112/8172; the same at 1024: k=1 161/306/169, k=32 309/353/543)
///   Aᵀ·Bᵀ          any     OpenBLAS                       (the layers never ask for it)
///   any product under 32,768 multiply-adds: the kernels, on the caller's thread
///   ‡ after the kernels' 8-row tiles: <c>--cpu-routes kernels,onednn --batches 6,8,12,16,24</c>
///     (the floor's X·W in place of the OpenBLAS column)
///   § <c>--cpu-routes each</c> with --batches 1,2,4,5,6,7,8,16,24,25,32,63,64,128,255,256,512, final kernels
/// </code>
/// <para>Without AVX-512 the kernels' rows go to oneDNN where it is present and to OpenBLAS otherwise.
/// Products under 32,768 multiply-adds run on the caller (handing a slice to another thread costs more
/// than they do); the others are split over whole 16-column slices of C, one per thread of
/// <see cref="CpuGate.Threads"/>, the one thread setting of every provider, and run on
/// <see cref="CpuWorkers"/>. oneDNN is called single-threaded on each slice (its OpenMP team held to one
/// thread for the call), so BlasLinear's routes run on one pool whose spinning it controls, and the gate
/// lets one multithreaded call in at a time, so that pool and OpenBLAS's never compute at once.</para>
/// </remarks>
internal sealed class CpuRouter
{
    private const long SingleThreadBelow = 32_768;

    // The batch limits of the Auto table (see the remarks); Choose and Describe both read them.
    private const int DotKernelsUpTo = 24;
    private const int DotKernelsWithoutOneDnnUpTo = 255;
    private const int SwappedBelow = 64;
    private const int BroadcastKernelsUpTo = 7;
    private const int GradientKernelsUpTo = 32;
    private const int TransposedWeightFrom = 6;
    private const int TransposedWeightWithoutOneDnnFrom = 16;

    /// <summary>16 MiB of floats: at 1024×1024 (4 MiB) the kernels' A·B and Aᵀ·B win, at 4096×4096 (64 MiB) they lose.</summary>
    private const long LargeOperandFloats = 1L << 22;
    private static readonly Action<int> s_runSlice = RunSharedSlice;
    private static Job s_job;

    private readonly unsafe delegate* unmanaged<int, void> _setOmpThreads;
    private readonly unsafe delegate* unmanaged<int> _getOmpThreads;
    private readonly bool _oneDnnSplits;

    private unsafe CpuRouter(CpuRouting requested, bool kernels, bool oneDnn, nint setOmpThreads, nint getOmpThreads,
        string kernelsNote, string oneDnnNote)
    {
        Requested = requested;
        HasKernels = kernels;
        HasOneDnn = oneDnn;
        _setOmpThreads = (delegate* unmanaged<int, void>)setOmpThreads;
        _getOmpThreads = (delegate* unmanaged<int>)getOmpThreads;
        // oneDNN is split over BlasLinear's threads only when its own team can be held to one thread.
        _oneDnnSplits = setOmpThreads != 0 && getOmpThreads != 0;
        KernelsNote = kernelsNote;
        OneDnnNote = oneDnnNote;
    }

    internal enum Route
    {
        OpenBlas,
        KernelsAbt,
        KernelsAb,
        KernelsAtb,
        OneDnn,
        OneDnnSwapped,
    }

    public CpuRouting Requested { get; }

    /// <summary>The kernels are loaded, this CPU runs them, and the routing may use them.</summary>
    public bool HasKernels { get; }

    /// <summary>oneDNN is loaded and the routing may use it.</summary>
    public bool HasOneDnn { get; }

    /// <summary>What was found of the kernels, for the description.</summary>
    public string KernelsNote { get; }

    /// <summary>What was found of oneDNN, for the description.</summary>
    public string OneDnnNote { get; }

    /// <summary>The <see cref="CpuRouting.Auto"/> table with the given providers present, for its tests.</summary>
    internal static CpuRouter AutoWith(bool kernels, bool oneDnn) =>
        new(CpuRouting.Auto, kernels, oneDnn, 0, 0, string.Empty, string.Empty);

    /// <summary>Finds the providers; a pinned provider that is missing throws with the reason.</summary>
    /// <exception cref="BackendUnavailableException">The pinned provider cannot be used here.</exception>
    public static unsafe CpuRouter Create(CpuRouting requested)
    {
        LoadedLibrary kernelsLibrary = NativeLibraries.Kernels;
        bool kernelsRun = kernelsLibrary.IsLoaded && blk_supported() == 1;
        string kernelsNote = !kernelsLibrary.IsLoaded
            ? "not loaded (" + string.Join("; ", kernelsLibrary.Trace) + ")"
            : kernelsRun
                ? $"{kernelsLibrary.ResolvedPath} (AVX-512)"
                : $"{kernelsLibrary.ResolvedPath}: not used, this CPU has no AVX-512";

        LoadedLibrary oneDnnLibrary = NativeLibraries.OneDnn;
        string oneDnnNote;
        nint setOmp = 0, getOmp = 0;
        if (oneDnnLibrary.IsLoaded)
        {
            DnnlVersion* version = dnnl_version();
            bool omp = version->CpuRuntime == RuntimeOmp
                // dlsym on oneDNN's handle searches its dependencies: the OpenMP runtime it was built with.
                && NativeLibrary.TryGetExport(oneDnnLibrary.Handle, "omp_set_num_threads", out setOmp)
                && NativeLibrary.TryGetExport(oneDnnLibrary.Handle, "omp_get_max_threads", out getOmp);
            if (!omp)
            {
                setOmp = getOmp = 0;
            }

            string threading = omp
                ? "OpenMP held to one thread per call, split over BlasLinear's threads"
                : string.Create(CultureInfo.InvariantCulture, $"CPU runtime {version->CpuRuntime}: runs its own threads, not split");
            oneDnnNote = string.Create(CultureInfo.InvariantCulture,
                $"{oneDnnLibrary.ResolvedPath} ({version->Major}.{version->Minor}.{version->Patch}, ISA 0x{dnnl_get_effective_cpu_isa():x}; {threading})");
        }
        else
        {
            oneDnnNote = "not found (" + string.Join("; ", oneDnnLibrary.Trace) + "); optional: apt-get install libdnnl2";
        }

        if (requested == CpuRouting.Kernels && !kernelsRun)
        {
            throw new BackendUnavailableException(BackendKind.Cpu, "CpuRouting.Kernels was asked for, but BlasLinear's kernels are " + kernelsNote);
        }

        if (requested == CpuRouting.OneDnn && !oneDnnLibrary.IsLoaded)
        {
            throw new BackendUnavailableException(BackendKind.Cpu, "CpuRouting.OneDnn was asked for, but oneDNN is " + oneDnnNote);
        }

        bool useKernels = kernelsRun && requested is CpuRouting.Auto or CpuRouting.Kernels;
        bool useOneDnn = oneDnnLibrary.IsLoaded && requested is CpuRouting.Auto or CpuRouting.OneDnn;
        return new CpuRouter(requested, useKernels, useOneDnn, setOmp, getOmp, kernelsNote, oneDnnNote);
    }

    /// <summary>The routing in force, one line for the description.</summary>
    public string Describe() => Requested switch
    {
        CpuRouting.OpenBlas => "pinned: OpenBLAS for every product",
        CpuRouting.Kernels => "pinned: kernels for op(A)·B and A·Bᵀ, OpenBLAS for Aᵀ·Bᵀ",
        CpuRouting.OneDnn => "pinned: oneDNN for every product",
        _ => (HasKernels, HasOneDnn) switch
        {
            (true, true) => string.Create(CultureInfo.InvariantCulture,
                $"auto: A·Bᵀ kernels to batch {DotKernelsUpTo}, oneDNN swapped to {SwappedBelow - 1}, then oneDNN; "
                + $"A·B kernels to batch {BroadcastKernelsUpTo}, Aᵀ·B to {GradientKernelsUpTo}, then oneDNN "
                + $"(operands past {LargeOperandFloats * sizeof(float) >> 20} MiB: A·B kernels for one row only, Aᵀ·B oneDNN); "
                + $"kernels under {SingleThreadBelow} multiply-adds"),
            (true, false) => string.Create(CultureInfo.InvariantCulture,
                $"auto: A·Bᵀ kernels to batch {DotKernelsWithoutOneDnnUpTo}, then OpenBLAS; A·B and Aᵀ·B kernels at every batch "
                + $"(Aᵀ·B past {LargeOperandFloats * sizeof(float) >> 20} MiB: OpenBLAS)"),
            (false, true) => "auto: oneDNN for every product but Aᵀ·Bᵀ (no AVX-512 kernels)",
            _ => "auto: OpenBLAS for every product (no kernels, no oneDNN)",
        },
    };

    /// <summary>The route <see cref="Gemm"/> takes for this product.</summary>
    public Route Choose(Transpose transA, Transpose transB, int m, int n, int k)
    {
        bool ta = transA == Transpose.Trans, tb = transB == Transpose.Trans;
        switch (Requested)
        {
            case CpuRouting.OpenBlas:
                return Route.OpenBlas;
            case CpuRouting.OneDnn:
                return Route.OneDnn;
            case CpuRouting.Kernels:
                return (ta, tb) switch
                {
                    (false, true) => Route.KernelsAbt,
                    (false, false) => Route.KernelsAb,
                    (true, false) => Route.KernelsAtb,
                    _ => Route.OpenBlas,
                };
        }

        // Products under SingleThreadBelow run on the kernels whatever their shape: one route, the same bits
        // for a row in a batch of any size, and no thread hand-off.
        bool small = IsSmall(m, n, k);
        if (!ta && tb)
        {
            if (HasKernels && (small || m <= (HasOneDnn ? DotKernelsUpTo : DotKernelsWithoutOneDnnUpTo)))
            {
                return Route.KernelsAbt;
            }

            if (HasOneDnn)
            {
                // The swapped route transposes with the kernels library's AVX-512 code.
                return m < SwappedBelow && HasKernels ? Route.OneDnnSwapped : Route.OneDnn;
            }

            return Route.OpenBlas;
        }

        if (!tb)
        {
            int batch = ta ? k : m;
            // Past LargeOperandFloats the big operand (the weight of A·B, the gradient C of Aᵀ·B) streams from
            // memory, and the kernels' column panels read it in short pieces of many rows: oneDNN's and
            // OpenBLAS's blocking is then faster, except for one row of A·B.
            bool fromMemory = (ta ? (long)m * n : (long)k * n) > LargeOperandFloats;
            int kernelsUpTo = fromMemory ? (ta ? 0 : 1) : (ta ? GradientKernelsUpTo : BroadcastKernelsUpTo);
            Route kernels = ta ? Route.KernelsAtb : Route.KernelsAb;
            if (HasKernels && (small || batch <= kernelsUpTo))
            {
                return kernels;
            }

            if (HasOneDnn)
            {
                return Route.OneDnn;
            }

            // No oneDNN: the kernels beat OpenBLAS at every batch measured, but for a gradient from memory.
            return HasKernels && !(fromMemory && ta) ? kernels : Route.OpenBlas;
        }

        return Route.OpenBlas;
    }

    /// <summary>
    /// Whether X·W (W stored k×n) beats X·Bᵀ (the same matrix stored n×k) at m rows here, so that
    /// <c>Linear</c> gains by keeping its weight transposed too. From the benchmark's Linear and
    /// ParameterLinear forward rows at 1024→1024 (GFLOP/s, X·Bᵀ route / X·W route): with oneDNN,
    /// b4 183/152, b5 130/135, b8 156/274, b32 272/318, b128 297/340, b512 323/346; with the kernels
    /// alone, b8 173/172, b16 182/243, b128 225/296, b512 158/278.
    /// </summary>
    public bool PrefersTransposedWeight(int m, int n, int k)
    {
        // Products too small to split stay on one route whatever their rows, so that a small layer gives the
        // same bits for a row in a batch of any size (the kernels compute each element the same way).
        return Requested == CpuRouting.Auto && !IsSmall(m, n, k)
            && (HasOneDnn ? m >= TransposedWeightFrom : HasKernels && m >= TransposedWeightWithoutOneDnnFrom);
    }

    /// <summary>destination[c, r] = source[r, c], with the kernels' transpose where they run, a managed loop otherwise.</summary>
    public unsafe void TransposeInto(float* source, int rows, int cols, float* destination)
    {
        if (HasKernels)
        {
            blk_transpose(rows, cols, source, cols, 0f, destination, rows);
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            float* row = source + (long)r * cols;
            for (int c = 0; c < cols; c++)
            {
                destination[(long)c * rows + r] = row[c];
            }
        }
    }

    /// <summary>C = α·op(A)·op(B) + β·C by <see cref="Choose"/>'s route.</summary>
    public unsafe void Gemm(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        Route route = Choose(transA, transB, m, n, k);
        if (route == Route.OpenBlas)
        {
            // OpenBLAS runs its own threads.
            cblas_sgemm(CblasOrder.RowMajor, transA.ToCblas(), transB.ToCblas(), m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        // Slices of whole 16-column vectors, one per thread; small products stay on the caller.
        int parts = IsSmall(m, n, k) || (route is Route.OneDnn or Route.OneDnnSwapped && !_oneDnnSplits)
            ? 1
            : Math.Min(CpuGate.Threads, Math.Max(1, n / 16));
        CpuScratch.Block work = route == Route.OneDnnSwapped ? CpuScratch.Rent((long)n * m) : default;
        try
        {
            var job = new Job(route, transA == Transpose.Trans, transB == Transpose.Trans, m, n, k, parts,
                alpha, a, lda, b, ldb, beta, c, ldc, work.Pointer, _setOmpThreads, _getOmpThreads);
            int status;
            if (parts == 1)
            {
                // Single-threaded calls may run concurrently (one per core when the gate is in that mode),
                // so each keeps its job on its own stack.
                RunSlice(ref job, 0);
                status = job.OneDnnStatus;
            }
            else
            {
                // A split call holds the whole gate: it is the only one, so the job can be shared with the pool.
                s_job = job;
                try
                {
                    CpuWorkers.Run(parts, s_runSlice);
                    status = s_job.OneDnnStatus;
                }
                finally
                {
                    s_job = default;
                }
            }

            if (status != Success)
            {
                // Every argument was checked before the call, so this is oneDNN failing (out of memory).
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"oneDNN dnnl_sgemm failed with dnnl_status_t {status}."));
            }
        }
        finally
        {
            if (route == Route.OneDnnSwapped)
            {
                CpuScratch.Return(work);
            }
        }
    }

    private static void RunSharedSlice(int part) => RunSlice(ref s_job, part);

    /// <summary>Slice <paramref name="part"/> of <paramref name="job"/>: columns [j0, j1) of C.</summary>
    private static unsafe void RunSlice(ref Job job, int part)
    {
        int j0 = Boundary(job.N, part, job.Parts), j1 = Boundary(job.N, part + 1, job.Parts);
        int w = j1 - j0;
        if (w <= 0)
        {
            return;
        }

        // Column j of op(B) starts at B + j·ldb when B is stored transposed ([n, k]), at B + j otherwise.
        float* bSlice = job.B + (job.TransB ? (long)j0 * job.Ldb : j0);
        float* cSlice = job.C + j0;
        switch (job.Route)
        {
            case Route.KernelsAbt:
                blk_sgemm_abt(job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc);
                break;
            case Route.KernelsAb:
                blk_sgemm_ab(job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc);
                break;
            case Route.KernelsAtb:
                blk_sgemm_atb(job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc);
                break;
            case Route.OneDnn:
                RecordOneDnn(ref job, OneDnnSingleThreaded(ref job, (byte)(job.TransA ? 'T' : 'N'), (byte)(job.TransB ? 'T' : 'N'),
                    job.M, w, job.K, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc));
                break;
            case Route.OneDnnSwapped:
                // Rows [j0, j1) of the n×m product B·Aᵀ, then their transpose into C's columns [j0, j1).
                float* rows = job.Work + (long)j0 * job.M;
                int status = OneDnnSingleThreaded(ref job, (byte)'N', (byte)'T', w, job.M, job.K, bSlice, job.Ldb, job.A, job.Lda, 0f, rows, job.M);
                RecordOneDnn(ref job, status);
                if (status == Success)
                {
                    blk_transpose(w, job.M, rows, job.M, job.Beta, cSlice, job.Ldc);
                }

                break;
        }
    }

    /// <summary>dnnl_sgemm on this thread alone: its OpenMP team is set to one thread for the call and restored.</summary>
    private static unsafe int OneDnnSingleThreaded(ref Job job, byte transA, byte transB, long m, long n, long k,
        float* a, long lda, float* b, long ldb, float beta, float* c, long ldc)
    {
        if (job.SetOmpThreads is null)
        {
            return dnnl_sgemm(transA, transB, m, n, k, job.Alpha, a, lda, b, ldb, beta, c, ldc);
        }

        int saved = job.GetOmpThreads();
        job.SetOmpThreads(1);
        try
        {
            return dnnl_sgemm(transA, transB, m, n, k, job.Alpha, a, lda, b, ldb, beta, c, ldc);
        }
        finally
        {
            job.SetOmpThreads(saved);
        }
    }

    private static void RecordOneDnn(ref Job job, int status)
    {
        if (status != Success)
        {
            Interlocked.CompareExchange(ref job.OneDnnStatus, status, Success);
        }
    }

    private static int Boundary(int n, int part, int parts) =>
        part >= parts ? n : (int)Math.Min(n, ((long)n * part / parts) & ~15L);

    /// <summary>One split product; only one runs at a time (the caller holds the whole gate when parts &gt; 1).</summary>
    private unsafe struct Job(
        Route route, bool transA, bool transB, int m, int n, int k, int parts,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, float* work,
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads)
    {
        public readonly Route Route = route;
        public readonly bool TransA = transA;
        public readonly bool TransB = transB;
        public readonly int M = m;
        public readonly int N = n;
        public readonly int K = k;
        public readonly int Parts = parts;
        public readonly float Alpha = alpha;
        public readonly float* A = a;
        public readonly int Lda = lda;
        public readonly float* B = b;
        public readonly int Ldb = ldb;
        public readonly float Beta = beta;
        public readonly float* C = c;
        public readonly int Ldc = ldc;
        public readonly float* Work = work;
        public readonly delegate* unmanaged<int, void> SetOmpThreads = setOmpThreads;
        public readonly delegate* unmanaged<int> GetOmpThreads = getOmpThreads;
        public int OneDnnStatus;
    }

    /// <summary>Too small to split: handing a slice to another thread costs more than the product.</summary>
    private static bool IsSmall(int m, int n, int k) => (long)m * n * k < SingleThreadBelow;

}
