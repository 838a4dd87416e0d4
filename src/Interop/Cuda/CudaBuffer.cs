using System.Runtime.InteropServices;
using static BlasLinear.Native.Interop.CudaRuntime;

namespace BlasLinear.Backends;

/// <summary>
/// A <see cref="BlasBuffer"/> in device memory. Copies run on the backend's stream, so they are ordered
/// with its computations; a copy to the host waits for the stream. A staging buffer also owns a
/// page-locked host mirror through which host data moves, which lets the copy engine run at full speed.
/// Every copy holds the backend (a call counted in) and the buffer's own memory (a SafeHandle reference) for
/// its whole length, so a concurrent Dispose of either frees nothing under it: the copy runs to its end, or
/// fails with <see cref="ObjectDisposedException"/> before it starts.
/// </summary>
internal sealed class CudaBuffer : BlasBuffer
{
    private readonly CudaBackend _backend;
    private readonly CudaDeviceMemoryHandle _memory;
    private readonly CudaHostMemoryHandle? _mirror;

    internal CudaBuffer(CudaBackend backend, int[] shape, long length, bool pageLockedMirror)
        : base(backend, shape, length)
    {
        _backend = backend;
        long bytes = checked(Math.Max(1, length) * sizeof(float));
        using CudaBackend.Call call = backend.Enter();
        _memory = backend.AllocateDevice(bytes);
        try
        {
            if (pageLockedMirror)
            {
                _mirror = backend.AllocatePageLocked(bytes);
            }

            ClearCore();
        }
        catch
        {
            _mirror?.Dispose();
            _memory.Dispose();
            throw;
        }
    }

    public override bool IsHostAccessible => false;

    public override bool IsDisposed => _memory.IsClosed;

    internal override unsafe float* Pointer
    {
        get
        {
            ThrowIfDisposed();
            return (float*)_memory.DangerousGetHandle();
        }
    }

    internal override SafeHandle Memory => _memory;

    private protected override Span<float> HostSpan() =>
        throw new NotSupportedException($"BlasBuffer {ShapeText} is in device memory; use CopyTo or CopyFrom.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _memory.Dispose();
            _mirror?.Dispose();
        }
    }

    private protected override unsafe void Upload(ReadOnlySpan<float> source, long offset)
    {
        if (source.IsEmpty)
        {
            return;
        }

        using Use use = new(this);
        nuint bytes = (nuint)source.Length * sizeof(float);
        float* device = Pointer + offset;
        if (_mirror is not null)
        {
            float* mirror = (float*)_mirror.DangerousGetHandle() + offset;
            // The previous transfer through the mirror must be complete before it is overwritten.
            CudaException.ThrowIfFailed(cudaStreamSynchronize(_backend.Stream), _backend);
            source.CopyTo(new Span<float>(mirror, source.Length));
            CudaException.ThrowIfFailed(cudaMemcpyAsync(device, mirror, bytes, MemcpyKind.HostToDevice, _backend.Stream), _backend);
            return;
        }

        fixed (float* host = source)
        {
            // A copy from pageable memory may still be queued when cudaMemcpyAsync returns: the source must
            // stay pinned and unchanged until the stream has run it.
            CudaException.ThrowIfFailed(cudaMemcpyAsync(device, host, bytes, MemcpyKind.HostToDevice, _backend.Stream), _backend);
            CudaException.ThrowIfFailed(cudaStreamSynchronize(_backend.Stream), _backend);
        }
    }

    /// <summary>Sets every element to <paramref name="value"/> through the page-locked mirror.</summary>
    internal unsafe void Fill(float value)
    {
        if (_mirror is null)
        {
            throw new InvalidOperationException("Only a buffer with a page-locked mirror can be filled from the host.");
        }

        using Use use = new(this);
        float* mirror = (float*)_mirror.DangerousGetHandle();
        CudaException.ThrowIfFailed(cudaStreamSynchronize(_backend.Stream), _backend);
        new Span<float>(mirror, checked((int)Length)).Fill(value);
        CudaException.ThrowIfFailed(cudaMemcpyAsync(Pointer, mirror, (nuint)Length * sizeof(float), MemcpyKind.HostToDevice, _backend.Stream), _backend);
    }

    private protected override unsafe void Download(long offset, Span<float> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }

        using Use use = new(this);
        nuint bytes = (nuint)destination.Length * sizeof(float);
        float* device = Pointer + offset;
        if (_mirror is not null)
        {
            float* mirror = (float*)_mirror.DangerousGetHandle() + offset;
            CudaException.ThrowIfFailed(cudaMemcpyAsync(mirror, device, bytes, MemcpyKind.DeviceToHost, _backend.Stream), _backend);
            CudaException.ThrowIfFailed(cudaStreamSynchronize(_backend.Stream), _backend);
            new ReadOnlySpan<float>(mirror, destination.Length).CopyTo(destination);
            return;
        }

        fixed (float* host = destination)
        {
            CudaException.ThrowIfFailed(cudaMemcpyAsync(host, device, bytes, MemcpyKind.DeviceToHost, _backend.Stream), _backend);
            CudaException.ThrowIfFailed(cudaStreamSynchronize(_backend.Stream), _backend);
        }
    }

    private protected override unsafe void ClearCore()
    {
        using Use use = new(this);
        CudaException.ThrowIfFailed(cudaMemsetAsync((void*)_memory.DangerousGetHandle(), 0, (nuint)(Math.Max(1, Length) * sizeof(float)), _backend.Stream), _backend);
    }

    /// <summary>One copy's hold on the backend and on this buffer's memory and mirror.</summary>
    private ref struct Use
    {
        private CudaBackend.Call _call;
        private SafeHandle? _memory;
        private SafeHandle? _mirror;

        public Use(CudaBuffer buffer)
        {
            _call = buffer._backend.Enter();
            try
            {
                _memory = AddRef(buffer._memory, buffer);
                _mirror = buffer._mirror is null ? null : AddRef(buffer._mirror, buffer);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            _mirror?.DangerousRelease();
            _memory?.DangerousRelease();
            _call.Dispose();
            this = default;
        }

        private static SafeHandle AddRef(SafeHandle handle, CudaBuffer buffer)
        {
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException($"BlasBuffer {buffer.ShapeText}");
            }

            return handle;
        }
    }
}
