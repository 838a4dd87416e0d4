using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// A prepared forward with a bias on CUDA is, up to batch 8, one cuBLASLt matmul with the bias in its epilogue
/// (on the emulator, which checks every object and pointer it is given), and past it the rank-1 GEMM first:
/// results within the float64 bound for both layouts on each side, from host spans and device buffers; every
/// cuBLASLt object freed; the rank-1 GEMM when the heuristic has no algorithm; a failed matmul a
/// <see cref="CublasException"/>. Isolated, since it counts the emulator's calls.
/// </summary>
[Collection(IsolatedCollection.Name)]
public sealed class CudaBiasProductTests : IDisposable
{
    private const int NotSupported = 15, ExecutionFailed = 13;

    public CudaBiasProductTests() => Skip.IfNot(Emulator.InUse, "These tests count the CUDA emulator's cuBLASLt calls; the real CUDA libraries are in use.");

    public void Dispose() => Emulator.blemu_fail_nth_call("cublasLtMatmulAlgoGetHeuristic", 0, 0);

    public static TheoryData<LayerKind, int> FormsAndBatches() => new()
    {
        { LayerFactory.Linear, 1 },
        { LayerFactory.Linear, 8 },
        { LayerFactory.Linear, 9 },
        { LayerFactory.Linear, 33 },
        { LayerFactory.ParameterLinear, 1 },
        { LayerFactory.ParameterLinear, 8 },
        { LayerFactory.ParameterLinear, 9 },
        { LayerFactory.ParameterLinear, 33 },
    };

    [SkippableTheory]
    [MemberData(nameof(FormsAndBatches))]
    [EmulatorChecked]
    public void A_prepared_forward_with_bias_to_batch_8_is_one_cuBLASLt_matmul_within_the_bound(LayerKind form, int batch)
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cuda);
        Assert.Contains("prepared forward to batch 8: inside the product (cuBLASLt bias epilogue", backend.Describe()["bias"], StringComparison.Ordinal);
        int matmuls = batch <= CudaBackend.BiasEpilogueUpToBatch ? 1 : 0;
        using LinearLayer layer = LayerFactory.Create(form, 70, 45, bias: true, backend, seed: batch);
        layer.PrepareForInference();
        float[] x = TestData.Uniform(batch * 70, batch + 100);
        (double[] Value, double[] G) expected = Expected.LayerForward(
            layer.Layout == WeightLayout.OutByIn, batch, 70, 45, x, layer.Weight.ToArray(), layer.Bias!.ToArray());

        long before = Emulator.blemu_lt_matmuls();
        float[] fromHost = layer.Forward(x);
        Assert.Equal(before + matmuls, Emulator.blemu_lt_matmuls());
        Tolerance.AssertWithin($"{layer} m={batch} Y from host spans", 70, fromHost, batch, 45, expected);

        using BlasBuffer input = backend.Allocate(batch, 70), output = backend.Allocate(batch, 45);
        input.CopyFrom(x);
        output.CopyFrom(TestData.Uniform(batch * 45, 5)); // not read: the product writes every element
        layer.Forward(input, output, batch);
        Assert.Equal(before + (2 * matmuls), Emulator.blemu_lt_matmuls());
        Tolerance.AssertWithin($"{layer} m={batch} Y on device buffers", 70, output.ToArray(), batch, 45, expected);

        // Unprepared, the bias is a rank-1 GEMM first: no cuBLASLt call.
        layer.PrepareForTraining();
        Tolerance.AssertWithin($"{layer} m={batch} Y unprepared", 70, layer.Forward(x), batch, 45, expected);
        Assert.Equal(before + (2 * matmuls), Emulator.blemu_lt_matmuls());
    }

    /// <summary>Every handle, descriptor, layout and preference is destroyed: per call, and the handle with the backend.</summary>
    [SkippableFact]
    [EmulatorChecked]
    public void No_cuBLASLt_object_outlives_its_call_or_its_backend()
    {
        long objects = Emulator.blemu_live_lt_objects(), allocations = Emulator.LiveAllocations;
        var backend = CudaBackend.Create();
        using (var layer = new Linear(64, 48, backend: backend, seed: 3))
        {
            layer.PrepareForInference();
            float[] x = TestData.Uniform(5 * 64, 4);
            for (int i = 0; i < 3; i++)
            {
                _ = layer.Forward(x);
            }

            // One handle in the one call state that ran; descriptors, layouts and the preference are gone.
            Assert.Equal(objects + 1, Emulator.blemu_live_lt_objects());
        }

        backend.Dispose();
        Assert.Equal(objects, Emulator.blemu_live_lt_objects());
        Assert.Equal(allocations, Emulator.LiveAllocations);
    }

    /// <summary>Where cuBLASLt's heuristic has no algorithm (NOT_SUPPORTED), the bias is written first and the result is the same.</summary>
    [SkippableFact]
    [EmulatorChecked]
    public void Without_an_algorithm_the_bias_is_a_rank1_GEMM_first()
    {
        using var backend = CudaBackend.Create();
        using var layer = new ParameterLinear(40, 24, backend: backend, seed: 9);
        layer.PrepareForInference();
        float[] x = TestData.Uniform(6 * 40, 2);
        Emulator.blemu_fail_nth_call("cublasLtMatmulAlgoGetHeuristic", 1, NotSupported);
        long before = Emulator.blemu_lt_matmuls();
        float[] y = layer.Forward(x);
        Assert.Equal(before, Emulator.blemu_lt_matmuls());
        var expected = Expected.LayerForward(false, 6, 40, 24, x, layer.Weight.ToArray(), layer.Bias!.ToArray());
        Tolerance.AssertWithin("ParameterLinear m=6 Y without a cuBLASLt algorithm", 40, y, 6, 24, expected);
        // The shape keeps that answer: the next call takes the same path without asking again.
        Tolerance.AssertWithin("the same, again", 40, layer.Forward(x), 6, 24, expected);
        Assert.Equal(before, Emulator.blemu_lt_matmuls());
    }

    /// <summary>A failed matmul is a typed error naming the call, and the backend stays usable after a non-sticky one.</summary>
    [SkippableFact]
    [EmulatorChecked]
    public void A_failed_cuBLASLt_matmul_is_a_CublasException_naming_it()
    {
        using var backend = CudaBackend.Create();
        using var layer = new Linear(30, 20, backend: backend, seed: 2);
        layer.PrepareForInference();
        float[] x = TestData.Uniform(4 * 30, 3);
        Emulator.blemu_fail_nth_call("cublasLtMatmul", 1, ExecutionFailed);
        var error = Assert.Throws<CublasException>(() => layer.Forward(x));
        Assert.Contains("cublasLtMatmul", error.Message, StringComparison.Ordinal);
        var expected = Expected.LayerForward(true, 4, 30, 20, x, layer.Weight.ToArray(), layer.Bias!.ToArray());
        Tolerance.AssertWithin("Linear m=4 Y after the failure", 30, layer.Forward(x), 4, 20, expected);
    }
}
