using System.Runtime.InteropServices;

namespace BlasLinear.Backends;

/// <summary>
/// Work memory for routes that compute into a temporary (the swapped oneDNN product). Blocks are rented
/// only by a caller inside <see cref="CpuGate"/>, so no more blocks than the gate's width ever exist; each
/// grows to the largest request it has served and is kept for the life of the process, like OpenBLAS's
/// own buffers, so that repeated calls allocate nothing.
/// </summary>
internal static unsafe class CpuScratch
{
    private const nuint Alignment = 64;
    private static readonly Stack<Block> s_free = new();
    private static readonly Lock s_lock = new();

    /// <summary>A block of at least <paramref name="floats"/> floats; give it back with <see cref="Return"/>.</summary>
    /// <exception cref="InsufficientMemoryException">The block could not be grown.</exception>
    public static Block Rent(long floats)
    {
        Block block;
        lock (s_lock)
        {
            block = s_free.Count > 0 ? s_free.Pop() : default;
        }

        if (block.Capacity >= floats)
        {
            return block;
        }

        NativeMemory.AlignedFree(block.Pointer);
        nuint bytes = checked((nuint)floats * sizeof(float));
        float* memory = (float*)NativeMemory.AlignedAlloc(bytes, Alignment);
        if (memory is null)
        {
            throw new InsufficientMemoryException($"Could not allocate {bytes} bytes of CPU work memory.");
        }

        return new Block(memory, floats);
    }

    public static void Return(Block block)
    {
        lock (s_lock)
        {
            s_free.Push(block);
        }
    }

    /// <summary>Native memory the pool owns; a renter uses it until it returns it.</summary>
    internal readonly struct Block(float* pointer, long capacity)
    {
        public float* Pointer { get; } = pointer;

        public long Capacity { get; } = capacity;
    }
}
