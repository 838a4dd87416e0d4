namespace BlasLinear.Backends;

/// <summary>
/// Staging on a CUDA device: one device buffer with a page-locked host mirror per operand position,
/// grown for a larger call and reused after. Host data moves through the mirror, so every copy is from
/// page-locked memory and truly asynchronous; scopes take turns, since they share the buffers.
/// </summary>
internal sealed class CudaHostStaging(CudaBackend backend) : HostStaging(backend)
{
    private readonly CudaBackend _backend = backend;
    private readonly Lock _turn = new();
    private readonly List<CudaBuffer?> _buffers = [];
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
            foreach (CudaBuffer? buffer in _buffers)
            {
                buffer?.Dispose();
            }

            _buffers.Clear();
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
        CudaBuffer buffer = Reserve(index, host.Length);
        buffer.CopyPrefixFrom(host);
        return new ReadOnlyBlasSpan(buffer, 0, host.Length);
    }

    internal override BlasSpan Out(int index, Span<float> host, bool copyIn)
    {
        CudaBuffer buffer = Reserve(index, host.Length);
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

    private CudaBuffer Reserve(int index, int length)
    {
        while (_buffers.Count <= index)
        {
            _buffers.Add(null);
        }

        CudaBuffer? buffer = _buffers[index];
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            _buffers[index] = null;
            buffer = new CudaBuffer(_backend, [length], length, pageLockedMirror: true);
            _buffers[index] = buffer;
        }

        return buffer;
    }
}
