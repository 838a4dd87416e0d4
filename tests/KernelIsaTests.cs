using BlasLinear.Backends;
using BlasLinear.Native;
using BlasLinear.Tests.Support;
using Xunit;
using static BlasLinear.Backends.Transpose;
using Route = BlasLinear.Backends.CpuRouteTable.Route;

namespace BlasLinear.Tests;

/// <summary>
/// The choice of the kernels' instruction set: BLASLINEAR_KERNELS_ISA read like the other variables, a bad
/// value refused naming it, CpuBackend.Create(routes, isa) forcing a path (refused with the reason where
/// this CPU lacks it), KernelIsa and the description naming the path in use, and the route table of that
/// path. The products on each path are checked by the GEMM and layer suites (CpuKernelsAvx2, CpuAvx2).
/// </summary>
public class KernelIsaTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(null, CpuKernelIsa.Auto)]
    [InlineData("", CpuKernelIsa.Auto)]
    [InlineData(" auto ", CpuKernelIsa.Auto)]
    [InlineData("avx512", CpuKernelIsa.Avx512)]
    [InlineData("AVX512", CpuKernelIsa.Avx512)]
    [InlineData("avx2", CpuKernelIsa.Avx2)]
    [InlineData(" Avx2\t", CpuKernelIsa.Avx2)]
    public void Variable_is_parsed(string? value, CpuKernelIsa expected)
    {
        Assert.Equal(expected, CpuBackend.ParseKernelIsa(value));
        Assert.True(CpuBackend.TryParseKernelIsa(value, out CpuKernelIsa parsed));
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("avx")]
    [InlineData("avx-512")]
    [InlineData("sse2")]
    [InlineData("avx2,fma")]
    public void Unknown_value_is_refused_naming_the_variable_and_the_values(string value)
    {
        var e = Assert.Throws<InvalidOperationException>(() => CpuBackend.ParseKernelIsa(value));
        Assert.Contains($"BLASLINEAR_KERNELS_ISA='{value}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("auto, avx512, avx2", e.Message, StringComparison.Ordinal);
        Assert.False(CpuBackend.TryParseKernelIsa(value, out CpuKernelIsa parsed));
        Assert.Equal(CpuKernelIsa.Auto, parsed);
        Assert.Equal("BLASLINEAR_KERNELS_ISA", CpuBackend.KernelIsaVariable);
    }

    [Fact]
    public void Undefined_isa_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuBackend.Create(CpuRouting.Auto, (CpuKernelIsa)42));

    [SkippableFact]
    public void Forced_AVX2_is_the_path_in_use_and_the_description_says_so()
    {
        Skip.IfNot(Widest() >= Interop.Kernels.IsaAvx2, "This CPU runs neither kernels path.");

        using CpuBackend backend = CpuBackend.Create(CpuRouting.Auto, CpuKernelIsa.Avx2);

        Assert.Equal(CpuKernelIsa.Avx2, backend.KernelIsa);
        Assert.EndsWith("(AVX2, forced by CpuKernelIsa.Avx2)", backend.Describe()["kernels"], StringComparison.Ordinal);
        Assert.Same(CpuRouteLimits.Avx2, backend.RouteTable.Limits);
    }

    [SkippableFact]
    public void Auto_takes_the_widest_path_and_forcing_AVX512_needs_it()
    {
        int widest = Widest();
        Skip.IfNot(widest >= Interop.Kernels.IsaAvx2, "This CPU runs neither kernels path.");
        CpuKernelIsa expected = widest == Interop.Kernels.IsaAvx512 ? CpuKernelIsa.Avx512 : CpuKernelIsa.Avx2;

        using CpuBackend auto = CpuBackend.Create(CpuRouting.Auto, CpuKernelIsa.Auto);
        Assert.Equal(expected, auto.KernelIsa);
        Assert.EndsWith(expected == CpuKernelIsa.Avx512 ? "(AVX-512)" : "(AVX2)", auto.Describe()["kernels"], StringComparison.Ordinal);

        if (expected == CpuKernelIsa.Avx512)
        {
            using CpuBackend forced = CpuBackend.Create(CpuRouting.Kernels, CpuKernelIsa.Avx512);
            Assert.Equal(CpuKernelIsa.Avx512, forced.KernelIsa);
            Assert.EndsWith("(AVX-512, forced by CpuKernelIsa.Avx512)", forced.Describe()["kernels"], StringComparison.Ordinal);
        }
        else
        {
            var e = Assert.Throws<BackendUnavailableException>(() => CpuBackend.Create(CpuRouting.Auto, CpuKernelIsa.Avx512));
            Assert.Contains("CpuKernelIsa.Avx512 forces the AVX-512 kernels, but this CPU runs only the AVX2 path", e.Message, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Each_path_routes_by_its_own_table()
    {
        Skip.IfNot(Widest() == Interop.Kernels.IsaAvx512, "Both paths run only on an AVX-512 CPU.");

        using CpuBackend avx512 = CpuBackend.Create(CpuRouting.Auto, CpuKernelIsa.Avx512);
        using CpuBackend avx2 = CpuBackend.Create(CpuRouting.Auto, CpuKernelIsa.Avx2);

        Assert.Same(CpuRouteLimits.Avx512, avx512.RouteTable.Limits);
        Assert.Same(CpuRouteLimits.Avx2, avx2.RouteTable.Limits);
        // Batch 13 of A·Bᵀ: past the AVX2 kernels' limit (12 with oneDNN, 24 without), within AVX-512's (24, 255).
        int batch = NativeLibraries.OneDnn.IsLoaded ? 13 : 25;
        Assert.Equal(Route.KernelsAbt, avx512.RouteOf(NoTrans, Trans, batch, 1024, 1024));
        Assert.Equal(NativeLibraries.OneDnn.IsLoaded ? Route.OneDnnSwapped : Route.OpenBlas, avx2.RouteOf(NoTrans, Trans, batch, 1024, 1024));
    }

    [SkippableFact]
    public void The_variable_forces_the_path_of_backends_created_without_one()
    {
        Skip.IfNot(Widest() >= Interop.Kernels.IsaAvx2, "This CPU runs neither kernels path.");

        ChildProcess.Result result = Describe(" avx2 ");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("(AVX2, forced by BLASLINEAR_KERNELS_ISA=avx2)", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_value_of_the_variable_fails_the_backend_naming_it()
    {
        ChildProcess.Result result = Describe("avx1024");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("InvalidOperationException", result.ToString(), StringComparison.Ordinal);
        Assert.Contains("BLASLINEAR_KERNELS_ISA='avx1024' is not one of auto, avx512, avx2", result.ToString(), StringComparison.Ordinal);
    }

    private static ChildProcess.Result Describe(string isa) =>
        ChildProcess.RunProbe("describe", new Dictionary<string, string?>
        {
            ["BLASLINEAR_BACKEND"] = "cpu",
            ["BLASLINEAR_CPU_ROUTES"] = null,
            ["BLASLINEAR_KERNELS_ISA"] = isa,
        }, s_limit);

    /// <summary>What blk_cpu_isa says, or none when the kernels are not loaded.</summary>
    private static int Widest() =>
        NativeLibraries.Kernels.IsLoaded ? Interop.Kernels.blk_cpu_isa() : Interop.Kernels.IsaNone;
}
