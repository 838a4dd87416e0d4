using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// Steady-state calls allocate nothing on the managed heap: counted exactly with the calling thread's
/// allocation counter (the benchmark's MemoryDiagnoser shows the same, within its rounding). Another
/// thread keeps the backend busy throughout, so the contended paths (the OpenBLAS gate's waits) are
/// measured too; their one-time lazy allocations happen in the warm-up.
/// </summary>
[Collection(IsolatedCollection.Name)]
[EmulatorChecked]
public class AllocationTests
{
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBias), MemberType = typeof(LayerFactory))]
    public void Forward_and_backward_allocate_nothing_after_warm_up_even_under_contention(TestBackend backendName, LayerKind form, bool bias)
    {
        var backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 129, 65, bias, backend);
        using LinearLayer other = LayerFactory.Create(form, 256, 256, bias, backend);
        float[] x = TestData.Uniform(17 * 129, 1), dy = TestData.Uniform(17 * 65, 2);
        var y = new float[17 * 65];
        var dx = new float[17 * 129];
        using var stop = new CancellationTokenSource();
        var rival = new Thread(() =>
        {
            float[] input = new float[64 * 256], output = new float[64 * 256];
            while (!stop.IsCancellationRequested)
            {
                other.Forward(input, output);
            }
        });
        rival.Start();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                Calls();
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                Calls();
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            stop.Cancel();
            rival.Join();
        }

        void Calls()
        {
            layer.Forward(x, y);
            layer.Backward(x, dy, dx);
            layer.Backward(x, dy, Span<float>.Empty);
        }
    }
}
