using BlasLinear.Backends;
using BlasLinear.Native;
using NativeInterop = BlasLinear.Native.Interop;
using BlasLinear.Tests.Support;
using System.Reflection;
using System.Runtime.InteropServices;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>TESTING.md cases 12 and 15: every import binds; selection and library loading explain themselves.</summary>
public class BackendTests
{
    /// <summary>
    /// LibraryImport turns each declaration into a <c>DllImport</c>: the declaration itself when the
    /// signature is blittable, an inner stub otherwise. Prelinking them binds every entry point now, so
    /// a misspelt name fails here rather than in a user's process.
    /// </summary>
    [Fact]
    public void Every_OpenBlas_libc_CUDA_runtime_cuBLAS_kernels_and_oneDNN_import_resolves()
    {
        // scripts/setup.sh installs oneDNN and the build makes the kernels library, so both must bind here.
        Type[] bindings =
        [
            typeof(NativeInterop.OpenBlas), typeof(NativeInterop.Libc), typeof(NativeInterop.CudaRuntime), typeof(NativeInterop.Cublas),
            typeof(NativeInterop.Kernels), typeof(NativeInterop.OneDnn),
        ];
        foreach (Type binding in bindings)
        {
            MethodInfo[] methods = binding.GetMethods(BindingFlags.Static | BindingFlags.NonPublic);
            var declared = methods.Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null).ToList();

            Assert.NotEmpty(declared);
            foreach (MethodInfo method in declared)
            {
                bool isImport(MethodInfo m) => (m.Attributes & MethodAttributes.PinvokeImpl) != 0;
                var imports = isImport(method)
                    ? [method]
                    : methods.Where(m => isImport(m) && m.Name.Contains($"<{method.Name}>", StringComparison.Ordinal)).ToList();
                Assert.True(imports.Count == 1, $"{binding.Name}.{method.Name}: expected one P/Invoke, found {imports.Count}");
                Marshal.Prelink(imports[0]);
            }
        }
    }

    [Fact]
    public void Auto_in_process_picks_OpenBlas_and_says_why_not_CUDA()
    {
        using BlasBackend backend = BlasBackend.Create(BackendPreference.Auto);

        Assert.Equal(BackendKind.Cpu, backend.Kind);
        BackendDescription description = backend.Describe();
        Assert.Contains("CUDA not used", description["selection"], StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(description["library"]));
        Assert.Contains("OpenBLAS", description["config"], StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(description["core"]));
        Assert.True(int.Parse(description["threads"]!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Theory]
    [InlineData(null, BackendPreference.Auto)]
    [InlineData("", BackendPreference.Auto)]
    [InlineData("auto", BackendPreference.Auto)]
    [InlineData("CPU", BackendPreference.Cpu)]
    [InlineData(" cuda ", BackendPreference.Cuda)]
    public void Backend_variable_is_parsed(string? value, BackendPreference expected) =>
        Assert.Equal(expected, BackendSelector.ParsePreference(value));

    [Fact]
    public void Unknown_backend_variable_is_refused_by_name()
    {
        var e = Assert.Throws<InvalidOperationException>(() => BackendSelector.ParsePreference("gpu"));

        Assert.Contains("BLASLINEAR_BACKEND='gpu'", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Default_backend_follows_the_variable_in_a_fresh_process()
    {
        Skip.IfNot(Emulator.InUse, "This test steers the CUDA emulator; the real CUDA libraries are in use.");

        ChildProcess.Result cpu = ChildProcess.RunProbe("describe", new Dictionary<string, string?> { ["BLASLINEAR_BACKEND"] = "cpu" });
        ChildProcess.Result auto = ChildProcess.RunProbe("describe", new Dictionary<string, string?> { ["BLASLINEAR_BACKEND"] = "auto" });
        ChildProcess.Result cuda = ChildProcess.RunProbe("describe", new Dictionary<string, string?> { ["BLASLINEAR_BACKEND"] = "cuda" });

        Assert.True(cpu.ExitCode == 0, cpu.ToString());
        Assert.Contains("cpu asked for", cpu.StandardOutput, StringComparison.Ordinal);
        // The emulator answers like a GPU, but automatic selection never takes it.
        Assert.True(auto.ExitCode == 0, auto.ToString());
        Assert.Contains("OpenBLAS", auto.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("used only when CUDA is asked for explicitly", auto.StandardOutput, StringComparison.Ordinal);
        Assert.True(cuda.ExitCode == 0, cuda.ToString());
        Assert.Contains("BlasLinear's CUDA emulator", cuda.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>TESTING.md case 15: with no CUDA library, auto picks OpenBLAS and says why; cuda throws that reason.</summary>
    [SkippableFact]
    public void Without_a_CUDA_runtime_auto_says_why_and_cuda_throws_the_loader_trace()
    {
        var missing = new Dictionary<string, string?>
        {
            ["BLASLINEAR_CUDART_PATH"] = "/nonexistent/libcudart.so.13",
            ["BLASLINEAR_CUBLAS_PATH"] = null,
        };

        ChildProcess.Result auto = ChildProcess.RunProbe("describe", new Dictionary<string, string?>(missing) { ["BLASLINEAR_BACKEND"] = "auto" });
        ChildProcess.Result cuda = ChildProcess.RunProbe("describe", new Dictionary<string, string?>(missing) { ["BLASLINEAR_BACKEND"] = "cuda" });

        Skip.If(cuda.ExitCode == 0, "A CUDA runtime is installed on this machine, so CUDA cannot be made missing.");
        Assert.True(auto.ExitCode == 0, auto.ToString());
        Assert.Contains("auto: CUDA not used (no CUDA runtime.", auto.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/libcudart.so.13:", auto.StandardOutput, StringComparison.Ordinal);
        Assert.True(cuda.ExitCode == 3, cuda.ToString());
        Assert.Contains("BackendUnavailableException: The Cuda backend is unavailable: no CUDA runtime.", cuda.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("libcudart.so.13:", cuda.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("BLASLINEAR_CUDART_PATH", cuda.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_that_cannot_load_gives_the_whole_trace_and_the_install_hint()
    {
        var spec = NativeLibraries.OpenBlasSpec with
        {
            PathVariable = "BLASLINEAR_TEST_UNSET_VARIABLE",
            Candidates = ["/nonexistent/libopenblas.so.0", "libblaslinear-no-such-library.so.0", "libc.so.6"],
        };

        LoadedLibrary library = LoadedLibrary.Load(spec);

        Assert.False(library.IsLoaded);
        string message = library.DescribeFailure();
        Assert.Contains("BLASLINEAR_TEST_UNSET_VARIABLE: not set", message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/libopenblas.so.0:", message, StringComparison.Ordinal);
        Assert.Contains("libblaslinear-no-such-library.so.0:", message, StringComparison.Ordinal);
        Assert.Contains("libc.so.6: loaded but refused: it has no openblas_get_config", message, StringComparison.Ordinal);
        Assert.Contains("apt-get install libopenblas0-pthread", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disposed_backend_refuses_work_and_the_default_ignores_dispose()
    {
        BlasBackend backend = BlasBackend.Create(BackendPreference.Cpu);
        backend.Dispose();
        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => backend.Describe());
        Assert.Throws<ObjectDisposedException>(() => backend.Allocate(3));
        BlasBackend.Default.Dispose();
        Assert.False(BlasBackend.Default.IsDisposed);
    }
}
