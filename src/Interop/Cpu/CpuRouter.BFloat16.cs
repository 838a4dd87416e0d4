using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;
using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>Products with a bfloat16 weight in panels (<see cref="CpuBFloat16Weight"/>, <see cref="BFloat16Panels"/>).</summary>
/// <remarks>
/// With the kernels, one kernel at every batch: each thread multiplies its slice of whole panels, widening
/// the weight in registers. It reads the weight as few long streams and keeps tiles of C in registers, so at
/// small batch it runs at the speed of reading half the bytes and at large batch at the float32 kernels'
/// arithmetic rate (docs/cpu-routes.md has the figures). Without the kernels (a CPU with neither AVX2 nor
/// AVX-512, or <see cref="CpuRouting"/> pinned to oneDNN or OpenBLAS), each thread widens a block of its panels into its
/// own work memory, [<see cref="WidenedDepth"/>, 16·<see cref="WidenedPanels"/>] float32 (1 MiB, in its
/// cache), and multiplies by it with that provider on one thread, block after block. Slices, threads and
/// the gate are those of float32 products.
/// </remarks>
internal sealed partial class CpuRouter
{
    /// <summary>Panels of a widened block: 512 columns.</summary>
    internal const int WidenedPanels = 32;

    /// <summary>Rows of k in a widened block: with <see cref="WidenedPanels"/>, 1 MiB of float32.</summary>
    internal const int WidenedDepth = 512;

    /// <summary>
    /// C[m, n] = A[m, k]·op(W) + β·C with op(W) [k, n] bfloat16 in panels; A, C contiguous. m, n, k ≥ 1, all
    /// checked by the caller.
    /// </summary>
    /// <exception cref="InvalidOperationException">oneDNN failed (out of memory).</exception>
    public unsafe void GemmBFloat16(int m, int n, int k, float* a, ushort* panels, float beta, float* c)
    {
        // The routing's providers: the kernels unless it pins another, then widened blocks to oneDNN where the
        // routing has it, else to OpenBLAS. Each slice's thread multiplies its own blocks, but OpenBLAS runs
        // its own threads and oneDNN splits only when its team can be held to one thread: those take the
        // product unsplit.
        bool kernels = Table.HasKernels;
        bool oneDnn = !kernels && Table.HasOneDnn;
        bool perThread = kernels || (oneDnn && _oneDnnSplits);
        int parts = CpuRouteTable.IsSmall(m, n, k) || !perThread ? 1 : Math.Min(CpuGate.Threads, Math.Max(1, n / BFloat16Panels.Width));
        long workPerPart = kernels ? 0 : (long)WidenedPanels * BFloat16Panels.Width * WidenedDepth;
        CpuScratch.Block work = kernels ? default : CpuScratch.Rent(workPerPart * parts);
        try
        {
            var job = new BFloat16Job(kernels, Providers.Isa, oneDnn, m, n, k, parts,
                a, panels, beta, c, work.Pointer, workPerPart, _setOmpThreads, _getOmpThreads);
            ThrowIfOneDnnFailed(RunParts(ref job, parts));
        }
        finally
        {
            if (!kernels)
            {
                CpuScratch.Return(work);
            }
        }
    }

    private static unsafe void RunBFloat16Slice(ref BFloat16Job job, int part)
    {
        // Slices start at multiples of 16 columns (Boundary), so each is whole panels but the last one's end.
        int j0 = Boundary(job.N, part, job.Parts), j1 = Boundary(job.N, part + 1, job.Parts);
        if (j1 <= j0)
        {
            return;
        }

        long panelLength = (long)job.K * BFloat16Panels.Width;
        if (job.Kernels)
        {
            blk_sgemm_bf16_panels(job.Isa, job.M, j1 - j0, job.K, 1f, job.A, job.K,
                job.Panels + j0 / BFloat16Panels.Width * panelLength, job.Beta, job.C + j0, job.N);
            return;
        }

        // Blocks of the slice's panels, WidenedPanels wide and WidenedDepth deep, widened into a row-major
        // [kc, w] block as they are stored and multiplied at once; later blocks of k add to C (β = 1).
        float* work = job.Work + part * job.WorkPerPart;
        for (int j = j0; j < j1; j += WidenedPanels * BFloat16Panels.Width)
        {
            int w = Math.Min(WidenedPanels * BFloat16Panels.Width, j1 - j);
            int panelCount = (w + BFloat16Panels.Width - 1) / BFloat16Panels.Width;
            int ldw = panelCount * BFloat16Panels.Width;
            for (int p0 = 0; p0 < job.K; p0 += WidenedDepth)
            {
                int kc = Math.Min(WidenedDepth, job.K - p0);
                for (int v = 0; v < panelCount; v++)
                {
                    ushort* panel = job.Panels + (j / BFloat16Panels.Width + v) * panelLength + (long)p0 * BFloat16Panels.Width;
                    for (int p = 0; p < kc; p++)
                    {
                        BFloat16Bits.Widen(new ReadOnlySpan<ushort>(panel + (long)p * BFloat16Panels.Width, BFloat16Panels.Width),
                            new Span<float>(work + (long)p * ldw + v * BFloat16Panels.Width, BFloat16Panels.Width));
                    }
                }

                MultiplyWidened(ref job, w, kc, job.A + p0, work, ldw, p0 == 0 ? job.Beta : 1f, job.C + j);
                if (job.OneDnnStatus != Success)
                {
                    return;
                }
            }
        }
    }

    /// <summary>C[:, block] = A[:, p0..]·block + β·C on this thread (OpenBLAS: on its own threads, the call unsplit).</summary>
    private static unsafe void MultiplyWidened(ref BFloat16Job job, int w, int kc, float* a, float* block, int ldb, float beta, float* c)
    {
        if (job.OneDnn)
        {
            RecordOneDnn(ref job.OneDnnStatus, OneDnnSingleThreaded(job.SetOmpThreads, job.GetOmpThreads,
                Transpose.NoTrans, Transpose.NoTrans, job.M, w, kc, 1f, a, job.K, block, ldb, beta, c, job.N));
        }
        else
        {
            cblas_sgemm(CblasOrder.RowMajor, Transpose.NoTrans.ToCblas(), Transpose.NoTrans.ToCblas(), job.M, w, kc,
                1f, a, job.K, block, ldb, beta, c, job.N);
        }
    }

    /// <summary>One product with a bfloat16 weight; only one split product runs at a time (the caller holds the whole gate).</summary>
    private unsafe struct BFloat16Job(
        bool kernels, int isa, bool oneDnn, int m, int n, int k, int parts,
        float* a, ushort* panels, float beta, float* c, float* work, long workPerPart,
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads) : ISplitJob<BFloat16Job>
    {
        public readonly bool Kernels = kernels;
        public readonly int Isa = isa;
        public readonly bool OneDnn = oneDnn;
        public readonly int M = m;
        public readonly int N = n;
        public readonly int K = k;
        public readonly int Parts = parts;
        public readonly float* A = a;
        public readonly ushort* Panels = panels;
        public readonly float Beta = beta;
        public readonly float* C = c;
        public readonly float* Work = work;
        public readonly long WorkPerPart = workPerPart;
        public readonly delegate* unmanaged<int, void> SetOmpThreads = setOmpThreads;
        public readonly delegate* unmanaged<int> GetOmpThreads = getOmpThreads;
        public int OneDnnStatus;

        public readonly int Status => OneDnnStatus;

        public static void RunSlice(ref BFloat16Job job, int part) => RunBFloat16Slice(ref job, part);
    }
}
