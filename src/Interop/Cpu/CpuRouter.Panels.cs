using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;
using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>Products with a weight prepared in panels (<see cref="CpuPanelWeight"/>, <see cref="WeightPanels"/>).</summary>
/// <remarks>
/// With the kernels, one kernel at every batch: each thread multiplies its slice of whole panels (a bfloat16
/// weight widened in registers). It reads the weight as few long streams and keeps tiles of C in registers, so
/// at small batch it runs at the speed of reading the weight and at large batch at the machine's arithmetic
/// rate (docs/cpu-routes.md has the figures). float32 panels exist only where the routing has the kernels.
/// bfloat16 panels without the kernels (a CPU with neither AVX2 nor AVX-512, or <see cref="CpuRouting"/>
/// pinned to oneDNN or OpenBLAS): each thread widens a block of its panels into its own work memory,
/// [<see cref="WidenedDepth"/>, 16·<see cref="WidenedPanels"/>] float32 (1 MiB, in its cache), and multiplies
/// by it with that provider on one thread, block after block. Slices, threads and the gate are those of
/// float32 products.
/// </remarks>
internal sealed partial class CpuRouter
{
    /// <summary>Panels of a widened block: 512 columns.</summary>
    internal const int WidenedPanels = 32;

    /// <summary>Rows of k in a widened block: with <see cref="WidenedPanels"/>, 1 MiB of float32.</summary>
    internal const int WidenedDepth = 512;

