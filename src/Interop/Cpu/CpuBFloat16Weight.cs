namespace BlasLinear.Backends;

/// <summary>
/// A weight prepared on the CPU as bfloat16 (<see cref="WeightPrecision.BFloat16"/>): a copy of W rounded to
/// nearest, ties to even, in the kernels' panels (<see cref="BFloat16Panels"/>, whatever W's layout), rebuilt
/// after every write to W. Products read it through <see cref="CpuRouter.GemmBFloat16"/>; the float32 weight
/// is never read to multiply, so it may be freed while this lives.
/// </summary>
internal sealed class CpuBFloat16Weight : PreparedWeight
{
    private readonly CpuBackend _cpu;
    private readonly AlignedHostMemoryHandle _bits;

    public CpuBFloat16Weight(CpuBackend backend, BlasBuffer weight, Transpose trans, int n, int k)
        : base(backend, weight, trans, n, k, WeightPrecision.BFloat16)
    {
        _cpu = backend;
        _bits = AlignedHostMemoryHandle.Allocate(checked(BFloat16Panels.Length(n, k) * sizeof(ushort)));
        try
        {
            Refresh();
        }
        catch
        {
            _bits.Dispose();
            throw;
        }
    }

    /// <summary>Elements of the weight.</summary>
    private long Count => (long)N * K;

    /// <summary>W is stored [n, k] (<c>Linear</c>): its rows are the columns of op(W).</summary>
    private bool Transposed => Trans == Transpose.Trans;

    internal override unsafe void Refresh()
    {
        bool weightAdded = false, bitsAdded = false;
        try
        {
            Weight.Memory.DangerousAddRef(ref weightAdded);
            _bits.DangerousAddRef(ref bitsAdded);
            BFloat16Panels.PackRounded(Weight.Pointer, Transposed, N, K, (ushort*)_bits.DangerousGetHandle());
        }
        finally
        {
            if (bitsAdded)
            {
                _bits.DangerousRelease();
            }

            if (weightAdded)
            {
                Weight.Memory.DangerousRelease();
            }
        }
    }

    /// <summary>The bfloat16 bits, laid out as the weight (tests read them).</summary>
    internal unsafe void CopyToBFloat16(Span<ushort> destination)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfNotEqual(destination.Length, Count, nameof(destination));
        bool added = false;
        try
        {
            _bits.DangerousAddRef(ref added);
            BFloat16Panels.Unpack((ushort*)_bits.DangerousGetHandle(), Transposed, N, K, destination);
        }
        finally
        {
            if (added)
            {
                _bits.DangerousRelease();
            }
        }
    }

    internal override unsafe void MultiplyPinned(int m, float* x, float beta, float* y)
    {
        bool added = false;
        try
        {
            _bits.DangerousAddRef(ref added);
            _cpu.GemmBFloat16(m, N, K, x, (ushort*)_bits.DangerousGetHandle(), beta, y);
        }
        finally
        {
            if (added)
            {
                _bits.DangerousRelease();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _bits.Dispose();
        }
    }

    private protected override unsafe void CopyFromBFloat16Core(ReadOnlySpan<ushort> source)
    {
        bool added = false;
        try
        {
            _bits.DangerousAddRef(ref added);
            BFloat16Panels.Pack(source, Transposed, N, K, (ushort*)_bits.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                _bits.DangerousRelease();
            }
        }
    }

    private protected override void MultiplyCore(int m, ReadOnlyBlasSpan x, float beta, BlasSpan y) =>
        Backend.MultiplyPrepared(this, m, x, beta, y);
}
