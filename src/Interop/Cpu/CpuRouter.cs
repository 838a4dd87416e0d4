using System.Globalization;
using BlasLinear.Native;
using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;
using static BlasLinear.Native.Interop.OpenBlas;
using Route = BlasLinear.Backends.CpuRouteTable.Route;

namespace BlasLinear.Backends;

/// <summary>
/// Computes each row-major product on the route its <see cref="CpuRouteTable"/> chooses. The caller holds
/// <see cref="CpuGate"/> and has validated every argument; α ≠ 0, k ≥ 1 and m·n ≥ 1 here.
/// </summary>
/// <remarks>
/// Products under <see cref="CpuRouteTable.SingleThreadBelow"/> multiply-adds run on the caller (handing a
/// slice to another thread costs more than they do); the others are split over whole 16-column slices of C,
/// one per thread of <see cref="CpuGate.Threads"/>, the one thread setting of every provider, and run on
/// <see cref="CpuWorkers"/>. oneDNN is called single-threaded on each slice (its OpenMP team held to one
/// thread for the call), so BlasLinear's routes run on one pool whose spinning it controls, and the gate
/// lets one multithreaded call in at a time, so that pool and OpenBLAS's never compute at once. OpenBLAS
/// runs its own threads.
/// </remarks>
internal sealed partial class CpuRouter
{

    private readonly unsafe delegate* unmanaged<int, void> _setOmpThreads;
    private readonly unsafe delegate* unmanaged<int> _getOmpThreads;
    private readonly bool _oneDnnSplits;

    internal unsafe CpuRouter(CpuRouteTable table, CpuProviders providers)
    {
        Table = table;
        Providers = providers;
        _setOmpThreads = (delegate* unmanaged<int, void>)providers.SetOmpThreads;
        _getOmpThreads = (delegate* unmanaged<int>)providers.GetOmpThreads;
        // oneDNN is split over BlasLinear's threads only when its own team can be held to one thread.
        _oneDnnSplits = providers.SetOmpThreads != 0 && providers.GetOmpThreads != 0;
    }

    /// <summary>The routes this router takes.</summary>
    public CpuRouteTable Table { get; }

    /// <summary>The providers found, with the notes for the description.</summary>
    public CpuProviders Providers { get; }

    /// <summary>Finds the providers, with the kernels on <paramref name="isa"/>, and the table for <paramref name="requested"/>.</summary>
    /// <exception cref="BackendUnavailableException">The pinned provider, or the forced kernels path, cannot be used here.</exception>
    public static CpuRouter Create(CpuRouting requested, CpuKernelIsa isa = CpuKernelIsa.Auto, string? isaForcedBy = null)
    {
        CpuProviders providers = CpuProviders.Find(isa, isaForcedBy);
        return new CpuRouter(providers.TableFor(requested), providers);
    }

