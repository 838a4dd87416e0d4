using static BlasLinear.Native.Interop.OpenBlas;

namespace BlasLinear.Backends;

/// <summary>
/// The process-wide gate every call into a CPU provider (OpenBLAS, BlasLinear's kernels, oneDNN) passes;
/// the kernels and oneDNN run on <see cref="Threads"/> threads too, so one setting governs them all. Debian's OpenBLAS 0.3.21 fails in two ways
/// under concurrency: multithreaded GEMMs running at once race on its shared thread-pool state (with
/// different transpose flags they give wrong results), and when more callers are inside it than it has
/// buffers for, it prints "Program is Terminated" to stdout and aborts. So:
/// <list type="bullet">
/// <item>while OpenBLAS uses more than one thread per call, one call is inside at a time, with all the
/// cores; concurrent callers queue;</item>
/// <item>while it uses one thread per call, up to one call per core runs at once, each single-threaded,
/// which is how many small concurrent calls use the machine best.</item>
/// </list>
/// Either way no more callers than cores are ever inside OpenBLAS. Changing the thread count takes the
/// whole gate, so no call runs while the mode changes.
/// </summary>
internal static class CpuGate
{
    private static readonly int s_width = Math.Max(1, Environment.ProcessorCount);
    private static readonly SemaphoreSlim s_slots = new(s_width, s_width);
    private static readonly Lock s_exclusive = new();
    private static int s_threads = -1;

    /// <summary>How many calls may run at once in the current mode.</summary>
    public static int Width => Threads > 1 ? 1 : s_width;

    /// <summary>The thread count OpenBLAS uses per call, read once from the library and kept in step.</summary>
    public static int Threads
    {
        get
        {
            int threads = Volatile.Read(ref s_threads);
            if (threads < 0)
            {
                threads = Math.Max(1, openblas_get_num_threads());
                Interlocked.CompareExchange(ref s_threads, threads, -1);
            }

            return threads;
        }
    }

    /// <summary>Enters the gate; dispose the result to leave it.</summary>
    public static Pass Enter()
    {
        while (true)
        {
            bool whole = Threads > 1;
            Acquire(whole);
            // The mode can only change while the whole gate is held, so once inside it is stable.
            if ((Threads > 1) == whole)
            {
                return new Pass(whole);
            }

            Release(whole);
        }
    }

    /// <summary>Sets OpenBLAS's thread count with no call inside.</summary>
    public static void SetThreads(int count)
    {
        Acquire(whole: true);
        try
        {
            openblas_set_num_threads(count);
            Volatile.Write(ref s_threads, Math.Max(1, openblas_get_num_threads()));
        }
        finally
        {
            Release(whole: true);
        }
    }

    private static void Acquire(bool whole)
    {
        if (!whole)
        {
            s_slots.Wait();
            return;
        }

        // Taking every slot under one lock: two whole-gate takers never hold part of it each.
        lock (s_exclusive)
        {
            for (int taken = 0; taken < s_width; taken++)
            {
                s_slots.Wait();
            }
        }
    }

    private static void Release(bool whole) => s_slots.Release(whole ? s_width : 1);

    /// <summary>One caller's passage through the gate.</summary>
    public readonly struct Pass(bool whole) : IDisposable
    {
        public void Dispose() => Release(whole);
    }
}
