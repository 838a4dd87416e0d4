using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// <see cref="LinearLayer.PrepareForInference"/>: the backend's prepared weight follows every write made
/// through the buffer's methods, refuses writable views, is undone by one call, and results depend only
/// on the weights, the input, the batch size and the preparation state.
/// </summary>
public class WeightPreparationTests
{
    /// <summary>Forward through the prepared weight, then dX, dW and db, within the float64 bound on each side of every switch.</summary>
    [SkippableTheory]
    [MemberData(nameof(RoutingTests.FormsBiasAndBatches), true, MemberType = typeof(RoutingTests))]
    public void Prepared_layers_match_float64_on_each_side_of_every_route_switch(LayerKind form, bool bias, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias, TestBackends.Get(TestBackends.Cpu), seed: batch);
        layer.PrepareForInference();
        Assert.True(layer.IsPreparedForInference);
        LayerTests.CheckAgainstReference(layer, batch, seed: batch);
    }

    /// <summary>The benchmark's shape, where every route runs multithreaded, on each side of the oneDNN switches, prepared.</summary>
    [SkippableTheory]
    [InlineData(LayerFactory.Linear, 5)]
    [InlineData(LayerFactory.Linear, 6)]
    [InlineData(LayerFactory.Linear, 25)]
    [InlineData(LayerFactory.Linear, 64)]
    [InlineData(LayerFactory.ParameterLinear, 8)]
    public void Prepared_forward_at_1024_matches_float64_at_a_switch(LayerKind form, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 1024, 1024, bias: true, TestBackends.Get(TestBackends.Cpu), seed: batch);
        layer.PrepareForInference();
        float[] x = TestData.Uniform(batch * 1024, batch);
        Tolerance.AssertWithin($"{layer} m={batch} Y", 1024, layer.Forward(x), batch, 1024,
            Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, batch, 1024, 1024, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
    }

    /// <summary>
    /// Reloading the same weights gives the same bits, at every batch size, prepared or not, whatever
    /// happened between: the results have no history.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Reloading_the_same_weights_gives_identical_bits_at_every_batch_size(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        int size = backendName == TestBackends.Cpu ? 1024 : 96;
        using LinearLayer layer = LayerFactory.Create(form, size, size, bias: true, backend, seed: 1);
        foreach (bool prepared in new[] { false, true })
        {
            if (prepared)
            {
                layer.PrepareForInference();
            }

            foreach (int batch in new[] { 1, 4, 5, 6, 7, 8, 24, 25, 32, 33, 63, 64, 128 })
            {
                float[] x = TestData.Uniform(batch * size, batch);
                layer.ResetParameters(seed: 7);
                float[] first = layer.Forward(x);
                float[] second = layer.Forward(x);
                layer.ResetParameters(seed: 8);
                _ = layer.Forward(x);
                _ = layer.Forward(x);
                layer.ResetParameters(seed: 7);
                float[] reloaded = layer.Forward(x);
                Assert.True(first.AsSpan().SequenceEqual(second), $"{layer} prepared={prepared} batch {batch}: a repeated forward changed bits");
                Assert.True(first.AsSpan().SequenceEqual(reloaded), $"{layer} prepared={prepared} batch {batch}: reloaded weights changed bits");
            }
        }
    }

    /// <summary>
    /// While prepared, CopyFrom, Clear and ResetParameters refresh the prepared weight (never a stale product),
    /// a read-only view is fine, writable views are refused with a message naming the fix, and
    /// PrepareForTraining ends it: the weight can be written through a span again and the forward sees it.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Prepared_weight_follows_every_write_and_refuses_writable_views(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias: true, backend, seed: 3);
        const int m = 32;
        float[] x = TestData.Uniform(m * 150, 4);
        layer.PrepareForInference();
        layer.PrepareForInference();
        Assert.True(layer.IsPreparedForInference);
        Assert.True(layer.Weight.IsPrepared);
        if (backend is CpuBackend cpu)
        {
            // With the kernels the weight is prepared in their panels, else (Linear, oneDNN) as a transposed copy.
            if (cpu.PreparesPanels)
            {
                Assert.IsType<CpuPanelWeight>(layer.Prepared);
            }
            else if (form == LayerFactory.Linear && cpu.PrefersTransposedWeight(m, 97, 150))
            {
                Assert.True(((CpuPreparedWeight)layer.Prepared!).HoldsTransposedCopy);
            }
        }

        Check("prepared");
        layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 5));
        Check("after CopyFrom");
        layer.ResetParameters(seed: 6);
        Check("after ResetParameters");
        layer.Weight.Clear();
        Check("after Clear");
        layer.ResetParameters(seed: 9);

        if (backend.Kind == BackendKind.Cpu)
        {
            Assert.Equal(layer.Weight.ToArray(), layer.Weight.AsReadOnlySpan().ToArray());
            var refused = Assert.Throws<InvalidOperationException>(() => layer.Weight.AsSpan());
            Assert.Contains("PrepareForTraining", refused.Message, StringComparison.Ordinal);
        }

        Assert.Throws<InvalidOperationException>(() => layer.Weight.Slice(0, 1));
        Assert.Throws<InvalidOperationException>(() => BlasSpan.FromBlasBuffer(layer.Weight));
        Check("after the refused views");

        layer.PrepareForTraining();
        Assert.False(layer.IsPreparedForInference);
        Assert.False(layer.Weight.IsPrepared);
        if (backend.Kind == BackendKind.Cpu)
        {
            Span<float> writable = layer.Weight.AsSpan();
            writable[0] += 1f;
            writable[^1] = -2f;
        }

        Check("training again, after writing through a span");
        layer.PrepareForInference();
        Check("prepared again");

        void Check(string when)
        {
            if (layer.Prepared is CpuPanelWeight panels)
            {
                var held = new float[97 * 150];
                panels.CopyTo(held);
                Assert.True(held.AsSpan().SequenceEqual(layer.Weight.ToArray()), $"{layer} {when}: the panels are not the weight");
            }

            float[] y = layer.Forward(x);
            Tolerance.AssertWithin($"{layer} {when}: Y", 150, y, m, 97,
                Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, m, 150, 97, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
        }
    }

    /// <summary>Many threads forwarding through one prepared layer get the bits of a sequential forward.</summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Concurrent_forwards_through_a_prepared_layer_agree_bit_for_bit(TestBackend backendName)
    {
        using var layer = new Linear(150, 97, bias: false, TestBackends.Get(backendName), seed: 8);
        layer.PrepareForInference();
        float[] x = TestData.Uniform(40 * 150, 9);
        float[] sequential = layer.Forward(x);
        Tolerance.AssertWithin("sequential Y", 150, sequential, 40, 97, Expected.LayerForward(true, 40, 150, 97, x, layer.Weight.ToArray(), []));
        float[][] results = new float[64][];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = layer.Forward(x));
        foreach (float[] y in results)
        {
            Assert.Equal(sequential, y);
        }
    }
}

