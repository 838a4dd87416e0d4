using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop.Kernels;
using static BlasLinear.Native.Interop.OneDnn;

namespace BlasLinear.Backends;

/// <summary>
/// What this process has of the CPU providers beyond OpenBLAS: BlasLinear's kernels (loaded, and this CPU
/// runs them) and oneDNN (loaded, its version and ISA, and the OpenMP runtime it runs on), with a note on
/// each for the description.
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

    /// <summary>Loads and inspects the kernels and oneDNN; a missing one is noted, never thrown.</summary>
    public static unsafe CpuProviders Find()
    {
        LoadedLibrary kernelsLibrary = NativeLibraries.Kernels;
        int isa = kernelsLibrary.IsLoaded ? blk_cpu_isa() : IsaNone;
        bool kernelsRun = isa == IsaAvx512;
        if (!kernelsRun)
        {
            isa = IsaNone;
        }

        string kernelsNote = !kernelsLibrary.IsLoaded
            ? "not loaded (" + string.Join("; ", kernelsLibrary.Trace) + ")"
            : kernelsRun
                ? $"{kernelsLibrary.ResolvedPath} (AVX-512)"
                : $"{kernelsLibrary.ResolvedPath}: not used, this CPU has no AVX-512";

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

        return new CpuProviders(isa, oneDnnLibrary.IsLoaded, setOmp, getOmp, kernelsNote, oneDnnNote);
    }

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

        return new CpuRouteTable(requested, HasKernels, HasOneDnn);
    }
}
