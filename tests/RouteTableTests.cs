using BlasLinear.Backends;
using BlasLinear.Tests.Support;
using Xunit;
using static BlasLinear.Backends.Transpose;
using Route = BlasLinear.Backends.CpuRouteTable.Route;

namespace BlasLinear.Tests;

/// <summary>Which of the optional CPU providers are present (OpenBLAS always is).</summary>
[Flags]
public enum CpuProviderSet
{
    None = 0,
    Kernels = 1,
    OneDnn = 2,
    Both = Kernels | OneDnn,
}

/// <summary>One product asked of a route table, and the route docs/cpu-routes.md gives it.</summary>
public sealed class RouteCase
{
    internal RouteCase(CpuRouting routing, CpuProviderSet present, Transpose transA, Transpose transB, int m, int n, int k, Route expected)
    {
        Routing = routing;
        Present = present;
        TransA = transA;
        TransB = transB;
        M = m;
        N = n;
        K = k;
        Expected = expected;
    }

    public CpuRouting Routing { get; }

    public CpuProviderSet Present { get; }

    public Transpose TransA { get; }

    public Transpose TransB { get; }

    public int M { get; }

    public int N { get; }

    public int K { get; }

    internal Route Expected { get; }

    internal CpuRouteTable Table() => RouteTableTests.Table(Routing, Present);

    public override string ToString() =>
        $"{Routing} with {Present}: {(TransA == Trans ? "Aᵀ" : "A")}·{(TransB == Trans ? "Bᵀ" : "B")} m={M} n={N} k={K} → {Expected}";
}

/// <summary>
/// The CPU backend's route table (CpuRouteTable.cs; the rows behind it in docs/cpu-routes.md), built
/// directly: no backend, no native library. The Auto table switches where it says for every product and
/// every set of providers, pinned routings send every product where they say, and the description line
/// is the documented one. The layers on each side of every switch are checked in RoutingTests.
/// </summary>
public class RouteTableTests
{
    /// <summary>Each side of every batch at which the Auto table, or Linear's transposed weight, changes route.</summary>
    private static readonly int[] SwitchBatches = [1, 4, 5, 6, 7, 8, 15, 16, 24, 25, 32, 33, 63, 64, 255, 256, 512];

    private static readonly Transpose[] Transposes = [NoTrans, Trans];

    private static readonly CpuProviderSet[] ProviderSets =
        [CpuProviderSet.None, CpuProviderSet.Kernels, CpuProviderSet.OneDnn, CpuProviderSet.Both];

    /// <summary>
    /// The Auto table of docs/cpu-routes.md for a 1024→1024 layer (no product small, no operand past
    /// 16 MiB): per product and providers present, the last batch of each run of one route.
    /// </summary>
    private static readonly Documented[] AutoAt1024 =
    [
        new(NoTrans, Trans, CpuProviderSet.Both, [new(24, Route.KernelsAbt), new(63, Route.OneDnnSwapped), new(int.MaxValue, Route.OneDnn)]),
        new(NoTrans, Trans, CpuProviderSet.Kernels, [new(255, Route.KernelsAbt), new(int.MaxValue, Route.OpenBlas)]),
        new(NoTrans, Trans, CpuProviderSet.OneDnn, [new(int.MaxValue, Route.OneDnn)]),
        new(NoTrans, Trans, CpuProviderSet.None, [new(int.MaxValue, Route.OpenBlas)]),
        new(NoTrans, NoTrans, CpuProviderSet.Both, [new(7, Route.KernelsAb), new(int.MaxValue, Route.OneDnn)]),
        new(NoTrans, NoTrans, CpuProviderSet.Kernels, [new(int.MaxValue, Route.KernelsAb)]),
        new(NoTrans, NoTrans, CpuProviderSet.OneDnn, [new(int.MaxValue, Route.OneDnn)]),
        new(NoTrans, NoTrans, CpuProviderSet.None, [new(int.MaxValue, Route.OpenBlas)]),
        new(Trans, NoTrans, CpuProviderSet.Both, [new(32, Route.KernelsAtb), new(int.MaxValue, Route.OneDnn)]),
        new(Trans, NoTrans, CpuProviderSet.Kernels, [new(int.MaxValue, Route.KernelsAtb)]),
        new(Trans, NoTrans, CpuProviderSet.OneDnn, [new(int.MaxValue, Route.OneDnn)]),
        new(Trans, NoTrans, CpuProviderSet.None, [new(int.MaxValue, Route.OpenBlas)]),
        new(Trans, Trans, CpuProviderSet.Both, [new(int.MaxValue, Route.OpenBlas)]),
        new(Trans, Trans, CpuProviderSet.Kernels, [new(int.MaxValue, Route.OpenBlas)]),
        new(Trans, Trans, CpuProviderSet.OneDnn, [new(int.MaxValue, Route.OpenBlas)]),
        new(Trans, Trans, CpuProviderSet.None, [new(int.MaxValue, Route.OpenBlas)]),
    ];

