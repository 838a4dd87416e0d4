namespace BlasLinear.Backends;

/// <summary>
/// Staging on a CUDA device: <see cref="CudaStagingBuffers"/> indexed by operand position, so every
/// host copy goes through page-locked memory; scopes take turns, since they share the buffers.
/// </summary>
internal sealed class CudaHostStaging(CudaBackend backend) : HostStaging(backend)
{
    private readonly Lock _turn = new();
    private readonly CudaStagingBuffers _buffers = new(backend);
    private int _disposed;

    public override bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    protected override void Dispose(bool disposing)
    {
        if (!disposing || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_turn)
        {
            _buffers.Dispose();
        }
    }

    internal override void Enter()
    {
        _turn.Enter();
        if (IsDisposed)
        {
            _turn.Exit();
            throw new ObjectDisposedException(nameof(HostStaging));
        }
    }

    internal override void Exit() => _turn.Exit();

    internal override ReadOnlyBlasSpan In(int index, ReadOnlySpan<float> host)
    {
        CudaBuffer buffer = _buffers.Reserve(index, host.Length);
        buffer.CopyPrefixFrom(host);
        return new ReadOnlyBlasSpan(buffer, 0, host.Length);
    }

    internal override BlasSpan Out(int index, Span<float> host, bool copyIn)
    {
        CudaBuffer buffer = _buffers.Reserve(index, host.Length);
        if (copyIn)
        {
            buffer.CopyPrefixFrom(host);
        }

        return new BlasSpan(buffer, 0, host.Length);
    }

    internal override void CopyBack(BlasSpan staged, Span<float> host)
    {
        if (staged.Buffer is null)
        {
            staged.Host.CopyTo(host);
            return;
        }

        staged.Buffer.CopyRangeTo(staged.Offset, host);
    }
}
