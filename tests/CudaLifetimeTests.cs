using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Probe;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The CUDA backend's lifetime under concurrency, on the emulator: per-thread CUDA state that must not
/// outlive the threads that came and went. (Disposal racing calls and copies, on both backends: LifetimeTests.)
/// </summary>
[Collection(IsolatedCollection.Name)]
public sealed class CudaLifetimeTests : IDisposable
{
    public CudaLifetimeTests() => Skip.IfNot(Emulator.InUse, "These tests count the CUDA emulator's handles and allocations; the real CUDA libraries are in use.");

    public void Dispose() => Emulator.blemu_reset();

    /// <summary>
    /// 1,000 short-lived threads, each one Forward on a shared layer: the backend's live cuBLAS handles and
    /// allocations return to where they were before the threads, one at a time or eight at once (then at
    /// most one state per concurrent caller is kept), and to zero when the backend is disposed.
    /// </summary>
    [SkippableFact]
    public void Short_lived_threads_leave_no_cuBLAS_handle_or_allocation_behind()
    {
        long handlesAtStart = Emulator.blemu_live_handles(), allocationsAtStart = Emulator.LiveAllocations;
        var backend = CudaBackend.Create();
        float[] x = TestData.Uniform(3 * 17, 1);
        using (var warm = new Linear(17, 5, backend: backend))
        {
            _ = warm.Forward(x);
        }

        long handles = Emulator.blemu_live_handles(), allocations = Emulator.LiveAllocations;
        using (var layer = new Linear(17, 5, backend: backend))
        {
            for (int i = 0; i < 1000; i++)
            {
                var thread = new Thread(() => _ = layer.Forward(x));
                thread.Start();
                thread.Join();
            }
        }

        Assert.Equal(handles, Emulator.blemu_live_handles());
        Assert.Equal(allocations, Emulator.LiveAllocations);

        const int Concurrent = 8;
        using (var layer = new Linear(17, 5, backend: backend))
        {
            for (int wave = 0; wave < 1000 / Concurrent; wave++)
            {
                var threads = new Thread[Concurrent];
                for (int t = 0; t < Concurrent; t++)
                {
                    threads[t] = new Thread(() => _ = layer.Forward(x));
                    threads[t].Start();
                }

                foreach (Thread thread in threads)
                {
                    thread.Join();
                }
            }
        }

        long extraHandles = Emulator.blemu_live_handles() - handles;
        Assert.True(extraHandles is >= 0 and < Concurrent, $"{extraHandles} handles beyond the single-thread baseline after waves of {Concurrent} threads");

        backend.Dispose();
        Assert.Equal(handlesAtStart, Emulator.blemu_live_handles());
        Assert.Equal(allocationsAtStart, Emulator.LiveAllocations);
    }
}
