using BlasLinear.Backends;
using BlasLinear;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;
using Route = BlasLinear.Backends.CpuRouter.Route;

namespace BlasLinear.Tests;

/// <summary>
/// The CPU backend's routing (CpuRouter.cs): the Auto table switches where it says, both layer forms are
/// right on each side of every switch, and the description says what is in force. The GEMM suite itself
/// runs on every pinned route (GemmTests, <see cref="TestBackends.AllWithRoutes"/>).
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

    [Fact]
    public void Auto_table_with_kernels_and_oneDNN_switches_where_documented()
    {
        CpuRouter router = CpuRouter.AutoWith(kernels: true, oneDnn: true);
        Assert.Equal(Route.KernelsAbt, router.Choose(Transpose.NoTrans, Transpose.Trans, 24, 1024, 1024));
        Assert.Equal(Route.OneDnnSwapped, router.Choose(Transpose.NoTrans, Transpose.Trans, 25, 1024, 1024));
        Assert.Equal(Route.OneDnnSwapped, router.Choose(Transpose.NoTrans, Transpose.Trans, 63, 1024, 1024));
        Assert.Equal(Route.OneDnn, router.Choose(Transpose.NoTrans, Transpose.Trans, 64, 1024, 1024));
        Assert.Equal(Route.KernelsAb, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 7, 1024, 1024));
        Assert.Equal(Route.OneDnn, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 8, 1024, 1024));
        // The weight gradient's batch is k.
        Assert.Equal(Route.KernelsAtb, router.Choose(Transpose.Trans, Transpose.NoTrans, 1024, 1024, 32));
        Assert.Equal(Route.OneDnn, router.Choose(Transpose.Trans, Transpose.NoTrans, 1024, 1024, 33));
        Assert.Equal(Route.OpenBlas, router.Choose(Transpose.Trans, Transpose.Trans, 7, 7, 7));

        // Operands past 16 MiB stream from memory: oneDNN but for one row of A·B.
        Assert.Equal(Route.KernelsAb, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 1, 4096, 4096));
        Assert.Equal(Route.OneDnn, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 2, 4096, 4096));
        Assert.Equal(Route.OneDnn, router.Choose(Transpose.Trans, Transpose.NoTrans, 4096, 4096, 1));

        // Small products stay on the kernels at any batch, and Linear keeps no copy for them.
        Assert.Equal(Route.KernelsAbt, router.Choose(Transpose.NoTrans, Transpose.Trans, 300, 8, 8));
        Assert.Equal(Route.KernelsAb, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 300, 8, 8));
        Assert.Equal(Route.KernelsAtb, router.Choose(Transpose.Trans, Transpose.NoTrans, 8, 8, 300));
        Assert.False(router.PrefersTransposedWeight(300, 8, 8));
        Assert.True(router.PrefersTransposedWeight(6, 1024, 1024));
        Assert.False(router.PrefersTransposedWeight(5, 1024, 1024));
    }

    [Fact]
    public void Auto_table_without_oneDNN_keeps_kernels_and_falls_back_to_OpenBLAS()
    {
        CpuRouter router = CpuRouter.AutoWith(kernels: true, oneDnn: false);
        Assert.Equal(Route.KernelsAbt, router.Choose(Transpose.NoTrans, Transpose.Trans, 255, 1024, 1024));
        Assert.Equal(Route.OpenBlas, router.Choose(Transpose.NoTrans, Transpose.Trans, 256, 1024, 1024));
        Assert.Equal(Route.KernelsAb, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 512, 1024, 1024));
        Assert.Equal(Route.KernelsAtb, router.Choose(Transpose.Trans, Transpose.NoTrans, 1024, 1024, 512));
        Assert.Equal(Route.KernelsAb, router.Choose(Transpose.NoTrans, Transpose.NoTrans, 4, 4096, 4096));
        Assert.Equal(Route.OpenBlas, router.Choose(Transpose.Trans, Transpose.NoTrans, 4096, 4096, 1));

        CpuRouter neither = CpuRouter.AutoWith(kernels: false, oneDnn: false);
        CpuRouter oneDnnOnly = CpuRouter.AutoWith(kernels: false, oneDnn: true);
        foreach (int m in SwitchBatches)
        {
            Assert.Equal(Route.OpenBlas, neither.Choose(Transpose.NoTrans, Transpose.Trans, m, 64, 64));
            Assert.Equal(Route.OpenBlas, neither.Choose(Transpose.NoTrans, Transpose.NoTrans, m, 64, 64));
            // The swapped route needs the kernels' transpose, so without them oneDNN is called directly.
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(Transpose.NoTrans, Transpose.Trans, m, 64, 64));
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(Transpose.Trans, Transpose.NoTrans, 64, 64, m));
        }
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

    [SkippableFact]
    public void Description_names_the_providers_and_the_routing_in_force()
    {
        var backend = (CpuBackend)TestBackends.Get(TestBackends.Cpu);
        BackendDescription description = backend.Describe();
        Assert.NotNull(description["kernels"]);
        Assert.NotNull(description["oneDNN"]);
        Assert.StartsWith("auto:", description["routing"], StringComparison.Ordinal);
        Assert.Equal(CpuRouting.Auto, backend.Routing);

        using CpuBackend pinned = CpuBackend.Create(CpuRouting.OpenBlas);
        Assert.Equal("pinned: OpenBLAS for every product", pinned.Describe()["routing"]);
        Assert.Equal(Route.OpenBlas, pinned.RouteOf(Transpose.NoTrans, Transpose.Trans, 1, 1024, 1024));
    }

    [Theory]
    [InlineData(null, CpuRouting.Auto)]
    [InlineData("", CpuRouting.Auto)]
    [InlineData(" Auto ", CpuRouting.Auto)]
    [InlineData("openblas", CpuRouting.OpenBlas)]
    [InlineData("KERNELS", CpuRouting.Kernels)]
    [InlineData("onednn", CpuRouting.OneDnn)]
    public void Routes_variable_is_parsed(string? value, CpuRouting expected) =>
        Assert.Equal(expected, CpuBackend.ParseRouting(value));

    [Fact]
    public void Unknown_routes_value_and_undefined_enum_are_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => CpuBackend.ParseRouting("mkl"));
        Assert.Contains("auto, openblas, kernels, onednn", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuBackend.Create((CpuRouting)42));
    }
}
