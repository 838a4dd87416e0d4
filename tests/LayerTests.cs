using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>Both layer forms, forward and backward: TESTING.md cases 1, 2, 7, 8, 9 and 10 on layers.</summary>
[EmulatorChecked]
public class LayerTests
{
    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithAvx2), MemberType = typeof(TestBackends))]
    public void Linear_golden_forward_and_backward_are_exact(TestBackend backendName)
    {
        // W[out=2, in=3] = [[1,2,3],[4,5,6]], b = [10, 20], X[2,3] = [[1,0,-1],[2,1,0]].
        using var layer = new Linear(3, 2, backend: TestBackends.Get(backendName));
        layer.Weight.CopyFrom([1, 2, 3, 4, 5, 6]);
        layer.Bias!.CopyFrom([10, 20]);
        float[] x = [1, 0, -1, 2, 1, 0];

        // Y = X·Wᵀ + b = [[1-3+10, 4-6+20], [2+2+10, 8+5+20]]
        Assert.Equal([8f, 18f, 14f, 33f], layer.Forward(x));

        float[] dy = [1, 2, -1, 1];
        var dx = new float[6];
        layer.ZeroGrad();
        layer.Backward(x, dy, dx);

        // dX = dY·W = [[1+8, 2+10, 3+12], [-1+4, -2+5, -3+6]]
        Assert.Equal([9f, 12f, 15f, 3f, 3f, 3f], dx);
        // dW = dYᵀ·X = [[1·1 + -1·2, 0 + -1·1, -1 + 0], [2·1 + 1·2, 0 + 1, -2 + 0]]
        Assert.Equal([-1f, -1f, -1f, 4f, 1f, -2f], layer.WeightGrad.ToArray());
        Assert.Equal([0f, 3f], layer.BiasGrad!.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithAvx2), MemberType = typeof(TestBackends))]
    public void ParameterLinear_golden_forward_and_backward_are_exact(TestBackend backendName)
    {
        // W[in=3, out=2] = [[1,4],[2,5],[3,6]] (the transpose of the Linear golden weight): same results.
        using var layer = new ParameterLinear(3, 2, backend: TestBackends.Get(backendName));
        layer.Weight.CopyFrom([1, 4, 2, 5, 3, 6]);
        layer.Bias!.CopyFrom([10, 20]);
        float[] x = [1, 0, -1, 2, 1, 0];

        Assert.Equal([8f, 18f, 14f, 33f], layer.Forward(x));

        float[] dy = [1, 2, -1, 1];
        var dx = new float[6];
        layer.ZeroGrad();
        layer.Backward(x, dy, dx);

        Assert.Equal([9f, 12f, 15f, 3f, 3f, 3f], dx);
        // dW = Xᵀ·dY, the transpose of Linear's.
        Assert.Equal([-1f, 4f, -1f, 1f, -1f, -2f], layer.WeightGrad.ToArray());
        Assert.Equal([0f, 3f], layer.BiasGrad!.ToArray());
    }

    /// <summary>
    /// TESTING.md case 2 on layers: batch, in and out over the sweep sizes; forward, dX, dW (accumulated
    /// onto a non-zero gradient) and db all within the bound of the float64 reference.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Sweep_forward_and_backward_match_float64(TestBackend backendName, LayerKind form, bool bias)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        int[] sizes = TestData.SweepSizes;
        int index = 0;
        foreach (int inFeatures in sizes)
        {
            foreach (int outFeatures in sizes)
            {
                using LinearLayer layer = LayerFactory.Create(form, inFeatures, outFeatures, bias, backend, seed: index);
                // Each layer shape meets a different batch size so that all of them are covered.
                int m = sizes[index++ % sizes.Length];
                CheckAgainstReference(layer, m, seed: index);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Every_batch_size_of_the_sweep_matches_float64(TestBackend backendName, LayerKind form, bool bias)
    {
        using LinearLayer layer = LayerFactory.Create(form, 65, 31, bias, TestBackends.Get(backendName));
        foreach (int m in TestData.SweepSizes)
        {
            CheckAgainstReference(layer, m, seed: m);
        }
    }

    /// <summary>TESTING.md case 7: analytic gradients against central differences of a float64 loss.</summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Gradients_match_central_finite_differences(TestBackend backendName, LayerKind form, bool bias)
    {
        const int m = 3, inFeatures = 5, outFeatures = 4;
        using LinearLayer layer = LayerFactory.Create(form, inFeatures, outFeatures, bias, TestBackends.Get(backendName));
        bool outByIn = layer.Layout == WeightLayout.OutByIn;
        float[] x = TestData.Uniform(m * inFeatures, 11);
        float[] r = TestData.Uniform(m * outFeatures, 12); // loss = Σ r ⊙ Y, so dY = r
        float[] w = layer.Weight.ToArray();
        float[] b = bias ? layer.Bias!.ToArray() : [];
        var dx = new float[x.Length];
        layer.ZeroGrad();
        layer.Backward(x, r, dx);
        float[] dw = layer.WeightGrad.ToArray();

        double Loss(double[] xs, double[] ws, double[] bs)
        {
            double loss = 0;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < outFeatures; j++)
                {
                    double y = bs.Length == 0 ? 0 : bs[j];
                    for (int p = 0; p < inFeatures; p++)
                    {
                        y += xs[i * inFeatures + p] * ws[outByIn ? j * inFeatures + p : p * outFeatures + j];
                    }

                    loss += r[i * outFeatures + j] * y;
                }
            }

            return loss;
        }

        double[] xd = Array.ConvertAll(x, v => (double)v), wd = Array.ConvertAll(w, v => (double)v), bd = Array.ConvertAll(b, v => (double)v);
        const double h = 1e-3;
        // The loss is linear in each parameter, so the central difference is exact up to float64
        // rounding; the float32 gradient then differs from it by rounding of sums of ≤ max(m, out) terms.
        void Check(string what, double[] values, int i, float analytic, int terms, double g)
        {
            double saved = values[i];
            values[i] = saved + h;
            double up = Loss(xd, wd, bd);
            values[i] = saved - h;
            double down = Loss(xd, wd, bd);
            values[i] = saved;
            double numeric = (up - down) / (2 * h);
            double error = Math.Abs(analytic - numeric);
            Assert.True(error <= Tolerance.Bound(terms, g) + 1e-9, $"{what}[{i}]: analytic {analytic}, numeric {numeric}");
        }

        for (int i = 0; i < x.Length; i++)
        {
            Check("dX", xd, i, dx[i], outFeatures, outFeatures);
        }

        for (int i = 0; i < w.Length; i++)
        {
            Check("dW", wd, i, dw[i], m, m);
        }

        if (bias)
        {
            float[] db = layer.BiasGrad!.ToArray();
            for (int i = 0; i < b.Length; i++)
            {
                Check("db", bd, i, db[i], m, m);
            }
        }
    }

    /// <summary>TESTING.md case 8: an empty batch.</summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Empty_batch_gives_empty_outputs_and_adds_nothing_to_gradients(TestBackend backendName, LayerKind form, bool bias)
    {
        using LinearLayer layer = LayerFactory.Create(form, 7, 5, bias, TestBackends.Get(backendName));

        Assert.Empty(layer.Forward([]));
        layer.Forward([], []);
        Assert.Equal([0, 5], layer.OutputShape(0, 7));

        layer.ZeroGrad();
        layer.Backward([], [], []);
        Assert.All(layer.WeightGrad.ToArray(), v => Assert.Equal(0f, v));
        if (bias)
        {
            Assert.All(layer.BiasGrad!.ToArray(), v => Assert.Equal(0f, v));
        }

        float[] x = TestData.Uniform(2 * 7, 1), dy = TestData.Uniform(2 * 5, 2);
        layer.Backward(x, dy, []);
        float[] weightGrad = layer.WeightGrad.ToArray();
        float[]? biasGrad = layer.BiasGrad?.ToArray();

        layer.Backward([], [], []);

        Assert.Equal(weightGrad, layer.WeightGrad.ToArray());
        Assert.Equal(biasGrad, layer.BiasGrad?.ToArray());
    }

    /// <summary>TESTING.md case 9: gradients accumulate, and ZeroGrad gives exact zeros.</summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Two_backward_calls_accumulate_the_sum_of_two_separate_ones(TestBackend backendName, LayerKind form, bool bias)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 17, 9, bias, backend);
        float[] x1 = TestData.Integers(4 * 17, 1), dy1 = TestData.Integers(4 * 9, 2);
        float[] x2 = TestData.Integers(3 * 17, 3), dy2 = TestData.Integers(3 * 9, 4);

        layer.ZeroGrad();
        layer.Backward(x1, dy1, []);
        float[] w1 = layer.WeightGrad.ToArray();
        float[]? b1 = layer.BiasGrad?.ToArray();
        layer.ZeroGrad();
        Assert.All(layer.WeightGrad.ToArray(), v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v)));
        layer.Backward(x2, dy2, []);
        float[] w2 = layer.WeightGrad.ToArray();
        float[]? b2 = layer.BiasGrad?.ToArray();
        layer.ZeroGrad();
        layer.Backward(x1, dy1, []);
        layer.Backward(x2, dy2, []);

        // Integer data: every sum is exact, so the comparison is exact too.
        Assert.Equal(w1.Zip(w2, (p, q) => p + q), layer.WeightGrad.ToArray());
        if (bias)
        {
            Assert.Equal(b1!.Zip(b2!, (p, q) => p + q), layer.BiasGrad!.ToArray());
        }

        layer.ZeroGrad();
        Assert.All(layer.WeightGrad.ToArray(), v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v)));
        Assert.All(layer.BiasGrad?.ToArray() ?? [], v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v)));
    }

    /// <summary>TESTING.md case 10: leading dimensions flatten into rows.</summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndFormsWithAvx2), MemberType = typeof(LayerFactory))]
    public void Input_of_shape_2_3_in_equals_shape_6_in(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 5, 4, true, backend);
        float[] x = TestData.Uniform(2 * 3 * 5, 1);
        float[] dy = TestData.Uniform(2 * 3 * 4, 2);

        Assert.Equal([2, 3, 4], layer.OutputShape(2, 3, 5));
        float[] rows = layer.Forward(x);
        float[] batched = new float[2 * 3 * 4];
        for (int block = 0; block < 2; block++)
        {
            layer.Forward(x.AsSpan(block * 15, 15), batched.AsSpan(block * 12, 12));
        }

        Assert.Equal(rows, batched);
        var dx6 = new float[30];
        layer.Backward(x, dy, dx6);
        var dx23 = new float[30];
        for (int block = 0; block < 2; block++)
        {
            layer.Backward(x.AsSpan(block * 15, 15), dy.AsSpan(block * 12, 12), dx23.AsSpan(block * 15, 15));
        }

        Assert.Equal(dx6, dx23);
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBiasWithAvx2), MemberType = typeof(LayerFactory))]
    public void Buffer_overloads_match_span_overloads(TestBackend backendName, LayerKind form, bool bias)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 33, 17, bias, backend);
        const int m = 9;
        float[] x = TestData.Uniform(m * 33, 1), dy = TestData.Uniform(m * 17, 2);
        float[] y = layer.Forward(x);
        var dx = new float[x.Length];
        layer.ZeroGrad();
        layer.Backward(x, dy, dx);
        float[] dw = layer.WeightGrad.ToArray();

        // Larger than needed: the layer uses the first batch rows.
        using BlasBuffer bx = backend.Allocate(m + 2, 33), by = backend.Allocate(m + 1, 17), bdy = backend.Allocate(m, 17), bdx = backend.Allocate(m, 33);
        bx.CopyFrom([.. x, .. new float[66]]);
        bdy.CopyFrom(dy);
        layer.Forward(bx, by, m);
        layer.ZeroGrad();
        layer.Backward(bx, bdy, bdx, m);

        Assert.Equal(y, by.ToArray()[..(m * 17)]);
        Assert.Equal(dx, bdx.ToArray());
        Assert.Equal(dw, layer.WeightGrad.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndFormsWithAvx2), MemberType = typeof(LayerFactory))]
    public void Seeded_initialisation_is_reproducible_and_in_range(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer a = LayerFactory.Create(form, 64, 32, true, backend, seed: 42);
        using LinearLayer b = LayerFactory.Create(form, 64, 32, true, backend, seed: 42);
        using LinearLayer c = LayerFactory.Create(form, 64, 32, true, backend, seed: 43);
        float bound = 1 / MathF.Sqrt(64);

        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        Assert.Equal(a.Bias!.ToArray(), b.Bias!.ToArray());
        Assert.NotEqual(a.Weight.ToArray(), c.Weight.ToArray());
        Assert.All(a.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(a.Bias.ToArray(), v => Assert.InRange(v, -bound, bound));
        // U(−1/8, 1/8) has standard deviation 1/(8√3) ≈ 0.072; 2048 draws pin it to a few percent.
        float[] w = a.Weight.ToArray();
        double std = Math.Sqrt(w.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.066, 0.078);
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndFormsWithAvx2), MemberType = typeof(LayerFactory))]
    public void Standard_normal_initialisation_has_unit_variance(TestBackend backendName, LayerKind form)
    {
        using LinearLayer layer = LayerFactory.Create(form, 100, 50, true, TestBackends.Get(backendName));
        layer.ResetParameters(ParameterInit.StandardNormal, seed: 5);
        float[] w = layer.Weight.ToArray();
        double mean = w.Average(v => (double)v);
        double variance = w.Average(v => ((double)v - mean) * ((double)v - mean));

        // 5000 draws: the sample mean is within ±4/√5000 ≈ ±0.057 and the variance within ±0.1 with certainty for this seed's margin.
        Assert.InRange(mean, -0.057, 0.057);
        Assert.InRange(variance, 0.9, 1.1);
    }

    [Fact]
    public void ToString_matches_PyTorch_repr()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        using var linear = new Linear(3, 2, backend: backend);
        using var parameter = new ParameterLinear(3, 2, bias: false, backend: backend);

        Assert.Equal("Linear(in_features=3, out_features=2, bias=True)", linear.ToString());
        Assert.Equal("ParameterLinear(in_features=3, out_features=2, bias=False)", parameter.ToString());
        Assert.Equal([2, 3], linear.Weight.Shape);
        Assert.Equal([3, 2], parameter.Weight.Shape);
        Assert.Null(parameter.Bias);
        Assert.Null(parameter.BiasGrad);
    }

    internal static void CheckAgainstReference(LinearLayer layer, int m, int seed)
    {
        int inFeatures = layer.InFeatures, outFeatures = layer.OutFeatures;
        bool outByIn = layer.Layout == WeightLayout.OutByIn;
        string what = $"{layer} m={m}";
        float[] x = TestData.Uniform(m * inFeatures, seed);
        float[] dy = TestData.Uniform(m * outFeatures, seed + 1);
        float[] w = layer.Weight.ToArray();
        float[] b = layer.Bias?.ToArray() ?? [];
        // Start from non-zero gradients to check that backward accumulates.
        float[] dw0 = TestData.Uniform(w.Length, seed + 2);
        float[] db0 = TestData.Uniform(outFeatures, seed + 3);
        layer.WeightGrad.CopyFrom(dw0);
        layer.BiasGrad?.CopyFrom(db0);

        var y = new float[m * outFeatures];
        layer.Forward(x, y);
        var dx = new float[m * inFeatures];
        layer.Backward(x, dy, dx);

        Tolerance.AssertWithin($"{what} Y", inFeatures, y, m, outFeatures, Expected.LayerForward(outByIn, m, inFeatures, outFeatures, x, w, b));
        Tolerance.AssertWithin($"{what} dX", outFeatures, dx, m, inFeatures, Expected.LayerInputGradient(outByIn, m, inFeatures, outFeatures, dy, w));
        (int wRows, int wCols) = outByIn ? (outFeatures, inFeatures) : (inFeatures, outFeatures);
        Tolerance.AssertWithin($"{what} dW", m, layer.WeightGrad.ToArray(), wRows, wCols, Expected.LayerWeightGradient(outByIn, m, inFeatures, outFeatures, x, dy, dw0));
        if (layer.HasBias)
        {
            Tolerance.AssertWithin($"{what} db", m, layer.BiasGrad!.ToArray(), 1, outFeatures, Expected.BiasGradient(m, outFeatures, dy, db0));
        }
    }
}
