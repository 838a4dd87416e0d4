namespace BlasLinear.Backends;

/// <summary>
/// Float memory owned by a backend: aligned host memory for OpenBLAS, device memory for CUDA. Created by
/// <see cref="BlasBackend.Allocate(int[])"/>, zero-filled, freed by <see cref="Dispose()"/> or, if
/// forgotten, by the finalizer of the handle that owns it.
/// </summary>
public abstract class BlasBuffer : IDisposable
{
    private readonly int[] _shape;
    private PreparedWeight? _prepared;

    private protected BlasBuffer(BlasBackend backend, int[] shape, long length)
    {
        Backend = backend;
        _shape = shape;
        Length = length;
    }

    /// <summary>The backend whose memory this is.</summary>
    public BlasBackend Backend { get; }

    /// <summary>The number of floats.</summary>
    public long Length { get; }

    /// <summary>The shape given at allocation; used in messages and by layers.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>True when the memory is on the host and <see cref="AsSpan"/> can be used.</summary>
    public abstract bool IsHostAccessible { get; }

    /// <summary>True once disposed.</summary>
    public abstract bool IsDisposed { get; }

    /// <summary>The shape as PyTorch prints it, e.g. <c>[7, 5]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", _shape) + "]";

    /// <summary>True while a <see cref="PreparedWeight"/> made from this buffer lives (a layer prepared for inference).</summary>
    public bool IsPrepared => Volatile.Read(ref _prepared) is not null;

    /// <summary>The memory as a writable span.</summary>
    /// <remarks>The span is valid only while the buffer lives: it must not be used after <see cref="Dispose()"/>.</remarks>
    /// <exception cref="NotSupportedException">The memory is not on the host.</exception>
    /// <exception cref="InvalidOperationException">The buffer holds more than <see cref="int.MaxValue"/> floats, or it is a weight prepared for inference (writes through a span could not refresh the prepared form).</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public Span<float> AsSpan()
    {
        ThrowIfPrepared();
        return HostSpan();
    }

    /// <summary>The memory as a read-only span.</summary>
    /// <exception cref="NotSupportedException">The memory is not on the host.</exception>
    /// <exception cref="InvalidOperationException">The buffer holds more than <see cref="int.MaxValue"/> floats.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public ReadOnlySpan<float> AsReadOnlySpan() => HostSpan();

    /// <summary>Copies <paramref name="source"/> into the whole buffer.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> does not have <see cref="Length"/> elements.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        ThrowIfDisposed();
        if (source.Length != Length)
        {
            throw new ArgumentException(
                $"{ShapeText} needs {Length} elements; got {source.Length}.", nameof(source));
        }

        Upload(source, 0);
        Volatile.Read(ref _prepared)?.Refresh();
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the elements from <paramref name="offset"/> on: a buffer written
    /// in pieces, without a host array as large as itself. A prepared weight is refreshed after each call.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyFrom(ReadOnlySpan<float> source, long offset)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > Length - source.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"offset={offset} + {source.Length} elements runs past {ShapeText}'s {Length} elements.");
        }

        Upload(source, offset);
        Volatile.Read(ref _prepared)?.Refresh();
    }

    /// <summary>Copies the whole buffer into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not have <see cref="Length"/> elements.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyTo(Span<float> destination)
    {
        ThrowIfDisposed();
        if (destination.Length != Length)
        {
            throw new ArgumentException(
                $"{ShapeText} has {Length} elements; the destination has {destination.Length}.", nameof(destination));
        }

        Download(0, destination);
    }

    /// <summary>The buffer's contents in a new array.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public float[] ToArray()
    {
        ThrowIfDisposed();
        var result = new float[checked((int)Length)];
        Download(0, result);
        return result;
    }

    /// <summary>Sets every element to zero.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void Clear()
    {
        ThrowIfDisposed();
        ClearCore();
        Volatile.Read(ref _prepared)?.Refresh();
    }

    /// <summary>A range of the buffer, for the backend's operations.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    /// <exception cref="InvalidOperationException">The buffer is a weight prepared for inference.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public BlasSpan Slice(long offset, long length)
    {
        ThrowIfDisposed();
        ThrowIfPrepared();
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(length), $"offset={offset} + length={length} runs past the buffer's {Length} elements.");
        }

        return new BlasSpan(this, offset, length);
    }

    /// <summary>Frees the memory; a second call does nothing.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory.</summary>
    protected abstract void Dispose(bool disposing);

    /// <summary>The address of element 0 in the backend's memory space.</summary>
    internal abstract unsafe float* Pointer { get; }

    /// <summary>The handle that owns the memory; leased across native calls.</summary>
    internal abstract System.Runtime.InteropServices.SafeHandle Memory { get; }

    /// <summary>Copies <paramref name="source"/> into the first elements.</summary>
    internal void CopyPrefixFrom(ReadOnlySpan<float> source)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(source.Length, Length, nameof(source));
        Upload(source, 0);
    }

    /// <summary>Records the prepared form made from this buffer, refreshed on every write.</summary>
    /// <exception cref="InvalidOperationException">The buffer is already prepared.</exception>
    internal void Attach(PreparedWeight prepared)
    {
        if (Interlocked.CompareExchange(ref _prepared, prepared, null) is not null)
        {
            throw new InvalidOperationException($"BlasBuffer {ShapeText} is already prepared; dispose the earlier PreparedWeight first.");
        }
    }

    internal void Detach(PreparedWeight prepared) => Interlocked.CompareExchange(ref _prepared, null, prepared);

    /// <summary>Refuses a writable view of a prepared weight.</summary>
    /// <exception cref="InvalidOperationException">The buffer is prepared.</exception>
    internal void ThrowIfPrepared()
    {
        if (IsPrepared)
        {
            throw new InvalidOperationException(
                $"BlasBuffer {ShapeText} is a weight prepared for inference, so writable views of it are refused (writes through them could not refresh the prepared form). "
                + "Write it with CopyFrom, which refreshes it, read it with AsReadOnlySpan or CopyTo, or end the preparation first (layer.PrepareForTraining()).");
        }
    }

    /// <summary>The host memory as a span.</summary>
    private protected abstract Span<float> HostSpan();

    /// <summary>Copies elements starting at <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    internal void CopyRangeTo(long offset, Span<float> destination)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + destination.Length, Length, nameof(destination));
        Download(offset, destination);
    }

    private protected abstract void Upload(ReadOnlySpan<float> source, long offset);

    private protected abstract void Download(long offset, Span<float> destination);

    private protected abstract void ClearCore();

    /// <exception cref="ObjectDisposedException">The buffer was disposed; the message names it and its shape.</exception>
    internal void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            ThrowDisposed();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException($"BlasBuffer {ShapeText}");
}