/// <summary>The preparation's memory, counted process-wide, so these run alone.</summary>
[Collection(IsolatedCollection.Name)]
public class WeightPreparationMemoryTests
{
    /// <summary>
    /// Training never pays for a transpose: an unprepared layer whose weights are written before every
    /// forward allocates nothing, whatever the batch, and keeps no prepared form.
    /// </summary>
    [SkippableFact]
    public void A_training_loop_allocates_no_copy_of_the_weight()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        using var layer = new Linear(150, 97, bias: false, backend, seed: 10);
        float[] x = TestData.Uniform(64 * 150, 11);
        _ = layer.Forward(x);
        long live = AlignedHostMemoryHandle.LiveCount;
        for (int step = 0; step < 5; step++)
        {
            Span<float> w = layer.Weight.AsSpan();
            w[step] -= 0.01f;
            float[] y = layer.Forward(x);
            Tolerance.AssertWithin($"step {step}", 150, y, 64, 97, Expected.LayerForward(true, 64, 150, 97, x, layer.Weight.ToArray(), []));
        }

        Assert.Null(layer.Prepared);
        Assert.Equal(live, AlignedHostMemoryHandle.LiveCount);
    }

    /// <summary>A layer prepared and disposed frees its prepared weight with it; its buffers can no longer be prepared twice.</summary>
    [SkippableFact]
    public void Disposing_a_prepared_layer_frees_the_copy_and_a_weight_is_prepared_once()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        long live = AlignedHostMemoryHandle.LiveCount;
        var layer = new Linear(150, 97, bias: true, backend, seed: 2);
        layer.PrepareForInference();
        Assert.Throws<InvalidOperationException>(() => backend.PrepareWeight(layer.Weight, Transpose.Trans, 97, 150));
        layer.Dispose();
        Assert.Equal(live, AlignedHostMemoryHandle.LiveCount);
        Assert.Throws<ObjectDisposedException>(layer.PrepareForInference);
    }

    /// <summary>
    /// PreparedWeight.Multiply with a bias gives the bits of writing the bias into every row and multiplying with
    /// β = 1 (the kernels add it as they store; other forms do exactly that), at batches on each side of the
    /// kernels' blocking, for both layouts and precisions; a bias of the wrong length is refused before any call.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithAvx2), MemberType = typeof(TestBackends))]
    public void Multiply_with_a_bias_equals_the_bias_written_first(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        const int n = 97, k = 300;
        foreach (Transpose trans in new[] { Transpose.Trans, Transpose.NoTrans })
        {
            foreach (WeightPrecision precision in backend.Kind == BackendKind.Cpu ? [WeightPrecision.Float32, WeightPrecision.BFloat16] : new[] { WeightPrecision.Float32 })
            {
                using BlasBuffer w = backend.Allocate(trans == Transpose.Trans ? n : k, trans == Transpose.Trans ? k : n);
                w.CopyFrom(TestData.Uniform(n * k, 1));
                using PreparedWeight prepared = backend.PrepareWeight(w, trans, n, k, precision);
                using BlasBuffer bias = backend.Allocate(n);
                bias.CopyFrom(TestData.Uniform(n, 2));
                foreach (int m in new[] { 1, 8, 9, 130 })
                {
                    using BlasBuffer x = backend.Allocate(m, k), fused = backend.Allocate(m, n), written = backend.Allocate(m, n);
                    x.CopyFrom(TestData.Uniform(m * k, m));
                    prepared.Multiply(m, x, bias, fused);
                    backend.BroadcastRows(bias, written, m, n);
                    prepared.Multiply(m, x, 1f, written);
                    Assert.True(fused.ToArray().AsSpan().SequenceEqual(written.ToArray()), $"{backendName} {trans} {precision} m={m}: the fused bias differs");
                }

                using BlasBuffer x1 = backend.Allocate(1, k), y1 = backend.Allocate(1, n), shortBias = backend.Allocate(n - 1);
                var refused = Assert.Throws<ArgumentException>(() => prepared.Multiply(1, x1, shortBias, y1));
                Assert.Contains("bias", refused.Message, StringComparison.Ordinal);
            }
        }
    }
}
