using System.Globalization;
using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;
using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>Products with a bfloat16 weight (<see cref="CpuBFloat16Weight"/>).</summary>
/// <remarks>
/// Up to <see cref="BFloat16KernelsUpTo"/> rows the kernels read the bfloat16 weight and widen it in registers:
/// the product is bound by reading the weight, and half the bytes is about half the time. Past that the
/// arithmetic dominates, and the fastest float32 provider wins: each thread widens a block of its slice of
/// the weight into its own work memory, sized to stay in its cache, and multiplies by it with that provider
/// on one thread, block after block. Slices, threads and the gate are those of float32 products.
/// </remarks>
internal sealed partial class CpuRouter
{
    /// <summary>Rows up to which the kernels multiply by the bfloat16 weight directly.</summary>
    internal const int BFloat16KernelsUpTo = 4;

    /// <summary>Rows up to which the kernels multiply by a weight of at least <see cref="BFloat16LargeWeight"/> elements directly.</summary>
    internal const int BFloat16LargeKernelsUpTo = 16;

    /// <summary>A weight this large (8 MiB of bfloat16) streams from memory at every call, whatever the batch.</summary>
    internal const long BFloat16LargeWeight = 1L << 22;

    /// <summary>Columns of a widened block (whole 16-column vectors).</summary>
    internal const int WidenedColumns = 512;

    /// <summary>Rows of k in a widened block: with <see cref="WidenedColumns"/>, 1 MiB of float32.</summary>
    internal const int WidenedDepth = 512;


