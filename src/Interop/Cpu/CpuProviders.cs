using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;

namespace BlasLinear.Backends;

/// <summary>
/// What this process has of the CPU providers beyond OpenBLAS: BlasLinear's kernels (loaded, this CPU runs
/// them, and the instruction set they run with) and oneDNN (loaded, its version and ISA, and the OpenMP
/// runtime it runs on), with a note on each for the description.
/// </summary>
internal sealed class CpuProviders
{
    private CpuProviders(int isa, bool oneDnn, nint setOmpThreads, nint getOmpThreads, string kernelsNote, string oneDnnNote)
    {
        Isa = isa;
        HasOneDnn = oneDnn;
        SetOmpThreads = setOmpThreads;
        GetOmpThreads = getOmpThreads;
        KernelsNote = kernelsNote;
        OneDnnNote = oneDnnNote;
    }

    /// <summary>The kernels are loaded and this CPU runs them.</summary>
    public bool HasKernels => Isa != IsaNone;

    /// <summary>The kernels' code path (<c>Interop.Kernels.Isa*</c>); <c>IsaNone</c> when they do not run here.</summary>
    public int Isa { get; }

    /// <summary>oneDNN is loaded.</summary>
    public bool HasOneDnn { get; }

    /// <summary><c>omp_set_num_threads</c> of oneDNN's OpenMP runtime, or 0 when oneDNN does not run on OpenMP.</summary>
    public nint SetOmpThreads { get; }

    /// <summary><c>omp_get_max_threads</c> of oneDNN's OpenMP runtime, or 0 when oneDNN does not run on OpenMP.</summary>
    public nint GetOmpThreads { get; }

    /// <summary>What was found of the kernels, for the description.</summary>
    public string KernelsNote { get; }

    /// <summary>What was found of oneDNN, for the description.</summary>
    public string OneDnnNote { get; }

    /// <summary>The kernels' instruction set as the public enum; null when they do not run here.</summary>
    public CpuKernelIsa? KernelIsa => Isa switch
    {
        IsaAvx512 => CpuKernelIsa.Avx512,
        IsaAvx2 => CpuKernelIsa.Avx2,
        _ => null,
    };

    /// <summary>
    /// Loads and inspects the kernels and oneDNN; a missing one is noted, never thrown, unless
    /// <paramref name="isa"/> forces a kernels path this process cannot run.
    /// </summary>
    /// <param name="isa">The kernels' path: <see cref="CpuKernelIsa.Auto"/> for the widest this CPU runs.</param>
    /// <param name="forcedBy">What forced <paramref name="isa"/>, for the description and the refusal (a
    /// variable's assignment or the enum value); null when it was not forced.</param>
    /// <exception cref="BackendUnavailableException"><paramref name="isa"/> forces a path that this CPU lacks or that is not loaded.</exception>
    public static unsafe CpuProviders Find(CpuKernelIsa isa = CpuKernelIsa.Auto, string? forcedBy = null)
    {
        LoadedLibrary kernelsLibrary = NativeLibraries.Kernels;
        int widest = kernelsLibrary.IsLoaded ? blk_cpu_isa() : IsaNone;
        if (widest is not (IsaAvx2 or IsaAvx512))
        {
            widest = IsaNone;
        }

        string lacking = !kernelsLibrary.IsLoaded
            ? "not loaded (" + string.Join("; ", kernelsLibrary.Trace) + ")"
            : $"{kernelsLibrary.ResolvedPath}: not used, this CPU has neither AVX2 with FMA nor AVX-512";
        int chosen = isa switch
        {
            CpuKernelIsa.Avx512 => IsaAvx512,
            CpuKernelIsa.Avx2 => IsaAvx2,
            _ => widest,
        };
        // The paths are ordered: a CPU that runs one runs every narrower one (blk_cpu_isa asks AVX2 of AVX-512).
        if (chosen > widest)
        {
            string has = widest == IsaAvx2 ? "this CPU runs only the AVX2 path (it has no AVX-512)" : "BlasLinear's kernels are " + lacking;
            throw new BackendUnavailableException(BackendKind.Cpu,
                $"{forcedBy ?? "CpuKernelIsa." + isa} forces the {IsaName(chosen)} kernels, but {has}");
        }

        string kernelsNote = chosen == IsaNone
            ? lacking
            : forcedBy is null
                ? $"{kernelsLibrary.ResolvedPath} ({IsaName(chosen)})"
                : $"{kernelsLibrary.ResolvedPath} ({IsaName(chosen)}, forced by {forcedBy})";

        LoadedLibrary oneDnnLibrary = NativeLibraries.OneDnn;
        string oneDnnNote;
        nint setOmp = 0, getOmp = 0;
        if (oneDnnLibrary.IsLoaded)
        {
            DnnlVersion* version = dnnl_version();
            bool omp = version->CpuRuntime == RuntimeOmp
                // dlsym on oneDNN's handle searches its dependencies: the OpenMP runtime it was built with.
                && NativeLibrary.TryGetExport(oneDnnLibrary.Handle, "omp_set_num_threads", out setOmp)
                && NativeLibrary.TryGetExport(oneDnnLibrary.Handle, "omp_get_max_threads", out getOmp);
            if (!omp)
            {
                setOmp = getOmp = 0;
            }

            string threading = omp
                ? "OpenMP held to one thread per call, split over BlasLinear's threads"
                : string.Create(CultureInfo.InvariantCulture, $"CPU runtime {version->CpuRuntime}: runs its own threads, not split");
            oneDnnNote = string.Create(CultureInfo.InvariantCulture,
                $"{oneDnnLibrary.ResolvedPath} ({version->Major}.{version->Minor}.{version->Patch}, ISA 0x{dnnl_get_effective_cpu_isa():x}; {threading})");
        }
        else
        {
            oneDnnNote = "not found (" + string.Join("; ", oneDnnLibrary.Trace) + "); optional: apt-get install libdnnl2";
        }

        return new CpuProviders(chosen, oneDnnLibrary.IsLoaded, setOmp, getOmp, kernelsNote, oneDnnNote);
    }

    /// <summary>The name the description gives a kernels path.</summary>
    public static string IsaName(int isa) => isa == IsaAvx512 ? "AVX-512" : isa == IsaAvx2 ? "AVX2" : "none";

    /// <summary>The route table for <paramref name="requested"/> with the providers found here.</summary>
    /// <exception cref="BackendUnavailableException"><paramref name="requested"/> pins a provider that cannot be used here.</exception>
    public CpuRouteTable TableFor(CpuRouting requested)
    {
        if (requested == CpuRouting.Kernels && !HasKernels)
        {
            throw new BackendUnavailableException(BackendKind.Cpu, "CpuRouting.Kernels was asked for, but BlasLinear's kernels are " + KernelsNote);
        }

        if (requested == CpuRouting.OneDnn && !HasOneDnn)
        {
            throw new BackendUnavailableException(BackendKind.Cpu, "CpuRouting.OneDnn was asked for, but oneDNN is " + OneDnnNote);
        }

        return new CpuRouteTable(requested, KernelIsa, HasOneDnn);
    }
}
