using BlasLinear.Backends;
using Xunit;
using static BlasLinear.Backends.Transpose;
using Route = BlasLinear.Backends.CpuRouteTable.Route;

namespace BlasLinear.Tests;

/// <summary>
/// The route table of the kernels' AVX2 path (CpuRouteLimits.Avx2; docs/cpu-routes.md, "The AVX2 table"),
/// built directly: the Auto table switches where that table says for every product and set of providers,
/// the limits shared with AVX-512 hold, and the description line is the documented one. The AVX-512 table
/// is in RouteTableTests.
/// </summary>
public class RouteTableAvx2Tests
{
    /// <summary>Each side of every batch at which the AVX2 Auto table changes route.</summary>
    private static readonly int[] SwitchBatches = [1, 2, 3, 5, 6, 8, 9, 12, 13, 16, 17, 24, 25, 32, 63, 64, 255, 256, 512];

    /// <summary>
    /// The AVX2 table for a 1024→1024 layer (no product small, no operand past 16 MiB; B's rows 4 KiB apart, so
    /// Aᵀ·B takes the packed limit): per product and providers present, the last batch of each run of one route.
    /// </summary>
    /// <remarks>The route goes by name: the enum is internal to the library.</remarks>
    public static TheoryData<Transpose, Transpose, CpuProviderSet, int, string> AutoAt1024()
    {
        (Transpose A, Transpose B, CpuProviderSet Present, (int UpTo, Route Route)[] Bands)[] table =
        [
            (NoTrans, Trans, CpuProviderSet.Both, [(12, Route.KernelsAbt), (63, Route.OneDnnSwapped), (int.MaxValue, Route.OneDnn)]),
            (NoTrans, Trans, CpuProviderSet.Kernels, [(24, Route.KernelsAbt), (int.MaxValue, Route.OpenBlas)]),
            (NoTrans, NoTrans, CpuProviderSet.Both, [(24, Route.KernelsAb), (int.MaxValue, Route.OpenBlas)]),
            (NoTrans, NoTrans, CpuProviderSet.Kernels, [(24, Route.KernelsAb), (int.MaxValue, Route.OpenBlas)]),
            (Trans, NoTrans, CpuProviderSet.Both, [(16, Route.KernelsAtb), (int.MaxValue, Route.OneDnn)]),
            (Trans, NoTrans, CpuProviderSet.Kernels, [(16, Route.KernelsAtb), (int.MaxValue, Route.OpenBlas)]),
            (Trans, Trans, CpuProviderSet.Both, [(int.MaxValue, Route.OpenBlas)]),
            (Trans, Trans, CpuProviderSet.Kernels, [(int.MaxValue, Route.OpenBlas)]),
        ];
        var data = new TheoryData<Transpose, Transpose, CpuProviderSet, int, string>();
        foreach ((Transpose a, Transpose b, CpuProviderSet present, (int UpTo, Route Route)[] bands) in table)
        {
            foreach (int batch in SwitchBatches)
            {
                data.Add(a, b, present, batch, bands.First(band => batch <= band.UpTo).Route.ToString());
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AutoAt1024))]
    public void Auto_table_routes_every_product_as_documented_on_each_side_of_every_switch(
        Transpose transA, Transpose transB, CpuProviderSet present, int batch, string expected)
    {
        // The weight gradient's batch is k; every other product's is m.
        (int m, int k) = transA == Trans && transB == NoTrans ? (1024, batch) : (batch, 1024);
        Assert.Equal(expected, Table(present).Choose(transA, transB, m, 1024, k).ToString());
    }

