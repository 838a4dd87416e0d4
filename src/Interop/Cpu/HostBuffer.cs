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

    private protected override unsafe void Upload(ReadOnlySpan<float> source, long offset)
    {
        float* memory = Acquire();
        try
        {
            source.CopyTo(new Span<float>(memory + offset, source.Length));
        }
        finally
        {
            _memory.ReleasePointer();
        }
    }

    private protected override unsafe void Download(long offset, Span<float> destination)
    {
        float* memory = Acquire();
        try
        {
            new ReadOnlySpan<float>(memory + offset, destination.Length).CopyTo(destination);
        }
        finally
        {
            _memory.ReleasePointer();
        }
    }

    private protected override unsafe void ClearCore()
    {
        float* memory = Acquire();
        try
        {
            for (long done = 0; done < Length; done += int.MaxValue)
            {
                new Span<float>(memory + done, (int)Math.Min(int.MaxValue, Length - done)).Clear();
            }
        }
        finally
        {
            _memory.ReleasePointer();
        }
    }

    /// <summary>The memory, held until <c>ReleasePointer</c>: a concurrent Dispose frees it only after.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    private unsafe float* Acquire()
    {
        byte* memory = null;
        try
        {
            _memory.AcquirePointer(ref memory);
        }
        catch (ObjectDisposedException)
        {
            ThrowIfDisposed();
            throw;
        }

        return (float*)memory;
    }
}
