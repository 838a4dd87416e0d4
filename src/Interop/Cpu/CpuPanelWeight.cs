namespace BlasLinear.Backends;

/// <summary>
/// A weight prepared on the CPU in the kernels' panels (<see cref="WeightPanels"/>, whatever W's layout):
/// float32, or bfloat16 rounded to nearest, ties to even (<see cref="WeightPrecision.BFloat16"/>); rebuilt after
/// every write to W. Products read it through <see cref="CpuRouter.GemmPanels"/>, one kernel at every batch;
/// W itself is never read to multiply, so a bfloat16 form may outlive the float32 weight.
/// </summary>
/// <remarks>
/// The float32 form is a second copy of the weight (the memory of W again); it is made only when the routing
/// has the kernels (<see cref="CpuBackend.PreparesPanels"/>). The bfloat16 form is half of W's memory.
/// </remarks>
internal sealed class CpuPanelWeight : PreparedWeight
{
    private readonly CpuBackend _cpu;
    private readonly AlignedHostMemoryHandle _panels;

    public CpuPanelWeight(CpuBackend backend, BlasBuffer weight, Transpose trans, int n, int k, WeightPrecision precision)
        : base(backend, weight, trans, n, k, precision)
    {
        _cpu = backend;
        int elementSize = precision == WeightPrecision.BFloat16 ? sizeof(ushort) : sizeof(float);
        _panels = AlignedHostMemoryHandle.Allocate(checked(WeightPanels.Length(n, k) * elementSize));
        try
        {
            Refresh();
        }
        catch
        {
            _panels.Dispose();
            throw;
        }
    }

    /// <summary>W is stored [n, k] (<c>Linear</c>): its rows are the columns of op(W).</summary>
    private bool Transposed => Trans == Transpose.Trans;

    private bool IsBFloat16 => Precision == WeightPrecision.BFloat16;

    internal override unsafe void Refresh()
    {
        using var weight = new BlasBackend.Lease(Weight);
        using var panels = new BlasBackend.Lease(_panels);
        nint destination = _panels.DangerousGetHandle();
        if (IsBFloat16)
        {
            WeightPanels.PackRounded(Weight.Pointer, Transposed, N, K, (ushort*)destination);
        }
        else
        {
            WeightPanels.Pack(Weight.Pointer, Transposed, N, K, (float*)destination);
        }
    }

    /// <summary>The float32 panels' elements, laid out as the weight (tests read them).</summary>
    internal void CopyTo(Span<float> destination) => Unpack(destination, WeightPrecision.Float32);

    /// <summary>The bfloat16 bits, laid out as the weight (tests read them).</summary>
    internal void CopyToBFloat16(Span<ushort> destination) => Unpack(destination, WeightPrecision.BFloat16);

    internal override unsafe void MultiplyPinned(int m, float* x, float* bias, float beta, float* y)
    {
        using var panels = new BlasBackend.Lease(_panels);
        _cpu.GemmPanels(Precision, m, N, K, x, (void*)_panels.DangerousGetHandle(), beta, bias, y);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _panels.Dispose();
        }
    }

    private protected override unsafe void CopyFromBFloat16Core(ReadOnlySpan<ushort> source)
    {
        using var panels = new BlasBackend.Lease(_panels);
        fixed (ushort* bits = source)
        {
            WeightPanels.Pack(bits, Transposed, N, K, (ushort*)_panels.DangerousGetHandle());
        }
    }

    private protected override void MultiplyCore(int m, ReadOnlyBlasSpan x, float beta, BlasSpan y) =>
        Backend.MultiplyPrepared(this, m, x, beta, y);

    /// <summary>The kernels add the bias as they store each tile of Y (no pass writing it first).</summary>
    private protected override void MultiplyWithBiasCore(int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan bias, BlasSpan y) =>
        Backend.MultiplyPrepared(this, m, x, bias, y);

    /// <summary>The panels' elements of type <typeparamref name="T"/> (the form's <paramref name="precision"/>), laid out as the weight.</summary>
    private unsafe void Unpack<T>(Span<T> destination, WeightPrecision precision)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Precision != precision)
        {
            throw new InvalidOperationException($"This prepared weight is {Precision}, not {precision}.");
        }

        ArgumentOutOfRangeException.ThrowIfNotEqual(destination.Length, (long)N * K, nameof(destination));
        using var panels = new BlasBackend.Lease(_panels);
        WeightPanels.Unpack((T*)_panels.DangerousGetHandle(), Transposed, N, K, destination);
    }
}
