using System.Reflection;
using System.Runtime.InteropServices;

namespace BlasLinear.Bench.Sweep;

/// <summary>The operations of native/floor/blaslinear_floor.h, with the header's values.</summary>
internal enum FloorOp
{
    LinearForward = 0,
    ParameterForward = 1,
    LinearBackward = 2,
    ParameterBackward = 3,
    Square = 4,
}

/// <summary>Raw imports of libblaslinear_floor.so, the C program that calls cblas_sgemm directly.</summary>
internal static partial class FloorLibrary
{
    private const string LibraryName = "blaslinear_floor";
    private const string FileName = "libblaslinear_floor.so";
    private static int s_resolverRegistered;

    /// <summary>
    /// Makes the imports below load the copy that native/Native.targets put beside the assembly, so the
    /// floor never depends on the loader's search path (tests and published builds included).
    /// </summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref s_resolverRegistered, 1) != 0)
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(FloorLibrary).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName)
        {
            return 0;
        }

        string beside = Path.Combine(AppContext.BaseDirectory, FileName);
        if (NativeLibrary.TryLoad(beside, out nint handle))
        {
            return handle;
        }

        throw new DllNotFoundException(
            $"{FileName} was not found at {beside}; it is built by native/CMakeLists.txt and copied there by native/Native.targets (run 'bash scripts/setup.sh' and rebuild).");
    }

    [LibraryImport(LibraryName)]
    internal static partial nint blfloor_create(int op, int m, int n, int k, ulong seed);

    [LibraryImport(LibraryName)]
    internal static partial double blfloor_time(nint ctx, int iterations);

    [LibraryImport(LibraryName)]
    internal static partial double blfloor_flops(int op, int m, int n, int k);

    [LibraryImport(LibraryName)]
    internal static partial void blfloor_destroy(nint ctx);

    [LibraryImport(LibraryName)]
    internal static partial double blfloor_read_bandwidth(nuint bytes, int threads, int repetitions);
}