    /// <summary>Every (transA, transB) pair × providers × batch on each side of every switch, at 1024→1024.</summary>
    public static TheoryData<RouteCase> AutoCases()
    {
        var data = new TheoryData<RouteCase>();
        foreach (Documented row in AutoAt1024)
        {
            foreach (int batch in SwitchBatches)
            {
                Route expected = row.Bands.First(band => batch <= band.UpTo).Route;
                // The weight gradient's batch is k; every other product's is m.
                (int m, int k) = row.TransA == Trans && row.TransB == NoTrans ? (1024, batch) : (batch, 1024);
                data.Add(new RouteCase(CpuRouting.Auto, row.Present, row.TransA, row.TransB, m, 1024, k, expected));
            }
        }

        return data;
    }

    /// <summary>Products under 32,768 multiply-adds, and operands past 16 MiB, on each side of the limit.</summary>
    public static TheoryData<RouteCase> AutoEdgeCases()
    {
        const CpuRouting auto = CpuRouting.Auto;
        const CpuProviderSet both = CpuProviderSet.Both, kernels = CpuProviderSet.Kernels;
        const CpuProviderSet oneDnn = CpuProviderSet.OneDnn, none = CpuProviderSet.None;
        return new TheoryData<RouteCase>
        {
            // Small products stay on the kernels at any batch; without them they take the large-batch route.
            new(auto, both, NoTrans, Trans, 300, 8, 8, Route.KernelsAbt),
            new(auto, both, NoTrans, NoTrans, 300, 8, 8, Route.KernelsAb),
            new(auto, both, Trans, NoTrans, 8, 8, 300, Route.KernelsAtb),
            new(auto, both, Trans, Trans, 8, 8, 8, Route.OpenBlas),
            new(auto, kernels, NoTrans, Trans, 300, 8, 8, Route.KernelsAbt),
            new(auto, oneDnn, NoTrans, Trans, 300, 8, 8, Route.OneDnn),
            new(auto, oneDnn, NoTrans, NoTrans, 300, 8, 8, Route.OneDnn),
            new(auto, oneDnn, Trans, NoTrans, 8, 8, 300, Route.OneDnn),
            new(auto, none, NoTrans, Trans, 300, 8, 8, Route.OpenBlas),
            new(auto, none, NoTrans, NoTrans, 300, 8, 8, Route.OpenBlas),

            // 31·32·33 = 32,736 is small; 32·32·32 = 32,768 and 32·32·33 are not.
            new(auto, both, NoTrans, Trans, 31, 32, 33, Route.KernelsAbt),
            new(auto, both, NoTrans, Trans, 32, 32, 32, Route.OneDnnSwapped),
            new(auto, both, NoTrans, NoTrans, 31, 32, 33, Route.KernelsAb),
            new(auto, both, NoTrans, NoTrans, 32, 32, 32, Route.OneDnn),
            new(auto, both, Trans, NoTrans, 31, 32, 33, Route.KernelsAtb),
            new(auto, both, Trans, NoTrans, 32, 32, 33, Route.OneDnn),
            new(auto, kernels, NoTrans, Trans, 256, 8, 15, Route.KernelsAbt),
            new(auto, kernels, NoTrans, Trans, 256, 8, 16, Route.OpenBlas),

            // Operands past 16 MiB stream from memory: oneDNN but at batch 1 for A·B, from batch 33 for Aᵀ·B; 2048×2048
            // is exactly 16 MiB.
            new(auto, both, NoTrans, NoTrans, 1, 4096, 4096, Route.KernelsAb),
            new(auto, both, NoTrans, NoTrans, 2, 4096, 4096, Route.OneDnn),
            new(auto, both, NoTrans, NoTrans, 2, 2048, 2048, Route.KernelsAb),
            new(auto, both, NoTrans, NoTrans, 2, 2049, 2048, Route.OneDnn),
            new(auto, both, Trans, NoTrans, 4096, 4096, 1, Route.KernelsAtb),
            new(auto, both, Trans, NoTrans, 4096, 4096, 32, Route.KernelsAtb),
            new(auto, both, Trans, NoTrans, 4096, 4096, 33, Route.OneDnn),
            new(auto, both, Trans, NoTrans, 2048, 2048, 32, Route.KernelsAtb),
            new(auto, both, Trans, NoTrans, 2048, 2049, 32, Route.KernelsAtb),
            new(auto, both, Trans, NoTrans, 2048, 2049, 33, Route.OneDnn),
            new(auto, both, NoTrans, Trans, 1, 4096, 4096, Route.KernelsAbt),
            new(auto, both, NoTrans, Trans, 64, 4096, 4096, Route.OneDnn),
            // Without oneDNN the kernels keep A·B at every batch, and OpenBLAS takes Aᵀ·B from memory from batch 9.
            new(auto, kernels, NoTrans, NoTrans, 4, 4096, 4096, Route.KernelsAb),
            new(auto, kernels, NoTrans, NoTrans, 512, 4096, 4096, Route.KernelsAb),
            new(auto, kernels, Trans, NoTrans, 4096, 4096, 8, Route.KernelsAtb),
            new(auto, kernels, Trans, NoTrans, 4096, 4096, 9, Route.OpenBlas),
            new(auto, kernels, Trans, NoTrans, 2048, 2048, 512, Route.KernelsAtb),
            new(auto, oneDnn, NoTrans, NoTrans, 1, 4096, 4096, Route.OneDnn),
            new(auto, none, Trans, NoTrans, 4096, 4096, 1, Route.OpenBlas),
        };
    }