    /// <summary>
    /// Aᵀ·B takes the packed limit (16, with oneDNN or without) only where the kernel copies B: its rows 1,024 floats
    /// apart, C of 16 rows or more, a copy of at most 2 MiB; elsewhere the plain limit (5 with oneDNN, 8 without).
    /// </summary>
    [Theory]
    [InlineData(CpuProviderSet.Both, 1024, 1024, 1024, 16, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 1024, 1024, 1024, 17, "OneDnn")]
    [InlineData(CpuProviderSet.Both, 1024, 3072, 3072, 16, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 1024, 1000, 1024, 16, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 1024, 768, 768, 5, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 1024, 768, 768, 6, "OneDnn")]
    [InlineData(CpuProviderSet.Both, 1024, 1024, 1040, 5, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 1024, 1024, 1040, 6, "OneDnn")]
    [InlineData(CpuProviderSet.Both, 1024, 512, 512, 6, "OneDnn")]
    [InlineData(CpuProviderSet.Kernels, 1024, 1024, 1024, 16, "KernelsAtb")]
    [InlineData(CpuProviderSet.Kernels, 1024, 1024, 1024, 17, "OpenBlas")]
    [InlineData(CpuProviderSet.Kernels, 1024, 768, 768, 8, "KernelsAtb")]
    [InlineData(CpuProviderSet.Kernels, 1024, 768, 768, 9, "OpenBlas")]
    [InlineData(CpuProviderSet.Kernels, 1024, 1024, 1040, 9, "OpenBlas")]
    // Where the kernel would not copy B after all: C under 16 rows; a copy over 2 MiB (B 40,960 floats wide at
    // batch 16 needs 655,360 floats, at 12 491,520).
    [InlineData(CpuProviderSet.Both, 64, 40960, 40960, 12, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 64, 40960, 40960, 16, "OneDnn")]
    [InlineData(CpuProviderSet.Kernels, 64, 40960, 40960, 12, "KernelsAtb")]
    [InlineData(CpuProviderSet.Kernels, 64, 40960, 40960, 16, "OpenBlas")]
    [InlineData(CpuProviderSet.Both, 16, 2048, 2048, 16, "KernelsAtb")]
    [InlineData(CpuProviderSet.Both, 15, 2048, 2048, 16, "OneDnn")]
    [InlineData(CpuProviderSet.Kernels, 15, 2048, 2048, 12, "OpenBlas")]
    public void Weight_gradient_takes_the_packed_limit_only_where_the_kernel_copies_B(
        CpuProviderSet present, int m, int n, int ldb, int batch, string expected) =>
        Assert.Equal(expected, Table(present).Choose(Trans, NoTrans, m, n, batch, ldb).ToString());

    [Fact]
    public void Operands_past_16_MiB_and_small_products_follow_the_AVX2_limits()
    {
        CpuRouteTable both = Table(CpuProviderSet.Both), kernels = Table(CpuProviderSet.Kernels);

        // With oneDNN, past 16 MiB: A·B on the kernels at batch 1 only, as on AVX-512, Aᵀ·B to batch 8; within
        // 16 MiB A·B goes from the kernels to OpenBLAS, which leads oneDNN's AVX2 A·B.
        Assert.Equal(Route.KernelsAb, both.Choose(NoTrans, NoTrans, 1, 4096, 4096));
        Assert.Equal(Route.OneDnn, both.Choose(NoTrans, NoTrans, 2, 4096, 4096));
        Assert.Equal(Route.KernelsAb, both.Choose(NoTrans, NoTrans, 24, 2048, 2048));
        Assert.Equal(Route.OpenBlas, both.Choose(NoTrans, NoTrans, 25, 2048, 2048));
        Assert.Equal(Route.OneDnn, both.Choose(NoTrans, NoTrans, 512, 2049, 2048));
        Assert.Equal(Route.KernelsAtb, both.Choose(Trans, NoTrans, 4096, 4096, 8));
        Assert.Equal(Route.OneDnn, both.Choose(Trans, NoTrans, 4096, 4096, 9));
        // Without oneDNN, past 16 MiB: A·B on the kernels to batch 2 (OpenBLAS leads from 4), Aᵀ·B to batch 8.
        Assert.Equal(Route.KernelsAb, kernels.Choose(NoTrans, NoTrans, 2, 4096, 4096));
        Assert.Equal(Route.OpenBlas, kernels.Choose(NoTrans, NoTrans, 3, 4096, 4096));
        Assert.Equal(Route.KernelsAb, kernels.Choose(NoTrans, NoTrans, 24, 2048, 2048));
        Assert.Equal(Route.KernelsAtb, kernels.Choose(Trans, NoTrans, 4096, 4096, 8));
        Assert.Equal(Route.OpenBlas, kernels.Choose(Trans, NoTrans, 4096, 4096, 9));
        Assert.Equal(Route.KernelsAtb, kernels.Choose(Trans, NoTrans, 2048, 2048, 8));

        // Products under 32,768 multiply-adds stay on the kernels at any batch.
        Assert.Equal(Route.KernelsAbt, both.Choose(NoTrans, Trans, 300, 8, 8));
        Assert.Equal(Route.KernelsAb, kernels.Choose(NoTrans, NoTrans, 300, 8, 8));
        Assert.Equal(Route.KernelsAtb, both.Choose(Trans, NoTrans, 8, 8, 300));
    }