    /// <summary>
    /// C[m, n] = A[m, k]·op(W) + β·C with W bfloat16: stored [n, k] when <paramref name="transB"/> is
    /// <see cref="Transpose.Trans"/>, [k, n] otherwise; A, C contiguous. m, n, k ≥ 1, all checked by the caller.
    /// </summary>
    /// <exception cref="InvalidOperationException">oneDNN failed (out of memory).</exception>
    public unsafe void GemmBFloat16(Transpose transB, int m, int n, int k, float* a, ushort* b, float beta, float* c)
    {
        bool kernels = Providers.HasKernels && UsesBFloat16Kernels(m, n, k);
        // Widened blocks go to oneDNN where it is, else to the float32 kernels, else to OpenBLAS. Each slice's
        // thread multiplies its own blocks, but OpenBLAS runs its own threads and oneDNN splits only when its
        // team can be held to one thread: those take the product unsplit.
        bool oneDnn = !kernels && Providers.HasOneDnn;
        bool perThread = kernels || (oneDnn ? _oneDnnSplits : Providers.HasKernels);
        int parts = CpuRouteTable.IsSmall(m, n, k) || !perThread ? 1 : Math.Min(CpuGate.Threads, Math.Max(1, n / 16));
        long workPerPart = kernels ? 0 : (long)WidenedColumns * WidenedDepth;
        CpuScratch.Block work = kernels ? default : CpuScratch.Rent(workPerPart * parts);
        try
        {
            var job = new BFloat16Job(kernels, transB == Transpose.Trans, Providers.Isa, oneDnn, m, n, k, parts,
                a, b, beta, c, work.Pointer, workPerPart, _setOmpThreads, _getOmpThreads);
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

    /// <summary>Whether the kernels multiply by the bfloat16 weight directly at this shape (else widened blocks).</summary>
    internal static bool UsesBFloat16Kernels(int m, int n, int k) =>
        m <= BFloat16KernelsUpTo || (m <= BFloat16LargeKernelsUpTo && (long)n * k >= BFloat16LargeWeight);


    private static unsafe void RunBFloat16Slice(ref BFloat16Job job, int part)
    {
        int j0 = Boundary(job.N, part, job.Parts), j1 = Boundary(job.N, part + 1, job.Parts);
        if (j1 <= j0)
        {
            return;
        }

        if (job.Kernels)
        {
            // Column j of op(W) starts at W + j·k when W is stored [n, k], at W + j when stored [k, n].
            if (job.Transposed)
            {
                blk_sgemm_abt_bf16(job.Isa, job.M, j1 - j0, job.K, 1f, job.A, job.K, job.B + (long)j0 * job.K, job.K, job.Beta, job.C + j0, job.N);
            }
            else
            {
                blk_sgemm_ab_bf16(job.Isa, job.M, j1 - j0, job.K, 1f, job.A, job.K, job.B + j0, job.N, job.Beta, job.C + j0, job.N);
            }

            return;
        }

        // Blocks of the slice's weight, WidenedColumns wide and WidenedDepth deep (1 MiB of float32, in L2),
        // widened as they are stored and multiplied at once; later blocks of k add to C (β = 1).
        float* work = job.Work + part * job.WorkPerPart;
        for (int j = j0; j < j1; j += WidenedColumns)
        {
            int w = Math.Min(WidenedColumns, j1 - j);
            for (int p0 = 0; p0 < job.K; p0 += WidenedDepth)
            {
                int kc = Math.Min(WidenedDepth, job.K - p0);
                if (job.Transposed)
                {
                    // Rows [j, j + w) of W [n, k], columns [p0, p0 + kc): a [w, kc] block.
                    for (int r = 0; r < w; r++)
                    {
                        BFloat16Bits.Widen(new ReadOnlySpan<ushort>(job.B + (long)(j + r) * job.K + p0, kc), new Span<float>(work + (long)r * kc, kc));
                    }
                }
                else
                {
                    // Rows [p0, p0 + kc) of W [k, n], columns [j, j + w): a [kc, w] block.
                    for (int p = 0; p < kc; p++)
                    {
                        BFloat16Bits.Widen(new ReadOnlySpan<ushort>(job.B + (long)(p0 + p) * job.N + j, w), new Span<float>(work + (long)p * w, w));
                    }
                }

                MultiplyWidened(ref job, w, kc, job.A + p0, work, p0 == 0 ? job.Beta : 1f, job.C + j);
                if (job.OneDnnStatus != Success)
                {
                    return;
                }
            }
        }
    }

    /// <summary>C[:, block] = A[:, p0..]·op(block) + β·C on this thread (OpenBLAS: on its own threads, the call unsplit).</summary>
    private static unsafe void MultiplyWidened(ref BFloat16Job job, int w, int kc, float* a, float* block, float beta, float* c)
    {
        Transpose transB = job.Transposed ? Transpose.Trans : Transpose.NoTrans;
        int ldb = job.Transposed ? kc : w;
        if (job.OneDnn)
        {
            RecordOneDnn(ref job.OneDnnStatus, OneDnnSingleThreaded(job.SetOmpThreads, job.GetOmpThreads,
                Transpose.NoTrans, transB, job.M, w, kc, 1f, a, job.K, block, ldb, beta, c, job.N));
        }
        else if (job.Isa != IsaNone)
        {
            if (job.Transposed)
            {
                blk_sgemm_abt(job.Isa, job.M, w, kc, 1f, a, job.K, block, ldb, beta, c, job.N);
            }
            else
            {
                blk_sgemm_ab(job.Isa, job.M, w, kc, 1f, a, job.K, block, ldb, beta, c, job.N);
            }
        }
        else
        {
            cblas_sgemm(CblasOrder.RowMajor, Transpose.NoTrans.ToCblas(), transB.ToCblas(), job.M, w, kc,
                1f, a, job.K, block, ldb, beta, c, job.N);
        }
    }

    /// <summary>One product with a bfloat16 weight; only one split product runs at a time (the caller holds the whole gate).</summary>
    private unsafe struct BFloat16Job(
        bool kernels, bool transposed, int isa, bool oneDnn, int m, int n, int k, int parts,
        float* a, ushort* b, float beta, float* c, float* work, long workPerPart,
        delegate* unmanaged<int, void> setOmpThreads, delegate* unmanaged<int> getOmpThreads) : ISplitJob<BFloat16Job>
    {
        public readonly bool Kernels = kernels;
        public readonly bool Transposed = transposed;
        public readonly int Isa = isa;
        public readonly bool OneDnn = oneDnn;
        public readonly int M = m;
        public readonly int N = n;
        public readonly int K = k;
        public readonly int Parts = parts;
        public readonly float* A = a;
        public readonly ushort* B = b;
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
