using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BlasLinear.Native;

/// <summary>
/// The one import resolver of this assembly. Every library is resolved once, lazily, by the rules of
/// its <see cref="NativeLibrarySpec"/>; backends check <see cref="LoadedLibrary.IsLoaded"/> before
/// their first call so that a missing library surfaces as a <see cref="Backends.BackendUnavailableException"/>
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

    /// <summary>
    /// BlasLinear's own kernels: a native asset of the BlasLinear package (runtimes/linux-x64/native/), and a
    /// file beside the assemblies of any project that references src/Interop, found by the runtime's own
    /// search for the application's native libraries.
    /// </summary>
    public static readonly NativeLibrarySpec KernelsSpec = new(
        ImportName: Interop.Kernels.LibraryName,
        DisplayName: "BlasLinear's kernels",
        PathVariable: "BLASLINEAR_KERNELS_PATH",
        Candidates: [],
        RequiredExport: "blk_cpu_isa",
        RefusalReason: "not libblaslinear_kernels",
        InstallHint: "They ship in the BlasLinear package (runtimes/linux-x64/native/libblaslinear_kernels.so) and in the "
            + "build output of a project that references src/Layers; keep that file with the application, or point "
            + "BLASLINEAR_KERNELS_PATH at it. Without them the CPU backend routes to oneDNN and OpenBLAS.",
        SearchApplication: true);

    /// <summary>oneDNN, optional: without it the CPU backend routes to OpenBLAS and its own kernels.</summary>
    public static readonly NativeLibrarySpec OneDnnSpec = new(
        ImportName: Interop.OneDnn.LibraryName,
        DisplayName: "oneDNN",
        PathVariable: "BLASLINEAR_ONEDNN_PATH",
        Candidates: OperatingSystem.IsLinux()
            ? ["libdnnl.so.3", "libdnnl.so.2", "libdnnl.so", "/usr/lib/x86_64-linux-gnu/libdnnl.so.2"]
            : OperatingSystem.IsWindows() ? ["dnnl.dll"] : ["libdnnl.3.dylib", "libdnnl.dylib"],
        RequiredExport: "dnnl_sgemm",
        RefusalReason: "not oneDNN",
        InstallHint: "Optional. On Debian/Ubuntu `sudo apt-get install libdnnl2`; or point BLASLINEAR_ONEDNN_PATH at libdnnl.so.N.");

    private static readonly Lazy<LoadedLibrary> s_openBlas = new(() => LoadedLibrary.Load(OpenBlasSpec));
    private static readonly Lazy<LoadedLibrary> s_cudaRuntime = new(() => LoadedLibrary.Load(CudaRuntimeSpec()));
    private static readonly Lazy<LoadedLibrary> s_cublas = new(() => LoadedLibrary.Load(CublasSpec()));

    private static readonly Lazy<LoadedLibrary> s_kernels = new(() => LoadedLibrary.Load(KernelsSpec));
    private static readonly Lazy<LoadedLibrary> s_oneDnn = new(() => LoadedLibrary.Load(OneDnnSpec));

    public static LoadedLibrary OpenBlas => s_openBlas.Value;

    /// <summary>The kernels, optional; an override that cannot be used throws rather than leaving them out.</summary>
    /// <exception cref="Backends.BackendUnavailableException">BLASLINEAR_KERNELS_PATH names a file that cannot be used.</exception>
    public static LoadedLibrary Kernels => ThrowIfOverrideFailed(s_kernels.Value);

    /// <summary>oneDNN, optional; an override that cannot be used throws rather than leaving it out.</summary>
    /// <exception cref="Backends.BackendUnavailableException">BLASLINEAR_ONEDNN_PATH names a file that cannot be used.</exception>
    public static LoadedLibrary OneDnn => ThrowIfOverrideFailed(s_oneDnn.Value);

    public static LoadedLibrary CudaRuntime => s_cudaRuntime.Value;

    /// <summary>cuBLAS of the loaded runtime's major version; load <see cref="CudaRuntime"/> first.</summary>
    public static LoadedLibrary Cublas => s_cublas.Value;

    /// <summary>
    /// Where the cuBLASLt calls are taken from: the cuBLASLt loaded beside cuBLAS when it exports
    /// <c>cublasLtMatmul</c>, else cuBLAS itself when it does (BlasLinear's emulator), else nowhere (handle 0,
    /// with the reason). Load <see cref="Cublas"/> first.
    /// </summary>
    public static (nint Handle, string Source) CublasLt => s_cublasLt.Value;

    private static readonly Lazy<(nint Handle, string Source)> s_cublasLt = new(FindCublasLt);

    private static (nint Handle, string Source) FindCublasLt()
    {
        const string Matmul = "cublasLtMatmul";
        string? lt = CudaLibrarySet.Chosen.LtPath;
        if (lt is not null && NativeLibrary.TryLoad(lt, out nint handle) && NativeLibrary.TryGetExport(handle, Matmul, out _))
        {
            return (handle, lt);
        }

        LoadedLibrary cublas = Cublas;
        if (cublas.IsLoaded && NativeLibrary.TryGetExport(cublas.Handle, Matmul, out _))
        {
            return (cublas.Handle, cublas.ResolvedPath ?? cublas.LoadedFrom ?? "cuBLAS");
        }

        return (0, lt is null ? "no cuBLASLt was loaded beside cuBLAS" : $"{lt} has no {Matmul}");
    }

    // CA2255: a library normally must not use a module initializer, but the import resolver has to be
    // in place before the first P/Invoke of this assembly, whichever public entry point is used first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>
    /// Every library this assembly imports, by the name its <c>LibraryImport</c> declarations use: the one
    /// table the resolver reads. Anything else (libc) goes through the runtime's default probing.
    /// </summary>
    private static readonly Dictionary<string, Func<nint>> s_byImportName = new(StringComparer.Ordinal)
    {
        [Interop.OpenBlas.LibraryName] = () => OpenBlas.Handle,
        [Interop.Kernels.LibraryName] = () => s_kernels.Value.Handle,
        [Interop.OneDnn.LibraryName] = () => s_oneDnn.Value.Handle,
        [Interop.CudaRuntime.LibraryName] = () => CudaRuntime.Handle,
        [Interop.Cublas.LibraryName] = () => Cublas.Handle,
        [Interop.CublasLt.LibraryName] = () => CublasLt.Handle,
    };

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        s_byImportName.TryGetValue(libraryName, out Func<nint>? handle) ? handle() : 0;

    /// <summary>An optional library is left out when it is not found, never when its override is wrong.</summary>
    private static LoadedLibrary ThrowIfOverrideFailed(LoadedLibrary library) =>
        library.OverrideFailure is null
            ? library
            : throw new Backends.BackendUnavailableException(Backends.BackendKind.Cpu, library.DescribeFailure());

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

    /// <summary>The runtime of the matched set <see cref="CudaLibrarySet"/> chose (after BLASLINEAR_CUDART_PATH).</summary>
    private static NativeLibrarySpec CudaRuntimeSpec() => new(
        ImportName: Interop.CudaRuntime.LibraryName,
        DisplayName: "The CUDA runtime",
        PathVariable: "BLASLINEAR_CUDART_PATH",
        Candidates: CudaLibrarySet.Chosen.RuntimePath is string runtime ? [runtime] : [],
        RequiredExport: "cudaGetDeviceCount",
        RefusalReason: "not the CUDA runtime",
        InstallHint: "CUDA library sets: " + CudaLibrarySet.Chosen.Describe() + ". Install the NVIDIA driver and a CUDA runtime "
            + "(the CUDA toolkit, or the nvidia-cuda-runtime Python wheel), or point BLASLINEAR_CUDA_LIBRARY_PATH at their folder.");

    /// <summary>cuBLAS of the matched set <see cref="CudaLibrarySet"/> chose (after BLASLINEAR_CUBLAS_PATH).</summary>
    private static NativeLibrarySpec CublasSpec() => new(
        ImportName: Interop.Cublas.LibraryName,
        DisplayName: "cuBLAS",
        PathVariable: "BLASLINEAR_CUBLAS_PATH",
        Candidates: CudaLibrarySet.Chosen.CublasPath is string cublas ? [cublas] : [],
        RequiredExport: "cublasCreate_v2",
        RefusalReason: "not cuBLAS",
        InstallHint: "CUDA library sets: " + CudaLibrarySet.Chosen.Describe() + ". Install cuBLAS of the same major version as "
            + "the CUDA runtime (the CUDA toolkit, or the nvidia-cublas Python wheel), or point BLASLINEAR_CUDA_LIBRARY_PATH at its folder.");
}