    /// <summary>destination[c, r] = source[r, c], with the kernels' transpose where they run, a managed loop otherwise.</summary>
    public unsafe void TransposeInto(float* source, int rows, int cols, float* destination)
    {
        if (Table.HasKernels)
        {
            blk_transpose(Providers.Isa, rows, cols, source, cols, 0f, destination, rows);
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

    /// <summary>C = α·op(A)·op(B) + β·C on the route <see cref="CpuRouteTable.Choose(Transpose, Transpose, int, int, int, int)"/> gives.</summary>
    public unsafe void Gemm(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        Route route = Table.Choose(transA, transB, m, n, k, ldb);
        if (route == Route.OpenBlas)
        {
            // OpenBLAS runs its own threads.
            cblas_sgemm(CblasOrder.RowMajor, transA.ToCblas(), transB.ToCblas(), m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        // Slices of whole 16-column vectors (of 16 rows for Aᵀ·B on the kernels), one per thread; small
        // products stay on the caller.
        int parts = CpuRouteTable.IsSmall(m, n, k) || (route is Route.OneDnn or Route.OneDnnSwapped && !_oneDnnSplits)
            ? 1
            : Math.Min(CpuGate.Threads, Math.Max(1, (route == Route.KernelsAtb ? m : n) / 16));
        CpuScratch.Block work = route == Route.OneDnnSwapped ? CpuScratch.Rent((long)n * m) : default;
        try
        {
            var job = new Job(route, Providers.Isa, transA, transB, m, n, k, parts,
                alpha, a, lda, b, ldb, beta, c, ldc, work.Pointer, _setOmpThreads, _getOmpThreads);
            ThrowIfOneDnnFailed(RunParts(ref job, parts));
        }
        finally
        {
            if (route == Route.OneDnnSwapped)
            {
                CpuScratch.Return(work);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="job"/>'s <paramref name="parts"/> slices: on the caller when there is one, over
    /// <see cref="CpuWorkers"/> otherwise; returns oneDNN's status (<c>Success</c> when it was not called).
    /// </summary>
    private static int RunParts<TJob>(ref TJob job, int parts)
        where TJob : struct, ISplitJob<TJob>
    {
        if (parts == 1)
        {
            // Single-threaded calls may run concurrently (one per core when the gate is in that mode), so
            // each keeps its job on its own stack.
            TJob.RunSlice(ref job, 0);
            return job.Status;
        }

        // A split call holds the whole gate: it is the only one, so the job can be shared with the pool.
        SharedJob<TJob>.Job = job;
        try
        {
            CpuWorkers.Run(parts, SharedJob<TJob>.RunPart);
            return SharedJob<TJob>.Job.Status;
        }
        finally
        {
            SharedJob<TJob>.Job = default;
        }
    }

    private static void ThrowIfOneDnnFailed(int status)
    {
        if (status != Success)
        {
            // Every argument was checked before the call, so this is oneDNN failing (out of memory).
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"oneDNN dnnl_sgemm failed with dnnl_status_t {status}."));
        }
    }

    /// <summary>Slice <paramref name="part"/> of <paramref name="job"/>: columns [j0, j1) of C (rows for Aᵀ·B on the kernels).</summary>
    private static unsafe void RunSlice(ref Job job, int part)
    {
        if (job.Route == Route.KernelsAtb)
        {
            // The weight gradient C = Aᵀ·B is the large matrix, read and written once: each thread takes whole
            // rows of it, so that it streams one contiguous block (measured against column slices, where both
            // threads write parts of every row: 1.6 times faster at k = 1 and 1.5 times at k = 8, 1024×1024).
            int i0 = Boundary(job.M, part, job.Parts), i1 = Boundary(job.M, part + 1, job.Parts);
            if (i1 > i0)
            {
                blk_sgemm_atb(job.Isa, i1 - i0, job.N, job.K, job.Alpha, job.A + i0, job.Lda, job.B, job.Ldb,
                    job.Beta, job.C + ((long)i0 * job.Ldc), job.Ldc);
            }

            return;
        }

        int j0 = Boundary(job.N, part, job.Parts), j1 = Boundary(job.N, part + 1, job.Parts);
        int w = j1 - j0;
        if (w <= 0)
        {
            return;
        }

        // Column j of op(B) starts at B + j·ldb when B is stored transposed ([n, k]), at B + j otherwise.
        float* bSlice = job.B + (job.TransB == Transpose.Trans ? (long)j0 * job.Ldb : j0);
        float* cSlice = job.C + j0;
        switch (job.Route)
        {
            case Route.KernelsAbt:
                blk_sgemm_abt(job.Isa, job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc);
                break;
            case Route.KernelsAb:
                blk_sgemm_ab(job.Isa, job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc);
                break;
            case Route.OneDnn:
                RecordOneDnn(ref job.OneDnnStatus, OneDnnSingleThreaded(job.SetOmpThreads, job.GetOmpThreads, job.TransA, job.TransB,
                    job.M, w, job.K, job.Alpha, job.A, job.Lda, bSlice, job.Ldb, job.Beta, cSlice, job.Ldc));
                break;
            case Route.OneDnnSwapped:
                // Rows [j0, j1) of the n×m product B·Aᵀ, then their transpose into C's columns [j0, j1).
                float* rows = job.Work + (long)j0 * job.M;
                int status = OneDnnSingleThreaded(job.SetOmpThreads, job.GetOmpThreads, Transpose.NoTrans, Transpose.Trans,
                    w, job.M, job.K, job.Alpha, bSlice, job.Ldb, job.A, job.Lda, 0f, rows, job.M);
                RecordOneDnn(ref job.OneDnnStatus, status);
                if (status == Success)
                {
                    blk_transpose(job.Isa, w, job.M, rows, job.M, job.Beta, cSlice, job.Ldc);
                }

                break;
        }
    }

    /// <summary>
    /// dnnl_sgemm on this thread alone: its OpenMP team (<paramref name="setOmpThreads"/> and
    /// <paramref name="getOmpThreads"/>, null when oneDNN does not run on OpenMP) is set to one thread for the
    /// call and restored.
    /// </summary>
    private static unsafe int OneDnnSingleThreaded(
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads,
        Transpose transA, Transpose transB, long m, long n, long k,
        float alpha, float* a, long lda, float* b, long ldb, float beta, float* c, long ldc)
    {
        byte ta = transA.ToOneDnn(), tb = transB.ToOneDnn();
        if (setOmpThreads is null)
        {
            return dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        int saved = getOmpThreads();
        setOmpThreads(1);
        try
        {
            return dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        finally
        {
            setOmpThreads(saved);
        }
    }

    /// <summary>Keeps the first failing oneDNN status of a split product in <paramref name="first"/>.</summary>
    private static void RecordOneDnn(ref int first, int status)
    {
        if (status != Success)
        {
            Interlocked.CompareExchange(ref first, status, Success);
        }
    }

    private static int Boundary(int n, int part, int parts) =>
        part >= parts ? n : (int)Math.Min(n, ((long)n * part / parts) & ~15L);

    /// <summary>One split product; only one runs at a time (the caller holds the whole gate when parts &gt; 1).</summary>
    private unsafe struct Job(
        Route route, int isa, Transpose transA, Transpose transB, int m, int n, int k, int parts,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, float* work,
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads) : ISplitJob<Job>
    {
        public readonly Route Route = route;
        public readonly int Isa = isa;
        public readonly Transpose TransA = transA;
        public readonly Transpose TransB = transB;
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

        public readonly int Status => OneDnnStatus;

        public static void RunSlice(ref Job job, int part) => CpuRouter.RunSlice(ref job, part);
    }

    /// <summary>A product split into slices, each run by <see cref="RunSlice"/> on one thread.</summary>
    private interface ISplitJob<TSelf>
        where TSelf : struct, ISplitJob<TSelf>
    {
        /// <summary>oneDNN's status over every slice: <c>Success</c> unless one failed.</summary>
        int Status { get; }

        static abstract void RunSlice(ref TSelf job, int part);
    }

    /// <summary>The one split job of a type in flight (a split call holds the whole gate) and its slice runner for the pool.</summary>
    private static class SharedJob<TJob>
        where TJob : struct, ISplitJob<TJob>
    {
        public static readonly Action<int> RunPart = part => TJob.RunSlice(ref Job, part);

        public static TJob Job;
    }
}
