using BlasLinear.Backends;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// An asynchronous copy from pageable memory may run after <c>cudaMemcpyAsync</c> returns; the emulator
/// always defers it to the stream's next operation. Host data must therefore reach the device through
/// page-locked memory, or the stream must be drained before the caller's memory can change.
/// </summary>
[Collection(IsolatedCollection.Name)]
public sealed class CudaAsyncCopyTests
{
    private static readonly float[] s_a = [1, 2, 3, 4], s_b = [5, 6, 7, 8];
    private static readonly float[] s_product = [19, 22, 43, 50];

    public CudaAsyncCopyTests() => Skip.IfNot(Emulator.InUse, "The emulator defers pageable copies; the real CUDA libraries are in use.");

    [SkippableFact]
    public void A_buffer_filled_from_an_array_that_changes_right_after_holds_what_was_copied()
    {
        using CudaBackend backend = CudaBackend.Create();
        using BlasBuffer a = backend.Allocate(2, 2), b = backend.Allocate(2, 2), c = backend.Allocate(2, 2);
        float[] hostA = (float[])s_a.Clone(), hostB = (float[])s_b.Clone();

        a.CopyFrom(hostA);
        b.CopyFrom(hostB);
        Array.Fill(hostA, float.NaN);
        Array.Fill(hostB, float.NaN);
        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);

        Assert.Equal(s_product, c.ToArray());
    }

    [SkippableFact]
    public void A_layer_weight_set_from_an_array_that_changes_right_after_computes_with_what_was_set()
    {
        using CudaBackend backend = CudaBackend.Create();
        using var layer = new Linear(2, 2, bias: false, backend: backend);
        float[] weight = [5, 7, 6, 8];

        layer.Weight.CopyFrom(weight);
        Array.Fill(weight, float.NaN);

        Assert.Equal(s_product, layer.Forward((float[])s_a.Clone()));
    }

    [SkippableFact]
    public void A_host_span_input_with_a_device_output_is_consumed_before_the_call_returns()
    {
        using CudaBackend backend = CudaBackend.Create();
        using BlasBuffer b = backend.Allocate(2, 2), c = backend.Allocate(2, 2);
        b.CopyFrom(s_b);
        float[] hostA = (float[])s_a.Clone();
        long deferred = Emulator.blemu_deferred_copies();

        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1f, hostA, 2, b, 2, 0f, c, 2);
        Array.Fill(hostA, float.NaN);
        backend.Synchronize();

        Assert.Equal(s_product, c.ToArray());
        Assert.Equal(deferred, Emulator.blemu_deferred_copies());
    }
}
