namespace BlasLinear.Backends;

/// <summary>
/// A float32 weight prepared on the CPU where the routing has no kernels (they prepare <see cref="CpuPanelWeight"/>:
/// <see cref="CpuBackend.PreparesPanels"/>). For X·Wᵀ with W stored n×k (<c>Linear</c>), oneDNN computes X·W
/// faster from a few rows up (docs/cpu-routes.md), so on <see cref="CpuRouting.Auto"/> the prepared form holds
/// Wᵀ as well, k×n, rebuilt after every write to W; each product takes the direct or the transposed route by
/// its row count alone. Otherwise the weight is multiplied as it is.
/// </summary>
internal sealed class CpuPreparedWeight : PreparedWeight
{
    /// <summary>A row count past every switch of the table, to ask whether any batch takes the copy.</summary>
    private const int AnyLargeBatch = 1 << 20;
    private readonly CpuBackend _cpu;
    private readonly BlasBuffer? _transposed;

    public CpuPreparedWeight(CpuBackend backend, BlasBuffer weight, Transpose trans, int n, int k)
        : base(backend, weight, trans, n, k)
    {
        _cpu = backend;
        if (trans == Transpose.Trans && backend.PrefersTransposedWeight(AnyLargeBatch, n, k))
        {
            _transposed = backend.Allocate(k, n);
            try
            {
                Refresh();
            }
            catch
            {
                _transposed.Dispose();
                throw;
            }
        }
    }

    /// <summary>True when the prepared form holds a transposed copy of the weight.</summary>
    internal bool HoldsTransposedCopy => _transposed is not null;

    internal override void Refresh()
    {
        if (_transposed is not null)
        {
            _cpu.TransposeInto(Weight, N, K, _transposed);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _transposed?.Dispose();
        }
    }

    private protected override void MultiplyCore(int m, ReadOnlyBlasSpan x, float beta, BlasSpan y)
    {
        if (_transposed is not null && _cpu.PrefersTransposedWeight(m, N, K))
        {
            // W[n, k] multiplied as its copy Wᵀ[k, n]: X·Wᵀ computed as the faster X·(Wᵀ), the same Y.
            Backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, m, N, K, 1f, x, K, _transposed, N, beta, y, N);
            return;
        }

        base.MultiplyCore(m, x, beta, y);
    }
}
