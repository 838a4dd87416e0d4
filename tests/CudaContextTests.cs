using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>The CUDA context rules a real GPU enforces: sticky errors, the device current on each thread, the streams used.</summary>
[Collection(IsolatedCollection.Name)]
public sealed class CudaContextTests : IDisposable
{
    private const int CudaLaunchTimeout = 702;

    public CudaContextTests() => Skip.IfNot(Emulator.InUse, "These tests steer the CUDA emulator; the real CUDA libraries are in use.");

    public void Dispose() => Emulator.blemu_reset();

    private static void Product(BlasBackend backend, BlasBuffer a, BlasBuffer b, BlasBuffer c) =>
        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);

    [SkippableFact]
    public void A_launch_timeout_is_sticky_and_makes_every_later_call_fail()
    {
        var backend = CudaBackend.Create();
        BlasBuffer a = backend.Allocate(2, 2), b = backend.Allocate(2, 2), c = backend.Allocate(2, 2);
        Product(backend, a, b, c);

        Emulator.blemu_fail_nth_call("cublasSgemm_v2", 1, CudaLaunchTimeout);
        var first = Assert.Throws<CublasException>(() => Product(backend, a, b, c));
        var later = Assert.Throws<CudaException>(() => Product(backend, a, b, c));

        Assert.True(first.IsSticky, first.Message);
        Assert.Contains("cudaErrorLaunchTimeout", first.Message, StringComparison.Ordinal);
        Assert.Contains("unusable", later.Message, StringComparison.Ordinal);
        Emulator.blemu_reset();
        a.Dispose();
        b.Dispose();
        c.Dispose();
        backend.Dispose();
    }

    [SkippableFact]
    public void Every_thread_makes_the_backends_device_current_before_it_makes_its_cuBLAS_handle()
    {
        using CudaBackend backend = CudaBackend.Create();
        using BlasBuffer a = backend.Allocate(2, 2), b = backend.Allocate(2, 2), c = backend.Allocate(2, 2);
        long before = Emulator.blemu_handles_without_device();
        int device = -2;

        var thread = new Thread(() =>
        {
            Product(backend, a, b, c);
            device = Emulator.blemu_thread_device();
        });
        thread.Start();
        thread.Join();

        Assert.Equal(0, device);
        Assert.Equal(before, Emulator.blemu_handles_without_device());
    }

    [SkippableFact]
    public void Nothing_runs_on_the_legacy_default_stream()
    {
        long before = Emulator.blemu_legacy_stream_calls();
        using (CudaBackend backend = CudaBackend.Create())
        using (var layer = new Linear(17, 5, backend: backend))
        {
            float[] x = TestData.Uniform(3 * 17, 1);
            float[] y = layer.Forward(x);
            var dx = new float[x.Length];
            layer.Backward(x, TestData.Uniform(y.Length, 2), dx);
            _ = layer.WeightGrad.ToArray();
            backend.Gemm(Transpose.NoTrans, Transpose.Trans, 3, 5, 17, 1f, x, 17, layer.Weight.ToArray(), 17, 0f, y, 5);
        }

        Assert.Equal(before, Emulator.blemu_legacy_stream_calls());
    }
}