    [Theory]
    [InlineData(CpuProviderSet.Both, 6)]
    [InlineData(CpuProviderSet.Both, 512)]
    [InlineData(CpuProviderSet.Kernels, 16)]
    [InlineData(CpuProviderSet.Kernels, 512)]
    public void Transposed_weight_is_never_preferred(CpuProviderSet present, int m) =>
        Assert.False(Table(present).PrefersTransposedWeight(m, 1024, 1024));

    [Fact]
    public void Tables_differ_by_ISA_where_the_measurements_do()
    {
        CpuRouteTable avx2 = Table(CpuProviderSet.Both);
        CpuRouteTable avx512 = RouteTableTests.Table(CpuRouting.Auto, CpuProviderSet.Both);

        Assert.Equal(Route.OneDnnSwapped, avx2.Choose(NoTrans, Trans, 13, 1024, 1024));
        Assert.Equal(Route.KernelsAbt, avx512.Choose(NoTrans, Trans, 13, 1024, 1024));
        Assert.Equal(Route.KernelsAb, avx2.Choose(NoTrans, NoTrans, 8, 1024, 1024));
        Assert.Equal(Route.OneDnn, avx512.Choose(NoTrans, NoTrans, 8, 1024, 1024));
        Assert.Equal(Route.OneDnn, avx2.Choose(Trans, NoTrans, 1024, 768, 6));
        Assert.Equal(Route.KernelsAtb, avx512.Choose(Trans, NoTrans, 1024, 768, 6));
        Assert.Equal(Route.OneDnn, avx2.Choose(Trans, NoTrans, 1024, 1024, 17));
        Assert.Equal(Route.KernelsAtb, avx512.Choose(Trans, NoTrans, 1024, 1024, 17));
    }

    [Theory]
    [InlineData(CpuProviderSet.Both,
        "auto: A·Bᵀ kernels to batch 12, oneDNN swapped to 63, then oneDNN; A·B kernels to batch 24, then OpenBLAS; Aᵀ·B kernels to batch 5 (to 16 with B's rows 4 KiB apart), then oneDNN "
        + "(operands past 16 MiB: A·B kernels at batch 1, Aᵀ·B to 8); kernels under 32768 multiply-adds")]
    [InlineData(CpuProviderSet.Kernels,
        "auto: A·Bᵀ kernels to batch 24, then OpenBLAS; A·B kernels to batch 24, then OpenBLAS (past 16 MiB to batch 2, then OpenBLAS), "
        + "Aᵀ·B to batch 8, then OpenBLAS (to 16 with B's rows 4 KiB apart) (Aᵀ·B past 16 MiB: kernels to batch 8, then OpenBLAS)")]
    public void Routing_line_is_the_documented_one(CpuProviderSet present, string expected) =>
        Assert.Equal(expected, Table(present).Describe());

    [Fact]
    public void A_table_for_no_one_path_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CpuRouteTable(CpuRouting.Auto, CpuKernelIsa.Auto, oneDnn: true));

    private static CpuRouteTable Table(CpuProviderSet present) => RouteTableTests.Table(CpuRouting.Auto, present, CpuKernelIsa.Avx2);
}
