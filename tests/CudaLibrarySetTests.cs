using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The CUDA runtime, cuBLASLt and cuBLAS loaded as one matched set, newest major first with fallback, on the
/// emulator's per-major copies (native/cudaemu's sets/cuda13, sets/cuda12, and a decoy cuBLASLt). Each case
/// runs in a child process, since a library loads once per process.
/// </summary>
public sealed class CudaLibrarySetTests
{
    private static readonly string? s_sets = FindSets();

    private static string? FindSets()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string sets = Path.Combine(folder.FullName, "native", "build", "cudaemu", "sets");
            if (Directory.Exists(Path.Combine(sets, "cuda12")))
            {
                return sets;
            }
        }

        return null;
    }

    private static ChildProcess.Result Run(string libraryPath, string driverMajor, string? runtimeOverride = null, string? cublasOverride = null)
    {
        Skip.If(s_sets is null, "native/build/cudaemu/sets is not built (cmake --build native/build)");
        return ChildProcess.RunProbe(["cuda-libraries"], new Dictionary<string, string?>
        {
            ["BLASLINEAR_CUDART_PATH"] = runtimeOverride,
            ["BLASLINEAR_CUBLAS_PATH"] = cublasOverride,
            ["BLASLINEAR_CUDA_LIBRARY_PATH"] = libraryPath,
            ["BLASLINEAR_CUDAEMU_DRIVER_MAJOR"] = driverMajor,
            ["LD_LIBRARY_PATH"] = Path.Combine(s_sets!, "decoy"),
            ["CUDA_PATH"] = null,
            ["CUDA_HOME"] = null,
        });
    }

    [SkippableFact]
    public void A_runtime_newer_than_the_driver_falls_back_to_the_next_major_with_its_own_cuBLASLt()
    {
        ChildProcess.Result result = Run($"{s_sets}/cuda13:{s_sets}/cuda12", driverMajor: "12");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"runtime:\s+12\.0", result.StandardOutput);
        Assert.Contains("CUDA 12 from BLASLINEAR_CUDA_LIBRARY_PATH", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("CUDA 13 from BLASLINEAR_CUDA_LIBRARY_PATH", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("cudaErrorInsufficientDriver", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"mapped: {s_sets}/cuda12/libcublasLt.so.12", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("/decoy/", result.StandardOutput, StringComparison.Ordinal);
        // That cuBLASLt is a stand-in without cublasLtMatmul: the bias is a rank-1 GEMM first, and right.
        Assert.Matches(@"bias:\s+a rank-1 GEMM before the product \(.*libcublasLt\.so\.12 has no cublasLtMatmul\)", result.StandardOutput);
        Assert.Contains("prepared forward with bias: ok", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_newest_major_is_taken_whatever_the_order_of_the_folders()
    {
        ChildProcess.Result result = Run($"{s_sets}/cuda12:{s_sets}/cuda13", driverMajor: "13");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"runtime:\s+13\.0", result.StandardOutput);
        Assert.Contains($"{s_sets}/cuda13/libcublas.so.13", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("/decoy/", result.StandardOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void CuBLAS_given_by_full_path_binds_the_cuBLASLt_beside_it_not_one_on_LD_LIBRARY_PATH()
    {
        ChildProcess.Result result = Run(string.Empty, driverMajor: "13",
            runtimeOverride: $"{s_sets}/cuda12/libcudart.so.12", cublasOverride: $"{s_sets}/cuda12/libcublas.so.12");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"mapped: {s_sets}/cuda12/libcublasLt.so.12", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("/decoy/", result.StandardOutput, StringComparison.Ordinal);
    }
}
