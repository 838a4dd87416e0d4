using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BlasLinear.Interop.Native;

/// <summary>
/// The one import resolver of this assembly. Every library is resolved once, lazily, by the rules of
/// its <see cref="NativeLibrarySpec"/>; backends check <see cref="LoadedLibrary.IsLoaded"/> before
/// their first call so that a missing library surfaces as a <see cref="BackendUnavailableException"/>
/// with the whole trace rather than as a bare <see cref="DllNotFoundException"/>.
/// </summary>
internal static class NativeLibraries
{
    public static readonly NativeLibrarySpec OpenBlasSpec = new(
        ImportName: Interop.OpenBlas.LibraryName,
        DisplayName: "OpenBLAS",
        PathVariable: "BLASLINEAR_OPENBLAS_PATH",
        Candidates: OpenBlasCandidates(),
        RequiredExport: "openblas_get_config",
        RefusalReason: "not OpenBLAS; the reference BLAS ends the process on a bad argument, so it is never bound",
        InstallHint: "Install OpenBLAS: on Debian/Ubuntu `sudo apt-get install libopenblas0-pthread`; "
            + "or point BLASLINEAR_OPENBLAS_PATH at a libopenblas shared library.");

    private static readonly Lazy<LoadedLibrary> s_openBlas = new(() => LoadedLibrary.Load(OpenBlasSpec));

    public static LoadedLibrary OpenBlas => s_openBlas.Value;

    // CA2255: a library normally must not use a module initializer, but the import resolver has to be
    // in place before the first P/Invoke of this assembly, whichever public entry point is used first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName == Interop.OpenBlas.LibraryName)
        {
            return OpenBlas.Handle;
        }

        // Anything else (libc) goes through the runtime's default probing.
        return 0;
    }

    private static string[] OpenBlasCandidates()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["libopenblas.dll", "openblas.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["libopenblas.0.dylib", "libopenblas.dylib"];
        }

        // Exact sonames first; libopenblas.so exists only with the -dev package. The explicit Debian
        // paths cover a machine whose alternatives link was removed.
        return
        [
            "libopenblas.so.0",
            "libopenblas.so",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
            "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0",
        ];
    }
}