    /// <summary>Each pinned routing, with each set of providers it can be built with, on small, 1024 and 4096 shapes.</summary>
    public static TheoryData<RouteCase> PinnedCases()
    {
        var data = new TheoryData<RouteCase>();
        (int M, int N, int K)[] shapes = [(8, 8, 8), (1, 1024, 1024), (512, 1024, 1024), (4096, 4096, 1)];
        foreach (CpuRouting routing in new[] { CpuRouting.OpenBlas, CpuRouting.Kernels, CpuRouting.OneDnn })
        {
            foreach (CpuProviderSet present in ProviderSets.Where(set => CanPin(routing, set)))
            {
                foreach (Transpose transA in Transposes)
                {
                    foreach (Transpose transB in Transposes)
                    {
                        Route expected = routing switch
                        {
                            CpuRouting.OneDnn => Route.OneDnn,
                            CpuRouting.Kernels when transA == NoTrans && transB == Trans => Route.KernelsAbt,
                            CpuRouting.Kernels when transA == NoTrans => Route.KernelsAb,
                            CpuRouting.Kernels when transB == NoTrans => Route.KernelsAtb,
                            _ => Route.OpenBlas,
                        };
                        foreach ((int m, int n, int k) in shapes)
                        {
                            data.Add(new RouteCase(routing, present, transA, transB, m, n, k, expected));
                        }
                    }
                }
            }
        }

        return data;
    }

