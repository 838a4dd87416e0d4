using BlasLinear.Backends;
using BlasLinear;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The CPU backend's routing: both layer forms are right on each side of every switch of the Auto table
/// (the table itself and the description are in RouteTableTests). The GEMM suite itself runs on every
/// pinned route (GemmTests, <see cref="TestBackends.AllWithRoutes"/>).
/// </summary>
public class RoutingTests
{
    /// <summary>Each side of every batch at which the Auto table changes route, with oneDNN and without.</summary>
    private static readonly int[] SwitchBatches = [1, 4, 5, 6, 7, 8, 24, 25, 32, 33, 63, 64, 255, 256];

    public static TheoryData<string, bool, int> FormsBiasAndBatches()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (string form in new[] { LayerFactory.Linear, LayerFactory.ParameterLinear })
        {
            foreach (int batch in SwitchBatches)
            {
                data.Add(form, batch % 2 == 0, batch);
            }
        }

        return data;
    }

    /// <summary>Forward, dX, dW (accumulated) and db within the float64 bound on each side of every switch.</summary>
    [SkippableTheory]
    [MemberData(nameof(FormsBiasAndBatches))]
    public void Layers_match_float64_on_each_side_of_every_route_switch(string form, bool bias, int batch)
    {
        // Ragged sizes: neither is a multiple of a kernel tile or of 16.
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias, TestBackends.Get(TestBackends.Cpu), seed: batch);
        LayerTests.CheckAgainstReference(layer, batch, seed: batch);
    }

    /// <summary>The benchmark's shape, where every route runs multithreaded, on each side of the oneDNN switches.</summary>
    [SkippableTheory]
    [InlineData(LayerFactory.Linear, 25)]
    [InlineData(LayerFactory.Linear, 64)]
    [InlineData(LayerFactory.ParameterLinear, 8)]
    [InlineData(LayerFactory.Linear, 6)]
    public void Forward_at_1024_matches_float64_at_a_switch(string form, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 1024, 1024, bias: true, TestBackends.Get(TestBackends.Cpu), seed: batch);
        float[] x = TestData.Uniform(batch * 1024, batch);
        float[] y = layer.Forward(x);
        Tolerance.AssertWithin($"{layer} m={batch} Y", 1024, y, batch, 1024,
            Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, batch, 1024, 1024, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
    }

    /// <summary>
    /// Linear's transposed weight copy: used from the first forward, rebuilt after every CopyFrom and
    /// ResetParameters that follows weights used twice or more (never a stale product), kept when the weight
    /// is only read, and abandoned for good once a writable span has been taken.
    /// </summary>
    [SkippableFact]
    public void Linear_transposed_weight_follows_every_write_and_is_dropped_after_a_writable_span()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        Skip.IfNot(backend.PrefersTransposedWeight(32, 97, 150), "this CPU backend routes X·W no faster than X·Wᵀ (no kernels, no oneDNN)");
        using var layer = new BlasLinear.Linear(150, 97, bias: true, backend, seed: 3);
        const int m = 32;
        float[] x = TestData.Uniform(m * 150, 4);

        Check("first forward");
        Assert.True(layer.HoldsCurrentTransposedWeight);
        Check("second forward");
        Check("third forward");

        layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 5));
        Assert.False(layer.HoldsCurrentTransposedWeight);
        Check("after CopyFrom");
        Assert.True(layer.HoldsCurrentTransposedWeight);
        Check("second forward after CopyFrom");

        layer.ResetParameters(seed: 6);
        Check("after ResetParameters");
        Check("second forward after ResetParameters");

        Assert.Equal(layer.Weight.ToArray(), layer.Weight.AsReadOnlySpan().ToArray());
        Check("after a read-only span");
        Assert.True(layer.HoldsCurrentTransposedWeight);

        Span<float> writable = layer.Weight.AsSpan();
        Assert.False(layer.HoldsCurrentTransposedWeight);
        Check("after AsSpan");
        writable[0] += 1f;
        writable[97 * 150 - 1] = -2f;
        Check("after writing through the span");
        layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 7));
        Check("after CopyFrom once exposed");
        Check("second forward once exposed");
        Assert.False(layer.HoldsCurrentTransposedWeight);

        void Check(string when)
        {
            float[] y = layer.Forward(x);
            Tolerance.AssertWithin($"{when}: Y", 150, y, m, 97,
                Expected.LayerForward(true, m, 150, 97, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
        }
    }

    /// <summary>
    /// A training loop (weights written before every forward) multiplies directly after its first step,
    /// so it never pays for a transpose; two forwards on one set of weights bring the copy back for the
    /// next set. Each set of weights gives the same bits on every forward.
    /// </summary>
    [SkippableFact]
    public void Weights_written_before_every_forward_are_multiplied_directly_and_repeat_bit_for_bit()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        Skip.IfNot(backend.PrefersTransposedWeight(16, 97, 150), "this CPU backend routes X·W no faster than X·Wᵀ (no kernels, no oneDNN)");
        using var layer = new BlasLinear.Linear(150, 97, bias: false, backend, seed: 10);
        float[] x = TestData.Uniform(16 * 150, 11);
        float[] first = layer.Forward(x);
        Assert.True(layer.HoldsCurrentTransposedWeight);
        for (int step = 0; step < 3; step++)
        {
            layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 12 + step));
            float[] y = layer.Forward(x);
            Assert.False(layer.HoldsCurrentTransposedWeight);
            Tolerance.AssertWithin($"step {step}", 150, y, 16, 97, Expected.LayerForward(true, 16, 150, 97, x, layer.Weight.ToArray(), []));
        }

        // The last set is now used a second time: still directly, and the same bits.
        float[] again = layer.Forward(x);
        Assert.Equal(layer.Forward(x), again);
        layer.Weight.CopyFrom(TestData.Uniform(97 * 150, 10));
        Assert.Equal(layer.Forward(x), layer.Forward(x));
        Assert.True(layer.HoldsCurrentTransposedWeight);
        Tolerance.AssertWithin("copy again", 150, layer.Forward(x), 16, 97, Expected.LayerForward(true, 16, 150, 97, x, layer.Weight.ToArray(), []));
        Assert.Equal(first.Length, again.Length);
    }

    /// <summary>Threads racing to build the copy on a fresh layer all get the right product.</summary>
    [SkippableFact]
    public void Concurrent_first_forwards_agree_while_the_copy_is_built()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        using var layer = new BlasLinear.Linear(150, 97, bias: false, backend, seed: 8);
        float[] x = TestData.Uniform(40 * 150, 9);
        var reference = Expected.LayerForward(true, 40, 150, 97, x, layer.Weight.ToArray(), []);
        float[][] results = new float[64][];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = layer.Forward(x));
        foreach (float[] y in results)
        {
            Tolerance.AssertWithin("concurrent Y", 150, y, 40, 97, reference);
        }

        Assert.True(layer.HoldsCurrentTransposedWeight || !TestBackends.Get(TestBackends.Cpu).PrefersTransposedWeight(40, 97, 150));
    }
}