    /// <summary>
    /// C[m, n] = A[m, k]·op(W) + β·C (+ <paramref name="bias"/>, n floats, on every row when not null) with
    /// op(W) [k, n] in panels of <paramref name="precision"/>'s elements; A, C contiguous. m, n, k ≥ 1, all
    /// checked by the caller; float32 panels only where <see cref="CpuRouteTable.HasKernels"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">oneDNN failed (out of memory).</exception>
    public unsafe void GemmPanels(WeightPrecision precision, int m, int n, int k, float* a, void* panels, float beta, float* bias, float* c)
    {
        // The routing's providers: the kernels unless it pins another, then widened blocks to oneDNN where the
        // routing has it, else to OpenBLAS. Each slice's thread multiplies its own blocks, but OpenBLAS runs
        // its own threads and oneDNN splits only when its team can be held to one thread: those take the
        // product unsplit.
        bool kernels = Table.HasKernels;
        if (!kernels && precision != WeightPrecision.BFloat16)
        {
            throw new InvalidOperationException("float32 panels are multiplied only by the kernels.");
        }

        bool oneDnn = !kernels && Table.HasOneDnn;
        bool perThread = kernels || (oneDnn && _oneDnnSplits);
        int parts = CpuRouteTable.IsSmall(m, n, k) || !perThread ? 1 : Math.Min(CpuGate.Threads, Math.Max(1, n / WeightPanels.Width));
        long workPerPart = kernels ? 0 : (long)WidenedPanels * WeightPanels.Width * WidenedDepth;
        CpuScratch.Block work = kernels ? default : CpuScratch.Rent(workPerPart * parts);
        try
        {
            var job = new PanelJob(kernels, precision == WeightPrecision.BFloat16, Providers.Isa, oneDnn, m, n, k, parts,
                a, panels, beta, bias, c, work.Pointer, workPerPart, _setOmpThreads, _getOmpThreads);
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

    private static unsafe void RunPanelSlice(ref PanelJob job, int part)
    {
        // Slices start at multiples of 16 columns (Boundary), so each is whole panels but the last one's end.
        int j0 = Boundary(job.N, part, job.Parts), j1 = Boundary(job.N, part + 1, job.Parts);
        if (j1 <= j0)
        {
            return;
        }

        long first = j0 / WeightPanels.Width * (long)job.K * WeightPanels.Width;
        if (job.Kernels)
        {
            float* bias = job.Bias is null ? null : job.Bias + j0;
            if (job.BFloat16)
            {
                blk_sgemm_bf16_panels(job.Isa, job.M, j1 - j0, job.K, 1f, job.A, job.K, (ushort*)job.Panels + first, job.Beta, bias, job.C + j0, job.N);
            }
            else
            {
                blk_sgemm_panels(job.Isa, job.M, j1 - j0, job.K, 1f, job.A, job.K, (float*)job.Panels + first, job.Beta, bias, job.C + j0, job.N);
            }

            return;
        }

        // bfloat16 panels without the kernels. A bias is written into the slice's rows of C first, which the
        // first block then adds to (β = 1; a bias comes with β = 0).
        float beta = job.Beta;
        if (job.Bias is not null)
        {
            var biasSlice = new ReadOnlySpan<float>(job.Bias + j0, j1 - j0);
            for (int i = 0; i < job.M; i++)
            {
                biasSlice.CopyTo(new Span<float>(job.C + (long)i * job.N + j0, j1 - j0));
            }

            beta = 1f;
        }

        long panelLength = (long)job.K * WeightPanels.Width;

        // Blocks of the slice's panels, WidenedPanels wide and WidenedDepth deep, widened into a row-major
        // [kc, w] block as they are stored and multiplied at once; later blocks of k add to C (β = 1).
        float* work = job.Work + part * job.WorkPerPart;
        for (int j = j0; j < j1; j += WidenedPanels * WeightPanels.Width)
        {
            int w = Math.Min(WidenedPanels * WeightPanels.Width, j1 - j);
            int panelCount = (w + WeightPanels.Width - 1) / WeightPanels.Width;
            int ldw = panelCount * WeightPanels.Width;
            for (int p0 = 0; p0 < job.K; p0 += WidenedDepth)
            {
                int kc = Math.Min(WidenedDepth, job.K - p0);
                for (int v = 0; v < panelCount; v++)
                {
                    ushort* panel = (ushort*)job.Panels + (j / WeightPanels.Width + v) * panelLength + (long)p0 * WeightPanels.Width;
                    for (int p = 0; p < kc; p++)
                    {
                        BFloat16Bits.Widen(new ReadOnlySpan<ushort>(panel + (long)p * WeightPanels.Width, WeightPanels.Width),
                            new Span<float>(work + (long)p * ldw + v * WeightPanels.Width, WeightPanels.Width));
                    }
                }

                MultiplyWidened(ref job, w, kc, job.A + p0, work, ldw, p0 == 0 ? beta : 1f, job.C + j);
                if (job.OneDnnStatus != Success)
                {
                    return;
                }
            }
        }
    }

    /// <summary>C[:, block] = A[:, p0..]·block + β·C on this thread (OpenBLAS: on its own threads, the call unsplit).</summary>
    private static unsafe void MultiplyWidened(ref PanelJob job, int w, int kc, float* a, float* block, int ldb, float beta, float* c)
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

    /// <summary>One product with a weight in panels; only one split product runs at a time (the caller holds the whole gate).</summary>
    private unsafe struct PanelJob(
        bool kernels, bool bfloat16, int isa, bool oneDnn, int m, int n, int k, int parts,
        float* a, void* panels, float beta, float* bias, float* c, float* work, long workPerPart,
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads) : ISplitJob<PanelJob>
    {
        public readonly bool Kernels = kernels;
        public readonly bool BFloat16 = bfloat16;
        public readonly int Isa = isa;
        public readonly bool OneDnn = oneDnn;
        public readonly int M = m;
        public readonly int N = n;
        public readonly int K = k;
        public readonly int Parts = parts;
        public readonly float* A = a;
        public readonly void* Panels = panels;
        public readonly float Beta = beta;
        public readonly float* Bias = bias;
        public readonly float* C = c;
        public readonly float* Work = work;
        public readonly long WorkPerPart = workPerPart;
        public readonly delegate* unmanaged<int, void> SetOmpThreads = setOmpThreads;
        public readonly delegate* unmanaged<int> GetOmpThreads = getOmpThreads;
        public int OneDnnStatus;

        public readonly int Status => OneDnnStatus;

        public static void RunSlice(ref PanelJob job, int part) => RunPanelSlice(ref job, part);
    }
}
