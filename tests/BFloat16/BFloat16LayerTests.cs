using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests.BFloat16;

/// <summary>
/// Layers prepared with <see cref="WeightPrecision.BFloat16"/>: the forward is the float32 product of the input
/// and the bfloat16-rounded weights, within the float32 bound of docs/accuracy.md of a float64 reference
/// computed from those rounded weights; the prepared form follows writes, refuses Backward, and can drop the
/// float32 weights.
/// </summary>
public class BFloat16LayerTests
{
    /// <summary>The switch batches of the float32 routes, and the bfloat16 kernel's tile heights (4 rows on AVX2,
    /// 8 on AVX-512) and row block (128) with a row either side.</summary>
    public static TheoryData<LayerKind, bool, int> FormsBiasAndBatches() =>
        RoutingTests.FormsBiasAndBatches(RoutingTests.SwitchBatches.Concat([3, 4, 5, 7, 8, 9, 127, 128, 129]).Distinct());

    [Theory]
    [MemberData(nameof(FormsBiasAndBatches))]
    public void Forward_matches_float64_of_the_rounded_weights(LayerKind form, bool bias, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias, TestBackends.Get(TestBackends.Cpu), seed: batch);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        Assert.Equal(WeightPrecision.BFloat16, layer.PreparedPrecision);
        CheckForward(layer, batch, seed: batch);
    }

    /// <summary>The benchmark's shapes, split over threads, on the kernels and on the widened chunks.</summary>
    [Theory]
    [InlineData(LayerFactory.Linear, 1024, 1024, 1)]
    [InlineData(LayerFactory.Linear, 1024, 1024, 8)]
    [InlineData(LayerFactory.Linear, 1024, 1024, 32)]
    [InlineData(LayerFactory.Linear, 1024, 1024, 128)]
    [InlineData(LayerFactory.ParameterLinear, 1024, 1024, 8)]
    [InlineData(LayerFactory.ParameterLinear, 1024, 1024, 128)]
    [InlineData(LayerFactory.Linear, 4096, 257, 3)]
    [InlineData(LayerFactory.Linear, 4096, 257, 65)]
    [InlineData(LayerFactory.Linear, 4096, 1024, 16)]
    [InlineData(LayerFactory.Linear, 4096, 1024, 17)]
    public void Forward_at_large_shapes_matches_float64_of_the_rounded_weights(LayerKind form, int inFeatures, int outFeatures, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, inFeatures, outFeatures, bias: true, TestBackends.Get(TestBackends.Cpu), seed: batch);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        CheckForward(layer, batch, seed: batch);
    }

    /// <summary>Both code paths of the kernels, called directly (the AVX2 path runs on any CPU with AVX2), at the layer tests' shapes.</summary>
    [SkippableTheory]
    [InlineData(Native.Interop.Kernels.IsaAvx512)]
    [InlineData(Native.Interop.Kernels.IsaAvx2)]
    public unsafe void Kernels_on_each_instruction_set_match_float64(int isa)
    {
        Skip.IfNot(isa == Native.Interop.Kernels.IsaAvx2 ? System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported
            : Native.Interop.Kernels.blk_cpu_isa() == Native.Interop.Kernels.IsaAvx512, "this CPU does not run that path");
        const int n = 97, k = 150;
        foreach (bool transposed in new[] { true, false })
        {
            foreach (int m in RoutingTests.SwitchBatches.Where(b => b <= 64))
            {
                float[] x = TestData.Uniform(m * k, m);
                float[] w = TestData.Uniform(n * k, m + 1);
                var bits = new ushort[w.Length];
                BFloat16Bits.Round(w, bits);
                var rounded = new float[w.Length];
                BFloat16Bits.Widen(bits, rounded);
                float[] c0 = TestData.Uniform(m * n, m + 2);
                float[] y = (float[])c0.Clone();
                float[] y32 = (float[])c0.Clone();
                // The kernels read op(W) [k, n] in panels; W is [n, k] for X·Wᵀ, [k, n] for X·W. The float32
                // panels hold the same (rounded) values as the bfloat16 ones.
                ushort[] panels = new ushort[WeightPanels.Length(n, k)];
                float[] panels32 = new float[panels.Length];
                fixed (float* px = x, py = y, py32 = y32, pr = rounded, pp32 = panels32)
                fixed (ushort* pb = bits, pp = panels)
                {
                    WeightPanels.Pack(pb, transposed, n, k, pp);
                    WeightPanels.Pack(pr, transposed, n, k, pp32);
                    Native.Interop.Kernels.blk_sgemm_bf16_panels(isa, m, n, k, 1f, px, k, pp, 0.5f, null, py, n);
                    Native.Interop.Kernels.blk_sgemm_panels(isa, m, n, k, 1f, px, k, pp32, 0.5f, null, py32, n);
                }

                var expected = Expected.Gemm(Transpose.NoTrans, transposed ? Transpose.Trans : Transpose.NoTrans, m, n, k, 1f, x, k, rounded, transposed ? k : n, 0.5f, c0, n);
                Tolerance.AssertWithin($"isa {isa} bfloat16 {(transposed ? "X·Wᵀ" : "X·W")} m={m}", k, y, m, n, expected);
                Tolerance.AssertWithin($"isa {isa} float32 {(transposed ? "X·Wᵀ" : "X·W")} m={m}", k, y32, m, n, expected);
                Assert.True(y.AsSpan().SequenceEqual(y32), $"isa {isa} m={m}: the bfloat16 and float32 panels of the same values differ");
            }
        }
    }

    /// <summary>Every provider a routing can send a bfloat16 product to: the kernels (both paths), and the widened
    /// blocks on oneDNN and on OpenBLAS; k past the kernel's and the widened blocks' depth, n past a widened block's width.</summary>
    [SkippableTheory]
    [MemberData(nameof(RoutesFormsAndBatches))]
    public void Forward_on_every_route_matches_float64_of_the_rounded_weights(TestBackend route, LayerKind form, int batch)
    {
        BlasBackend backend = TestBackends.Get(route);
        using LinearLayer layer = LayerFactory.Create(form, 530, 600, bias: true, backend, seed: batch);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        CheckForward(layer, batch, seed: batch);
    }

    public static TheoryData<TestBackend, LayerKind, int> RoutesFormsAndBatches()
    {
        var data = new TheoryData<TestBackend, LayerKind, int>();
        foreach (TestBackend route in new[] { TestBackends.Cpu, TestBackends.CpuAvx2, TestBackends.CpuOneDnn, TestBackends.CpuOpenBlasOnly })
        {
            foreach (LayerKind form in new[] { LayerFactory.Linear, LayerFactory.ParameterLinear })
            {
                foreach (int batch in new[] { 1, 8, 33, 130 })
                {
                    data.Add(route, form, batch);
                }
            }
        }

        return data;
    }

    /// <summary>On the kernels' panels (float32 and bfloat16), a row's output has the same bits alone and in
    /// batches of any size (the kernel's blocking does not depend on the batch, and a thread's slice of columns
    /// does not change a column's sums).</summary>
    [SkippableTheory]
    [InlineData(TestBackends.Cpu, WeightPrecision.Float32)]
    [InlineData(TestBackends.Cpu, WeightPrecision.BFloat16)]
    [InlineData(TestBackends.CpuAvx2, WeightPrecision.Float32)]
    [InlineData(TestBackends.CpuAvx2, WeightPrecision.BFloat16)]
    public void A_row_gives_the_same_bits_in_any_batch(TestBackend route, WeightPrecision precision)
    {
        BlasBackend backend = TestBackends.Get(route);
        Skip.IfNot(((CpuBackend)backend).PreparesPanels, "the routing has no kernels");
        foreach (LayerKind form in new[] { LayerFactory.Linear, LayerFactory.ParameterLinear })
        {
            using LinearLayer layer = LayerFactory.Create(form, 700, 1000, bias: true, backend, seed: 8);
            layer.PrepareForInference(precision);
            float[] x = TestData.Uniform(300 * 700, 13);
            float[] all = layer.Forward(x);
            foreach (int batch in new[] { 1, 2, 7, 8, 9, 31, 129 })
            {
                float[] some = layer.Forward(x.AsSpan(0, batch * 700).ToArray());
                Assert.True(some.AsSpan().SequenceEqual(all.AsSpan(0, batch * 1000)), $"{layer}: the first {batch} rows differ from the same rows in a batch of 300");
            }
        }
    }

    /// <summary>Concurrent forwards, split and unsplit, on the kernels and on widened chunks, give the bits of a sequential run.</summary>
    [Fact]
    public void Concurrent_forwards_give_the_bits_of_a_sequential_run()
    {
        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, 512, 384, bias: true, TestBackends.Get(TestBackends.Cpu), seed: 2);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        int[] batches = [1, 3, 8, 40, 1, 64];
        float[][] inputs = batches.Select((b, i) => TestData.Uniform(b * 512, i)).ToArray();
        float[][] expected = inputs.Select(x => layer.Forward(x)).ToArray();
        Parallel.For(0, 8 * 40, new ParallelOptions { MaxDegreeOfParallelism = 8 }, call =>
        {
            int which = call % inputs.Length;
            float[] y = layer.Forward(inputs[which]);
            Assert.True(y.AsSpan().SequenceEqual(expected[which]), $"call {call} (batch {batches[which]}) differs from the sequential run");
        });
    }

    [Fact]
    public void Backward_is_refused_until_PrepareForTraining()
    {
        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, 20, 10, bias: true, TestBackends.Get(TestBackends.Cpu));
        float[] x = TestData.Uniform(3 * 20, 1), dy = TestData.Uniform(3 * 10, 2);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        var refused = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, dy, new float[x.Length]));
        Assert.Contains("PrepareForTraining()", refused.Message, StringComparison.Ordinal);
        Assert.Contains("bfloat16", refused.Message, StringComparison.Ordinal);
        Assert.True(layer.WeightGrad.ToArray().All(v => v == 0), "a refused Backward wrote the gradient");

        layer.PrepareForTraining();
        Assert.Null(layer.PreparedPrecision);
        layer.Backward(x, dy, new float[x.Length]);
        Assert.Contains(layer.WeightGrad.ToArray(), v => v != 0);
    }

    /// <summary>CopyFrom, Clear and ResetParameters round the new weight again; switching precision and back works.</summary>
    [Theory]
    [InlineData(LayerFactory.Linear)]
    [InlineData(LayerFactory.ParameterLinear)]
    public void Writes_refresh_the_bfloat16_weight(LayerKind form)
    {
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias: true, TestBackends.Get(TestBackends.Cpu), seed: 3);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        CheckBits(layer, "prepared");
        layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 5));
        CheckBits(layer, "after CopyFrom");
        CheckForward(layer, 9, seed: 9);
        layer.Weight.CopyFrom(TestData.Uniform(10, 6), offset: 100);
        CheckBits(layer, "after a partial CopyFrom");
        layer.ResetParameters(seed: 6);
        Assert.Equal(WeightPrecision.BFloat16, layer.PreparedPrecision);
        CheckBits(layer, "after ResetParameters");
        CheckForward(layer, 40, seed: 10);
        layer.Weight.Clear();
        CheckBits(layer, "after Clear");

        layer.ResetParameters(seed: 7);
        layer.PrepareForInference();
        Assert.Equal(WeightPrecision.Float32, layer.PreparedPrecision);
        float[] x = TestData.Uniform(5 * 150, 11);
        Tolerance.AssertWithin($"{layer} float32 again", 150, layer.Forward(x), 5, 97,
            Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, 5, 150, 97, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
        layer.PrepareForInference(WeightPrecision.BFloat16);
        CheckBits(layer, "bfloat16 again");
    }

    [Theory]
    [InlineData(LayerFactory.Linear)]
    [InlineData(LayerFactory.ParameterLinear)]
    public void Dropping_the_float32_weights_frees_them_and_refuses_what_needs_them(LayerKind form)
    {
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias: true, TestBackends.Get(TestBackends.Cpu), seed: 4);
        float[] x = TestData.Uniform(6 * 150, 12);
        var reference = Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, 6, 150, 97, x, Rounded(layer.Weight.ToArray()), layer.Bias!.ToArray());
        Assert.Throws<ArgumentException>(() => layer.PrepareForInference(WeightPrecision.Float32, dropFloat32Weights: true));
        Assert.False(layer.IsPreparedForInference);

        layer.PrepareForInference(WeightPrecision.BFloat16, dropFloat32Weights: true);
        Assert.True(layer.Float32WeightsDropped);
        Assert.True(layer.Float32MemoryFreed);
        Tolerance.AssertWithin($"{layer} dropped", 150, layer.Forward(x), 6, 97, reference);

        var refusals = new (string What, Action Call)[]
        {
            ("Weight", () => _ = layer.Weight),
            ("WeightGrad", () => _ = layer.WeightGrad),
            ("Backward", () => layer.Backward(x, new float[6 * 97], default)),
            ("ZeroGrad", layer.ZeroGrad),
            ("ResetParameters", () => layer.ResetParameters(seed: 1)),
            ("PrepareForTraining", layer.PrepareForTraining),
            ("PrepareForInference()", layer.PrepareForInference),
            ("StateDict", () => layer.StateDict()),
        };
        foreach ((string what, Action call) in refusals)
        {
            var e = Assert.Throws<InvalidOperationException>(call);
            Assert.True(e.Message.Contains("dropFloat32Weights", StringComparison.Ordinal), $"{what}: {e.Message}");
        }

        layer.PrepareForInference(WeightPrecision.BFloat16);
        Assert.Equal(WeightPrecision.BFloat16, layer.PreparedPrecision);
        Tolerance.AssertWithin($"{layer} after the refusals", 150, layer.Forward(x), 6, 97, reference);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_CUDA_backend_refuses_bfloat16_with_the_reason(bool preparedBefore)
    {
        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, 20, 10, bias: true, TestBackends.Get(TestBackends.Cuda));
        if (preparedBefore)
        {
            layer.PrepareForInference();
        }

        var refused = Assert.Throws<NotSupportedException>(() => layer.PrepareForInference(WeightPrecision.BFloat16));
        Assert.Contains("cuBLAS", refused.Message, StringComparison.Ordinal);
        Assert.Contains("TF32", refused.Message, StringComparison.Ordinal);
        Assert.Equal(preparedBefore ? WeightPrecision.Float32 : null, layer.PreparedPrecision);
        float[] x = TestData.Uniform(2 * 20, 1);
        Tolerance.AssertWithin($"{layer} after the refusal", 20, layer.Forward(x), 2, 10,
            Expected.LayerForward(true, 2, 20, 10, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
    }

    internal static float[] Rounded(float[] weight)
    {
        var bits = new ushort[weight.Length];
        BFloat16Bits.Round(weight, bits);
        var rounded = new float[weight.Length];
        BFloat16Bits.Widen(bits, rounded);
        return rounded;
    }

    internal static ushort[] PreparedBits(LinearLayer layer)
    {
        var bits = new ushort[layer.InFeatures * layer.OutFeatures];
        ((CpuPanelWeight)layer.Prepared!).CopyToBFloat16(bits);
        return bits;
    }

    private static void CheckBits(LinearLayer layer, string when)
    {
        float[] weight = layer.Weight.ToArray();
        var expected = new ushort[weight.Length];
        BFloat16Bits.Round(weight, expected);
        Assert.True(expected.AsSpan().SequenceEqual(PreparedBits(layer)), $"{layer} {when}: the bfloat16 weight is not the rounded weight");
    }

    private static void CheckForward(LinearLayer layer, int batch, int seed)
    {
        float[] x = TestData.Uniform(batch * layer.InFeatures, seed);
        float[] bias = layer.Bias?.ToArray() ?? [];
        Tolerance.AssertWithin($"{layer} bfloat16 m={batch} Y", layer.InFeatures, layer.Forward(x), batch, layer.OutFeatures,
            Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, batch, layer.InFeatures, layer.OutFeatures, x, Rounded(layer.Weight.ToArray()), bias));
    }
}
