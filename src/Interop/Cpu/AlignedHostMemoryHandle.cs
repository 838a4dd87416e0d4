using System.Runtime.InteropServices;

namespace BlasLinear.Backends;

/// <summary>
/// Owns one block of 64-byte-aligned, zero-filled native memory (a cache line, and the widest vector
/// load OpenBLAS's kernels issue). Every access goes through <see cref="SafeBuffer.AcquirePointer"/> and
/// <see cref="SafeBuffer.ReleasePointer"/>, so a block is freed only once no access is under way, and an
/// access after it was freed throws <see cref="ObjectDisposedException"/>. The GC is told about the block
/// so that forgotten buffers are collected on memory pressure, not only on managed allocation.
/// </summary>
internal sealed class AlignedHostMemoryHandle : SafeBuffer
{
    private const nuint Alignment = 64;
    private static long s_live;
    private readonly long _bytes;

    private AlignedHostMemoryHandle(long bytes)
        : base(ownsHandle: true)
    {
        _bytes = bytes;
    }

    /// <summary>Blocks allocated and not yet freed, process-wide; the lifetime tests read it.</summary>
    internal static long LiveCount => Interlocked.Read(ref s_live);

    /// <exception cref="InsufficientMemoryException">The process cannot get that much memory, or the allocation failed.</exception>
    public static unsafe AlignedHostMemoryHandle Allocate(long bytes)
    {
        // Zero-filling touches every page: compare first, so that a cgroup's limit is an exception, not a kill.
        HostMemory.EnsureAvailable(bytes);
        var owner = new AlignedHostMemoryHandle(bytes);
        // A zero-length request still gets a real block so that the pointer is never null.
        nuint size = (nuint)Math.Max(bytes, (long)Alignment);
        void* memory = NativeMemory.AlignedAlloc(size, Alignment);
        if (memory is null)
        {
            owner.SetHandleAsInvalid();
            throw new InsufficientMemoryException($"Could not allocate {bytes} bytes of aligned host memory.");
        }

        NativeMemory.Clear(memory, size);
        owner.SetHandle((nint)memory);
        owner.Initialize((ulong)size);
        Interlocked.Increment(ref s_live);
        if (bytes > 0)
        {
            GC.AddMemoryPressure(bytes);
        }

        return owner;
    }

    protected override unsafe bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        Interlocked.Decrement(ref s_live);
        if (_bytes > 0)
        {
            GC.RemoveMemoryPressure(_bytes);
        }

        return true;
    }
}
