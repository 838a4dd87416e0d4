namespace BlasLinear.Backends;

/// <summary>A <see cref="BlasBuffer"/> in aligned host memory.</summary>
internal sealed class HostBuffer : BlasBuffer
{
    private readonly AlignedHostMemoryHandle _memory;

    internal HostBuffer(BlasBackend backend, int[] shape, long length)
        : base(backend, shape, length)
    {
        _memory = AlignedHostMemoryHandle.Allocate(checked(length * sizeof(float)));
    }

    public override bool IsHostAccessible => true;

    public override bool IsDisposed => _memory.IsClosed;

    private protected override unsafe Span<float> HostSpan()
    {
        ThrowIfDisposed();
        if (Length > int.MaxValue)
        {
            throw new InvalidOperationException($"{ShapeText} holds {Length} floats, more than a span can.");
        }

        return new Span<float>(Pointer, (int)Length);
    }

    internal override unsafe float* Pointer
    {
        get
        {
            ThrowIfDisposed();
            return (float*)_memory.DangerousGetHandle();
        }
    }

    internal override System.Runtime.InteropServices.SafeHandle Memory => _memory;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _memory.Dispose();
        }
    }

    private protected override unsafe void Upload(ReadOnlySpan<float> source, long offset) =>
        source.CopyTo(new Span<float>(Pointer + offset, source.Length));

    private protected override unsafe void Download(long offset, Span<float> destination) =>
        new ReadOnlySpan<float>(Pointer + offset, destination.Length).CopyTo(destination);

    private protected override unsafe void ClearCore()
    {
        for (long done = 0; done < Length; done += int.MaxValue)
        {
            new Span<float>(Pointer + done, (int)Math.Min(int.MaxValue, Length - done)).Clear();
        }
    }
}
