using System.Runtime.InteropServices;
using System.Text;

namespace BlasLinear.Native;

/// <summary>
/// The outcome of resolving one <see cref="NativeLibrarySpec"/>: the handle that loaded, or none, and the
/// trace of every attempt with the loader's own message. Libraries stay loaded for the process's life,
/// as the runtime does for anything a P/Invoke binds.
/// </summary>
internal sealed class LoadedLibrary
{
    private LoadedLibrary(NativeLibrarySpec spec, nint handle, string? loadedFrom, IReadOnlyList<string> trace)
    {
        Spec = spec;
        Handle = handle;
        LoadedFrom = loadedFrom;
        Trace = trace;
    }

    public NativeLibrarySpec Spec { get; }

    /// <summary>The library handle, or zero when nothing loaded.</summary>
    public nint Handle { get; }

    public bool IsLoaded => Handle != 0;

    /// <summary>The candidate that loaded, as it was given to the loader.</summary>
    public string? LoadedFrom { get; }

    /// <summary>One line per attempt: the candidate and what the loader said.</summary>
    public IReadOnlyList<string> Trace { get; }

    /// <summary>The file the loader mapped, found through <c>dladdr</c> on the required export.</summary>
    public unsafe string? ResolvedPath
    {
        get
        {
            if (!IsLoaded || !OperatingSystem.IsLinux()
                || !NativeLibrary.TryGetExport(Handle, Spec.RequiredExport, out nint address))
            {
                return LoadedFrom;
            }

            Interop.Libc.DlInfo info;
            if (Interop.Libc.dladdr(address, &info) == 0 || info.dli_fname is null)
            {
                return LoadedFrom;
            }

            string file = Marshal.PtrToStringUTF8((nint)info.dli_fname) ?? LoadedFrom ?? string.Empty;
            try
            {
                return new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file;
            }
            catch (IOException)
            {
                return file;
            }
        }
    }

    /// <summary>The trace and the install hint, for an exception message.</summary>
    public string DescribeFailure()
    {
        var text = new StringBuilder();
        text.Append(Spec.DisplayName).Append(" could not be loaded. Tried, in order:");
        foreach (string line in Trace)
        {
            text.Append("\n  - ").Append(line);
        }

        text.Append('\n').Append(Spec.InstallHint);
        return text.ToString();
    }

    public static LoadedLibrary Load(NativeLibrarySpec spec)
    {
        var trace = new List<string>();
        foreach (string candidate in CandidatesOf(spec, trace))
        {
            nint handle;
            try
            {
                handle = NativeLibrary.Load(candidate);
            }
            catch (DllNotFoundException e)
            {
                trace.Add($"{candidate}: {LoaderMessage(e)}");
                continue;
            }
            catch (BadImageFormatException e)
            {
                trace.Add($"{candidate}: {e.Message}");
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, spec.RequiredExport, out _))
            {
                // Unloading is safe here: nothing has bound to this handle yet.
                NativeLibrary.Free(handle);
                trace.Add($"{candidate}: loaded but refused: it has no {spec.RequiredExport} ({spec.RefusalReason})");
                continue;
            }

            trace.Add($"{candidate}: loaded");
            return new LoadedLibrary(spec, handle, candidate, trace);
        }

        return new LoadedLibrary(spec, 0, null, trace);
    }

    /// <summary>
    /// The dynamic loader's own text (dlerror), which the runtime puts on the last line of its message
    /// after a paragraph of generic advice.
    /// </summary>
    private static string LoaderMessage(DllNotFoundException e)
    {
        string[] lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? lines[^1] : e.Message;
    }

    private static IEnumerable<string> CandidatesOf(NativeLibrarySpec spec, List<string> trace)
    {
        string? overridePath = Environment.GetEnvironmentVariable(spec.PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            yield return overridePath;
        }
        else
        {
            trace.Add($"{spec.PathVariable}: not set");
        }

        foreach (string candidate in spec.Candidates)
        {
            yield return candidate;
        }
    }
}
