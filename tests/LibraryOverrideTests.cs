using System.Diagnostics;
using BlasLinear.Native;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// A BLASLINEAR_*_PATH override that names a file BlasLinear cannot use makes the CPU backend's creation
/// fail with the variable, the path and the reason; no other library is loaded in its place. Each case
/// runs in a child process, whose environment is set before it starts, with a time limit: a FIFO must
/// never block.
/// </summary>
public sealed class LibraryOverrideTests : IDisposable
{
    private const string OpenBlas = "BLASLINEAR_OPENBLAS_PATH";
    private const string Kernels = "BLASLINEAR_KERNELS_PATH";
    private const string OneDnn = "BLASLINEAR_ONEDNN_PATH";

    /// <summary>Debian's reference BLAS (libblas3) under its own name, not the alternatives link.</summary>
    private const string ReferenceBlas = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";

    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    private readonly string _folder = Directory.CreateTempSubdirectory("blaslinear-override-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string> Variables => [OpenBlas, Kernels, OneDnn];

    [Theory]
    [MemberData(nameof(Variables))]
    public void A_missing_file_is_an_error(string variable)
    {
        string path = Path.Combine(_folder, "no-such-library.so");

        AssertRefused(variable, path, "No such file or directory");
    }

    [Theory]
    [MemberData(nameof(Variables))]
    public void A_directory_is_an_error(string variable) =>
        AssertRefused(variable, _folder, "not a regular file: a directory");

    [Theory]
    [MemberData(nameof(Variables))]
    public void A_fifo_is_an_error_and_never_blocks(string variable)
    {
        string path = Path.Combine(_folder, "library.so");
        MakeFifo(path);

        AssertRefused(variable, path, "not a regular file: a FIFO");
    }

    [Theory]
    [MemberData(nameof(Variables))]
    public void A_character_device_is_an_error(string variable) =>
        AssertRefused(variable, "/dev/zero", "not a regular file: a character device");

    [Theory]
    [MemberData(nameof(Variables))]
    public void A_file_that_is_not_a_shared_library_is_an_error_with_the_loader_message(string variable)
    {
        string path = Path.Combine(_folder, "library.so");
        File.WriteAllText(path, "This is not an ELF file, but it is long enough to have a header's worth of bytes in it.\n");

        // glibc's own words for a file that is not ELF.
        AssertRefused(variable, path, "invalid ELF header");
    }

    [SkippableFact]
    public void The_reference_blas_is_refused_and_OpenBlas_is_not_loaded_in_its_place()
    {
        Skip.IfNot(File.Exists(ReferenceBlas), "The reference BLAS (libblas3) is not installed here.");

        string output = AssertRefused(OpenBlas, ReferenceBlas, "it has no openblas_get_config");

        Assert.DoesNotContain("libopenblas", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The floor and the CUDA emulator both link libopenblas.so.0, so dlsym on their handles finds
    /// openblas_get_config there; neither is OpenBLAS (the emulator was once accepted as it).
    /// </summary>
    [Theory]
    [InlineData("libblaslinear_floor.so")]
    [InlineData("libblaslinear_cudaemu.so")]
    public void A_library_whose_export_comes_from_a_dependency_is_refused(string file) =>
        AssertRefused(OpenBlas, Path.Combine(AppContext.BaseDirectory, file), "does not define openblas_get_config itself: the export comes from");

    [Theory]
    [InlineData(Kernels, "libblaslinear_cudaemu.so", "it has no blk_cpu_isa")]
    [InlineData(OneDnn, "libblaslinear_kernels.so", "it has no dnnl_sgemm")]
    public void The_wrong_library_for_an_optional_provider_is_an_error(string variable, string file, string reason) =>
        AssertRefused(variable, Path.Combine(AppContext.BaseDirectory, file), reason);

    [Fact]
    public void A_usable_override_is_the_library_loaded()
    {
        string copy = Path.Combine(_folder, "libblaslinear_kernels.so");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "libblaslinear_kernels.so"), copy);

        ChildProcess.Result result = Describe(Kernels, copy);

        Assert.True(result.ExitCode == 0, result.ToString());
        string line = KernelsLine(result.StandardOutput);
        Assert.StartsWith($"kernels: {copy}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_override_the_description_says_which_kernels_loaded_on_which_path_or_that_this_CPU_runs_neither()
    {
        ChildProcess.Result result = Describe(Kernels, null);

        Assert.True(result.ExitCode == 0, result.ToString());
        string line = KernelsLine(result.StandardOutput);
        string library = Path.Combine(AppContext.BaseDirectory, "libblaslinear_kernels.so");
        Assert.True(line == $"kernels: {library} (AVX-512)" || line == $"kernels: {library} (AVX2)"
            || line == $"kernels: {library}: not used, this CPU has neither AVX2 with FMA nor AVX-512", line);
    }

    [Fact]
    public void Kernels_that_are_not_found_are_reported_with_the_folders_searched_and_how_to_get_them()
    {
        NativeLibrarySpec spec = NativeLibraries.KernelsSpec with
        {
            ImportName = "libblaslinear_kernels_absent.so",
            PathVariable = "BLASLINEAR_TEST_UNSET_VARIABLE",
        };

        LoadedLibrary library = LoadedLibrary.Load(spec);

        Assert.False(library.IsLoaded);
        Assert.Null(library.OverrideFailure);
        string searched = library.Trace[^1];
        Assert.StartsWith("libblaslinear_kernels_absent.so: not found in ", searched, StringComparison.Ordinal);
        Assert.Contains(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), searched, StringComparison.Ordinal);
        Assert.Contains("runtimes/linux-x64/native/libblaslinear_kernels.so", searched, StringComparison.Ordinal);
        Assert.Contains("BLASLINEAR_KERNELS_PATH", searched, StringComparison.Ordinal);
    }

    /// <summary>The CPU backend's creation fails naming the variable, the path and <paramref name="reason"/>.</summary>
    private static string AssertRefused(string variable, string path, string reason)
    {
        ChildProcess.Result result = Describe(variable, path);

        Assert.True(result.ExitCode == 3, result.ToString());
        string output = result.StandardOutput;
        Assert.Contains("BackendUnavailableException: The Cpu backend is unavailable:", output, StringComparison.Ordinal);
        Assert.Contains($"{variable} names a file that cannot be used: {path}: ", output, StringComparison.Ordinal);
        Assert.Contains(reason, output, StringComparison.Ordinal);
        Assert.Contains($"No other library is tried while {variable} is set", output, StringComparison.Ordinal);
        return output;
    }

    private static ChildProcess.Result Describe(string variable, string? path) =>
        ChildProcess.RunProbe("describe", new Dictionary<string, string?>
        {
            ["BLASLINEAR_BACKEND"] = "cpu",
            // The kernels' path as this CPU's widest, whatever the test run was given.
            ["BLASLINEAR_KERNELS_ISA"] = null,
            [variable] = path,
        }, s_limit);

    /// <summary>The description's kernels line with the column padding taken out: "kernels: VALUE".</summary>
    private static string KernelsLine(string description) =>
        description.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("kernels:", StringComparison.Ordinal))
            .Select(l => "kernels: " + l["kernels:".Length..].Trim()).FirstOrDefault()
        ?? throw new Xunit.Sdk.XunitException($"No kernels line in:\n{description}");

    private static void MakeFifo(string path)
    {
        using Process mkfifo = Process.Start("mkfifo", [path]) ?? throw new InvalidOperationException("mkfifo did not start.");
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}