    public static TheoryData<CpuRouting, CpuProviderSet, string> Descriptions()
    {
        var data = new TheoryData<CpuRouting, CpuProviderSet, string>
        {
            { CpuRouting.Auto, CpuProviderSet.Both,
                "auto: A·Bᵀ kernels to batch 24, oneDNN swapped to 63, then oneDNN; A·B kernels to batch 7, Aᵀ·B to 32, then oneDNN "
                + "(operands past 16 MiB: A·B kernels at batch 1, Aᵀ·B to 32); kernels under 32768 multiply-adds" },
            { CpuRouting.Auto, CpuProviderSet.Kernels,
                "auto: A·Bᵀ kernels to batch 255, then OpenBLAS; A·B and Aᵀ·B kernels at every batch (Aᵀ·B past 16 MiB: kernels to batch 8, then OpenBLAS)" },
            { CpuRouting.Auto, CpuProviderSet.OneDnn, "auto: oneDNN for every product but Aᵀ·Bᵀ (no kernels for this CPU)" },
            { CpuRouting.Auto, CpuProviderSet.None, "auto: OpenBLAS for every product (no kernels, no oneDNN)" },
        };
        foreach (CpuProviderSet present in ProviderSets)
        {
            data.Add(CpuRouting.OpenBlas, present, "pinned: OpenBLAS for every product");
            if (CanPin(CpuRouting.Kernels, present))
            {
                data.Add(CpuRouting.Kernels, present, "pinned: kernels for op(A)·B and A·Bᵀ, OpenBLAS for Aᵀ·Bᵀ");
            }

            if (CanPin(CpuRouting.OneDnn, present))
            {
                data.Add(CpuRouting.OneDnn, present, "pinned: oneDNN for every product");
            }
        }

        return data;
    }

