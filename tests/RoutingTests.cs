using BlasLinear.Backends;
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
    public static readonly int[] SwitchBatches = [1, 4, 5, 6, 7, 8, 15, 16, 24, 25, 32, 33, 63, 64, 255, 256];

    /// <summary>Both forms at every switch batch, with a bias on every other batch (<paramref name="biasOnOdd"/> picks which).</summary>
    public static TheoryData<LayerKind, bool, int> FormsBiasAndBatches(bool biasOnOdd) => FormsBiasAndBatches(SwitchBatches, biasOnOdd);

    /// <summary>Both forms at each of <paramref name="batches"/>, with a bias on the odd batches (on the even ones without <paramref name="biasOnOdd"/>).</summary>
    internal static TheoryData<LayerKind, bool, int> FormsBiasAndBatches(IEnumerable<int> batches, bool biasOnOdd = true)
    {
        var data = new TheoryData<LayerKind, bool, int>();
        foreach (LayerKind form in new[] { LayerFactory.Linear, LayerFactory.ParameterLinear })
        {
            foreach (int batch in batches)
            {
                data.Add(form, batch % 2 == (biasOnOdd ? 1 : 0), batch);
            }
        }

        return data;
    }

    /// <summary>Forward, dX, dW (accumulated) and db within the float64 bound on each side of every switch.</summary>
    [SkippableTheory]
    [MemberData(nameof(FormsBiasAndBatches), false)]
    public void Layers_match_float64_on_each_side_of_every_route_switch(LayerKind form, bool bias, int batch)
    {
        // Ragged sizes: neither is a multiple of a kernel tile or of 16.
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias, TestBackends.Get(TestBackends.Cpu), seed: batch);
        LayerTests.CheckAgainstReference(layer, batch, seed: batch);
    }

    /// <summary>Each side of every batch at which the AVX2 table changes route (RouteTableAvx2Tests), both forms, bias on odd batches.</summary>
    public static TheoryData<LayerKind, bool, int> Avx2FormsBiasAndBatches() => FormsBiasAndBatches([2, 3, 8, 9, 12, 13, 24, 25, 64]);

    /// <summary>As above, on the CPU with the kernels' AVX2 path forced, whose table switches elsewhere.</summary>
    [SkippableTheory]
    [MemberData(nameof(Avx2FormsBiasAndBatches))]
    public void Layers_match_float64_on_each_side_of_every_AVX2_route_switch(LayerKind form, bool bias, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 150, 97, bias, TestBackends.Get(TestBackends.CpuAvx2), seed: batch);
        LayerTests.CheckAgainstReference(layer, batch, seed: batch);
    }

    /// <summary>
    /// A weight just past 16 MiB (2048 → 2049: 4,196,352 floats), where the big operand streams from memory: at
    /// batch 1 dX (Linear's A·B) and dW (Aᵀ·B, one row of dW at a time) run on the kernels, at batch 2 dX on oneDNN;
    /// dW stays on the kernels to batch 32 (AVX2: 8), then goes to oneDNN; forward, dX, dW and db against float64,
    /// on both kernel paths, on each side of those switches.
    /// </summary>
    [SkippableTheory]
    [InlineData(TestBackends.Cpu, LayerFactory.Linear, 1)]
    [InlineData(TestBackends.Cpu, LayerFactory.ParameterLinear, 1)]
    [InlineData(TestBackends.Cpu, LayerFactory.Linear, 2)]
    [InlineData(TestBackends.Cpu, LayerFactory.ParameterLinear, 32)]
    [InlineData(TestBackends.Cpu, LayerFactory.Linear, 33)]
    [InlineData(TestBackends.CpuAvx2, LayerFactory.Linear, 1)]
    [InlineData(TestBackends.CpuAvx2, LayerFactory.ParameterLinear, 1)]
    [InlineData(TestBackends.CpuAvx2, LayerFactory.Linear, 8)]
    [InlineData(TestBackends.CpuAvx2, LayerFactory.ParameterLinear, 9)]
    public void Layers_past_16_MiB_match_float64_on_each_side_of_a_switch(TestBackend backendName, LayerKind form, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 2048, 2049, bias: true, TestBackends.Get(backendName), seed: batch);
        LayerTests.CheckAgainstReference(layer, batch, seed: 40 + batch);
    }

    /// <summary>
    /// The AVX2 path's weight gradient with B's rows 1,024 floats apart (<c>Linear</c>'s input, <c>ParameterLinear</c>'s
    /// output gradient, 1024 wide), which its kernels copy into panels from batch 4 and keep to batch 16 (oneDNN from 17):
    /// forward, dX, dW and db against float64 on each side of both. 40 rows of dW, in slices of 16 and 24 (the router's
    /// Aᵀ·B slices are whole blocks of 16 rows but the last), both at the kernel's 16 rows or more.
    /// </summary>
    [SkippableTheory]
    [InlineData(LayerFactory.Linear, 3)]
    [InlineData(LayerFactory.Linear, 4)]
    [InlineData(LayerFactory.Linear, 16)]
    [InlineData(LayerFactory.Linear, 17)]
    [InlineData(LayerFactory.ParameterLinear, 4)]
    [InlineData(LayerFactory.ParameterLinear, 16)]
    [InlineData(LayerFactory.ParameterLinear, 17)]
    public void Avx2_layers_with_B_rows_4_KiB_apart_match_float64_where_the_gradient_copies_B(LayerKind form, int batch)
    {
        (int inFeatures, int outFeatures) = form == LayerFactory.Linear ? (1024, 40) : (40, 1024);
        using LinearLayer layer = LayerFactory.Create(form, inFeatures, outFeatures, bias: true, TestBackends.Get(TestBackends.CpuAvx2), seed: batch);
        LayerTests.CheckAgainstReference(layer, batch, seed: 60 + batch);
    }

    /// <summary>The benchmark's shape, where every route runs multithreaded, on each side of the oneDNN switches.</summary>
    [SkippableTheory]
    [InlineData(LayerFactory.Linear, 25)]
    [InlineData(LayerFactory.Linear, 64)]
    [InlineData(LayerFactory.ParameterLinear, 8)]
    [InlineData(LayerFactory.Linear, 6)]
    public void Forward_at_1024_matches_float64_at_a_switch(LayerKind form, int batch)
    {
        using LinearLayer layer = LayerFactory.Create(form, 1024, 1024, bias: true, TestBackends.Get(TestBackends.Cpu), seed: batch);
        float[] x = TestData.Uniform(batch * 1024, batch);
        float[] y = layer.Forward(x);
        Tolerance.AssertWithin($"{layer} m={batch} Y", 1024, y, batch, 1024,
            Expected.LayerForward(layer.Layout == WeightLayout.OutByIn, batch, 1024, 1024, x, layer.Weight.ToArray(), layer.Bias!.ToArray()));
    }
}
