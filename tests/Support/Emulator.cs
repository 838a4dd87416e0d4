using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BlasLinear.Tests.Support;

/// <summary>
/// The control API of BlasLinear's CUDA emulator (native/cudaemu), and the switch that points the CUDA
/// backend at it: before any test runs, BLASLINEAR_CUDART_PATH and BLASLINEAR_CUBLAS_PATH are set to the
/// emulator next to the test assembly, unless BLASLINEAR_TEST_CUDA=real asks for NVIDIA's libraries.
/// </summary>
internal static unsafe partial class Emulator
{
    public const string LibraryFile = "libblaslinear_cudaemu.so";

    public static string LibraryPath { get; } = Path.Combine(AppContext.BaseDirectory, LibraryFile);

    /// <summary>True when the suite's CUDA backend is the emulator (the default on every machine).</summary>
    public static bool InUse { get; } = Environment.GetEnvironmentVariable("BLASLINEAR_TEST_CUDA") != "real";

    [ModuleInitializer]
    internal static void PointCudaAtTheEmulator()
    {
        NativeLibrary.SetDllImportResolver(typeof(Emulator).Assembly, Resolve);
        if (InUse)
        {
            Environment.SetEnvironmentVariable("BLASLINEAR_CUDART_PATH", LibraryPath);
            Environment.SetEnvironmentVariable("BLASLINEAR_CUBLAS_PATH", LibraryPath);
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == LibraryFile ? NativeLibrary.Load(LibraryPath) : 0;

    [LibraryImport(LibraryFile)]
    public static partial long blemu_live_device_allocations();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_live_host_allocations();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_total_device_allocations();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_total_host_allocations();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_live_handles();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_live_streams();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_violations();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_live_lt_objects();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_lt_matmuls();

    [LibraryImport(LibraryFile)]
    public static partial long blemu_invalid_value_count();

    [LibraryImport(LibraryFile)]
    private static partial byte* blemu_last_violation();

    [LibraryImport(LibraryFile)]
    public static partial void blemu_fail_nth_allocation(int n, int error);

    [LibraryImport(LibraryFile, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void blemu_fail_nth_call(string function, int n, int status);

    [LibraryImport(LibraryFile)]
    public static partial void blemu_set_device_mode(int mode);

    [LibraryImport(LibraryFile)]
    public static partial void blemu_set_memory_capacity(long bytes);

    [LibraryImport(LibraryFile)]
    public static partial void blemu_reset();

    public static string LastViolation => Marshal.PtrToStringUTF8((nint)blemu_last_violation()) ?? string.Empty;

    public static long LiveAllocations => blemu_live_device_allocations() + blemu_live_host_allocations();

    public static long TotalAllocations => blemu_total_device_allocations() + blemu_total_host_allocations();
}