    [Fact]
    public void Auto_table_with_kernels_and_oneDNN_switches_where_documented()
    {
        CpuRouteTable table = Table(CpuRouting.Auto, CpuProviderSet.Both);
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

        // Operands past 16 MiB stream from memory: oneDNN but at batch 1 for A·B, to batch 32 for Aᵀ·B.
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 1, 4096, 4096));
        Assert.Equal(Route.OneDnn, table.Choose(NoTrans, NoTrans, 2, 4096, 4096));
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 4096, 4096, 32));
        Assert.Equal(Route.OneDnn, table.Choose(Trans, NoTrans, 4096, 4096, 33));

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
        CpuRouteTable table = Table(CpuRouting.Auto, CpuProviderSet.Kernels);
        Assert.Equal(Route.KernelsAbt, table.Choose(NoTrans, Trans, 255, 1024, 1024));
        Assert.Equal(Route.OpenBlas, table.Choose(NoTrans, Trans, 256, 1024, 1024));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 512, 1024, 1024));
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 1024, 1024, 512));
        Assert.Equal(Route.KernelsAb, table.Choose(NoTrans, NoTrans, 4, 4096, 4096));
        Assert.Equal(Route.KernelsAtb, table.Choose(Trans, NoTrans, 4096, 4096, 8));
        Assert.Equal(Route.OpenBlas, table.Choose(Trans, NoTrans, 4096, 4096, 9));

        CpuRouteTable neither = Table(CpuRouting.Auto, CpuProviderSet.None);
        CpuRouteTable oneDnnOnly = Table(CpuRouting.Auto, CpuProviderSet.OneDnn);
        foreach (int m in SwitchBatches)
        {
            Assert.Equal(Route.OpenBlas, neither.Choose(NoTrans, Trans, m, 64, 64));
            Assert.Equal(Route.OpenBlas, neither.Choose(NoTrans, NoTrans, m, 64, 64));
            // The swapped route needs the kernels' transpose, so without them oneDNN is called directly.
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(NoTrans, Trans, m, 64, 64));
            Assert.Equal(Route.OneDnn, oneDnnOnly.Choose(Trans, NoTrans, 64, 64, m));
        }
    }

    [Theory]
    [MemberData(nameof(AutoCases))]
    public void Auto_table_routes_every_product_as_documented_on_each_side_of_every_switch(RouteCase product) =>
        Assert.Equal(product.Expected, product.Table().Choose(product.TransA, product.TransB, product.M, product.N, product.K));

    [Theory]
    [MemberData(nameof(AutoEdgeCases))]
    public void Auto_table_routes_small_products_and_operands_past_16_MiB_as_documented(RouteCase product) =>
        Assert.Equal(product.Expected, product.Table().Choose(product.TransA, product.TransB, product.M, product.N, product.K));

    [Theory]
    [MemberData(nameof(PinnedCases))]
    public void Pinned_routing_sends_every_product_to_its_provider(RouteCase product) =>
        Assert.Equal(product.Expected, product.Table().Choose(product.TransA, product.TransB, product.M, product.N, product.K));

    [Theory]
    [InlineData(31, 32, 33, true)]
    [InlineData(32, 32, 32, false)]
    [InlineData(1, 1, 32_767, true)]
    [InlineData(1, 1, 32_768, false)]
    [InlineData(1024, 1024, 1024, false)]
    public void Small_is_under_32768_multiply_adds(int m, int n, int k, bool small) =>
        Assert.Equal(small, CpuRouteTable.IsSmall(m, n, k));

    /// <summary>X·W from batch 6 with oneDNN, from 16 with the kernels alone; never for a small product or a pinned routing.</summary>
    [Theory]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 5, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 6, 1024, 1024, true)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 512, 1024, 1024, true)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.OneDnn, 5, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.OneDnn, 6, 1024, 1024, true)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Kernels, 6, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Kernels, 15, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Kernels, 16, 1024, 1024, true)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.None, 16, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.None, 512, 1024, 1024, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 300, 8, 8, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 7, 64, 64, false)]
    [InlineData(CpuRouting.Auto, CpuProviderSet.Both, 8, 64, 64, true)]
    [InlineData(CpuRouting.OpenBlas, CpuProviderSet.Both, 512, 1024, 1024, false)]
    [InlineData(CpuRouting.Kernels, CpuProviderSet.Both, 512, 1024, 1024, false)]
    [InlineData(CpuRouting.OneDnn, CpuProviderSet.Both, 512, 1024, 1024, false)]
    public void Transposed_weight_is_preferred_where_documented(CpuRouting routing, CpuProviderSet present, int m, int n, int k, bool expected) =>
        Assert.Equal(expected, Table(routing, present).PrefersTransposedWeight(m, n, k));

    [Theory]
    [MemberData(nameof(Descriptions))]
    public void Routing_line_is_the_documented_one(CpuRouting routing, CpuProviderSet present, string expected) =>
        Assert.Equal(expected, Table(routing, present).Describe());

    [Theory]
    [InlineData(CpuRouting.Kernels, CpuProviderSet.None)]
    [InlineData(CpuRouting.Kernels, CpuProviderSet.OneDnn)]
    [InlineData(CpuRouting.OneDnn, CpuProviderSet.None)]
    [InlineData(CpuRouting.OneDnn, CpuProviderSet.Kernels)]
    public void Table_pinned_to_a_missing_provider_is_refused(CpuRouting routing, CpuProviderSet present)
    {
        var e = Assert.Throws<ArgumentException>(() => Table(routing, present));
        Assert.Contains($"CpuRouting.{routing}", e.Message, StringComparison.Ordinal);
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

    internal static CpuRouteTable Table(CpuRouting routing, CpuProviderSet present, CpuKernelIsa isa = CpuKernelIsa.Avx512) =>
        new(routing, present.HasFlag(CpuProviderSet.Kernels) ? isa : null, present.HasFlag(CpuProviderSet.OneDnn));

    private static bool CanPin(CpuRouting routing, CpuProviderSet present) => routing switch
    {
        CpuRouting.Kernels => present.HasFlag(CpuProviderSet.Kernels),
        CpuRouting.OneDnn => present.HasFlag(CpuProviderSet.OneDnn),
        _ => true,
    };

    /// <summary>One product, with these providers present, in runs of batches each on one route.</summary>
    private sealed record Documented(Transpose TransA, Transpose TransB, CpuProviderSet Present, Band[] Bands);

    /// <summary>Batches up to <paramref name="UpTo"/> (after the previous band's) take <paramref name="Route"/>.</summary>
    private readonly record struct Band(int UpTo, Route Route);
}
