using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace BlasLinear.Backends;

/// <summary>
/// BlasLinear's one pool of CPU threads, for the routes it runs itself (its kernels, and oneDNN called
/// single-threaded per slice). A product is split into slices; the caller runs slice 0 and one worker
/// each of the others. OpenBLAS keeps its own pool for the products routed to it; <see cref="CpuGate"/>
/// lets one multithreaded call in at a time, so the two pools never compute at once.
/// </summary>
/// <remarks>
/// After its slice a worker spins for <see cref="SpinMicroseconds"/> (yielding now and then), so that
/// back-to-back calls find it awake, then sleeps on a semaphore. Both the spinning worker and the caller
/// waiting for the last slice look at their flag after every single pause (yielding every 1,024): looking
/// only every 20 pauses, with a yield every 16 looks, cost a split call about 1 µs (a two-slice call of
/// empty slices: 1.0 µs against 0.22 µs; a prepared 1024→1024 forward at batch 1: medians 32.2–32.9 µs against
/// 30.6–31.1 µs, in alternating processes). The spin is short on purpose: a pool
/// that keeps spinning after its last call takes a core from whatever runs next (OpenMP's default spin,
/// about milliseconds, slowed a following OpenBLAS call five-fold on two cores; see README, "CPU routes").
/// Only one split call runs at a time (it holds the whole gate), so the pool needs no queue.
/// </remarks>
internal static class CpuWorkers
{
    /// <summary>How long a worker stays awake after its last slice.</summary>
    public const int SpinMicroseconds = 100;

    private static readonly long s_spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
    private static readonly Lock s_startLock = new();
    private static Worker[] s_workers = [];
    private static Action<int>? s_body;
    private static int s_pending;
    private static Exception? s_failure;

    /// <summary>Runs <paramref name="body"/>(0 … <paramref name="parts"/> − 1), slice 0 on the caller, and returns when all are done.</summary>
    /// <remarks>The caller holds the whole <see cref="CpuGate"/> when <paramref name="parts"/> &gt; 1.</remarks>
    public static void Run(int parts, Action<int> body)
    {
        if (parts <= 1)
        {
            body(0);
            return;
        }

        Worker[] workers = Workers(parts - 1);
        s_body = body;
        s_failure = null;
        Volatile.Write(ref s_pending, parts - 1);
        for (int i = 0; i < parts - 1; i++)
        {
            workers[i].Post(i + 1);
        }

        try
        {
            body(0);
        }
        finally
        {
            int spins = 0;
            while (Volatile.Read(ref s_pending) != 0)
            {
                if (++spins % 1024 == 0)
                {
                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(1);
                }
            }

            s_body = null;
        }

        if (s_failure is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    private static Worker[] Workers(int count)
    {
        Worker[] workers = Volatile.Read(ref s_workers);
        if (workers.Length >= count)
        {
            return workers;
        }

        lock (s_startLock)
        {
            workers = s_workers;
            if (workers.Length < count)
            {
                var grown = new Worker[count];
                workers.CopyTo(grown, 0);
                for (int i = workers.Length; i < count; i++)
                {
                    grown[i] = new Worker(i + 1);
                }

                Volatile.Write(ref s_workers, grown);
                workers = grown;
            }

            return workers;
        }
    }

    /// <summary>A thread that lives as long as the process, so its semaphore is never disposed.</summary>
#pragma warning disable CA1001
    private sealed class Worker
#pragma warning restore CA1001
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _generation;
        private int _part;
        private int _sleeping;

        public Worker(int index)
        {
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = $"BlasLinear CPU worker {index}",
            };
            thread.Start();
        }

        public void Post(int part)
        {
            _part = part;
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleeping) != 0)
            {
                _wake.Release();
            }
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                long since = Stopwatch.GetTimestamp();
                int spins = 0;
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (Stopwatch.GetTimestamp() - since < s_spinTicks)
                    {
                        if (++spins % 1024 == 0)
                        {
                            Thread.Yield();
                        }
                        else
                        {
                            Thread.SpinWait(1);
                        }

                        continue;
                    }

                    // Announce the sleep before the last look, so that a post either sees it or is seen.
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (Volatile.Read(ref _generation) == seen)
                    {
                        _wake.Wait();
                    }

                    Interlocked.Exchange(ref _sleeping, 0);
                    since = Stopwatch.GetTimestamp();
                }

                seen = Volatile.Read(ref _generation);
                try
                {
                    s_body!(_part);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref s_failure, e, null);
                }
                finally
                {
                    Interlocked.Decrement(ref s_pending);
                }
            }
        }
    }
}
