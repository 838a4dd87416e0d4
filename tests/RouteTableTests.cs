using BlasLinear.Backends;
using BlasLinear.Tests.Support;
using Xunit;
using static BlasLinear.Backends.Transpose;
using Route = BlasLinear.Backends.CpuRouteTable.Route;

namespace BlasLinear.Tests;

/// <summary>
/// The CPU backend's route table (CpuRouteTable.cs; the rows behind it in docs/cpu-routes.md), built
/// directly: no backend, no native library. The Auto table switches where it says, and the description
/// says what is in force. The layers on each side of every switch are checked in RoutingTests.
/// </summary>
public class RouteTableTests
{
    /// <summary>Each side of every batch at which the Auto table changes route, with oneDNN and without.</summary>
    private static readonly int[] SwitchBatches = [1, 4, 5, 6, 7, 8, 24, 25, 32, 33, 63, 64, 255, 256];

    [Fact]
    public void Auto_table_with_kernels_and_oneDNN_switches_where_documented()
    {
        var table = new CpuRouteTable(CpuRouting.Auto, kernels: true, oneDnn: true);
        Assert.Equal(Route.KernelsAbt, table.Choose(NoTrans, Trans, 24, 1024, 1024));
        Assert.Equal(Route.OneDnnSwapped, table.Choose(NoTrans, Trans, 25, 1024, 1024));
        Assert.Equal(Route.OneDnnSwapped, table.Choose(NoTrans, Trans, 63, 1024, 1024));
        Assert.Equal(Route.OneDnn, table.Choose(NoTrans, Trans, 64, 1024, 1024));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 7, 1024, 1024));
        Assert.Equal(Route.OneDnn, table.Choose(NoTrans, NoTrans, 8, 1024, 1024));
        // The weight gradient's batch is k.
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 1024, 1024, 32));
        Assert.Equal(Route.OneDnn, table.Choose(Trans, NoTrans, 1024, 1024, 33));
        Assert.Equal(Route.OpenBlas, table.Choose(Trans, Trans, 7, 7, 7));

        // Operands past 16 MiB stream from memory: oneDNN but for one row of A·B.
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 1, 4096, 4096));
        Assert.Equal(Route.OneDnn, table.Choose(NoTrans, NoTrans, 2, 4096, 4096));
        Assert.Equal(Route.OneDnn, table.Choose(Trans, NoTrans, 4096, 4096, 1));

        // Small products stay on the kernels at any batch, and Linear keeps no copy for them.
        Assert.Equal(Route.KernelsAbt, table.Choose(NoTrans, Trans, 300, 8, 8));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 300, 8, 8));
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 8, 8, 300));
        Assert.False(table.PrefersTransposedWeight(300, 8, 8));
        Assert.True(table.PrefersTransposedWeight(6, 1024, 1024));
        Assert.False(table.PrefersTransposedWeight(5, 1024, 1024));
    }

    [Fact]
    public void Auto_table_without_oneDNN_keeps_kernels_and_falls_back_to_OpenBLAS()
    {
        var table = new CpuRouteTable(CpuRouting.Auto, kernels: true, oneDnn: false);
        Assert.Equal(Route.KernelsAbt, table.Choose(NoTrans, Trans, 255, 1024, 1024));
        Assert.Equal(Route.OpenBlas, table.Choose(NoTrans, Trans, 256, 1024, 1024));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 512, 1024, 1024));
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 1024, 1024, 512));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 4, 4096, 4096));
        Assert.Equal(Route.OpenBlas, table.Choose(Trans, NoTrans, 4096, 4096, 1));

        var neither = new CpuRouteTable(CpuRouting.Auto, kernels: false, oneDnn: false);
        var oneDnnOnly = new CpuRouteTable(CpuRouting.Auto, kernels: false, oneDnn: true);
        foreach (int m in SwitchBatches)
        {
            Assert.Equal(Route.OpenBlas, neither.Choose(NoTrans, Trans, m, 64, 64));
            Assert.Equal(Route.OpenBlas, neither.Choose(NoTrans, NoTrans, m, 64, 64));
            // The swapped route needs the kernels' transpose, so without them oneDNN is called directly.
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(NoTrans, Trans, m, 64, 64));
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(Trans, NoTrans, 64, 64, m));
        }
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
        Assert.Equal(Route.OpenBlas, pinned.RouteOf(NoTrans, Trans, 1, 1024, 1024));
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
