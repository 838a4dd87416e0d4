using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace BlasLinear.Native;

/// <summary>
/// The outcome of resolving one <see cref="NativeLibrarySpec"/>: the handle that loaded, or none, and the
/// trace of every attempt with the loader's own message. Libraries stay loaded for the process's life,
/// as the runtime does for anything a P/Invoke binds.
/// </summary>
/// <remarks>
/// An override (<see cref="NativeLibrarySpec.PathVariable"/>) is the user's explicit choice: when it is set,
/// it is the only candidate, and a file that cannot be used is reported in <see cref="OverrideFailure"/>
/// rather than quietly replaced by another library. It must be a regular file (checked with <c>statx</c>,
/// which never opens it, so a FIFO or a device cannot block the process), it must load, and the required
/// export must be defined in that file itself: <c>dlsym</c> also searches a library's dependencies, so
/// <c>dladdr</c> of the export has to name the same file.
/// </remarks>
internal sealed class LoadedLibrary
{
    private LoadedLibrary(NativeLibrarySpec spec, nint handle, string? loadedFrom, IReadOnlyList<string> trace, string? overrideFailure)
    {
        Spec = spec;
        Handle = handle;
        LoadedFrom = loadedFrom;
        Trace = trace;
        OverrideFailure = overrideFailure;
    }

    public NativeLibrarySpec Spec { get; }

    /// <summary>The library handle, or zero when nothing loaded.</summary>
    public nint Handle { get; }

    public bool IsLoaded => Handle != 0;

    /// <summary>The candidate that loaded, as it was given to the loader.</summary>
    public string? LoadedFrom { get; }

    /// <summary>One line per attempt: the candidate and what the loader said.</summary>
    public IReadOnlyList<string> Trace { get; }

    /// <summary>
    /// Why the file named by the override variable cannot be used (the variable, the path and the reason),
    /// or null when the variable is not set or its library loaded.
    /// </summary>
    public string? OverrideFailure { get; }

    /// <summary>The file the loader mapped, found through <c>dladdr</c> on the required export.</summary>
    public string? ResolvedPath
    {
        get
        {
            if (!IsLoaded || !OperatingSystem.IsLinux()
                || !NativeLibrary.TryGetExport(Handle, Spec.RequiredExport, out nint address)
                || FileDefining(address) is not { } file)
            {
                return LoadedFrom;
            }

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

    /// <summary>The trace and the install hint, or the override's failure, for an exception message.</summary>
    public string DescribeFailure()
    {
        if (OverrideFailure is not null)
        {
            return $"{Spec.DisplayName} could not be loaded: {OverrideFailure}";
        }

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
        string? overridePath = Environment.GetEnvironmentVariable(spec.PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            return LoadOverride(spec, overridePath, trace);
        }

        trace.Add($"{spec.PathVariable}: not set");
        if (spec.SearchApplication && LoadFromApplication(spec, trace) is { } fromApplication)
        {
            return fromApplication;
        }

        foreach (string candidate in spec.Candidates)
        {
            // A path is checked before the loader opens it; a bare name is the loader's to search.
            if (candidate.Contains('/', StringComparison.Ordinal) && NotARegularFile(candidate, out _) is { } problem)
            {
                trace.Add($"{candidate}: {problem}");
                continue;
            }

            if (TryLoad(spec, candidate, out nint handle, out string? failure))
            {
                trace.Add($"{candidate}: loaded");
                return new LoadedLibrary(spec, handle, candidate, trace, overrideFailure: null);
            }

            trace.Add($"{candidate}: {failure}");
        }

        return new LoadedLibrary(spec, 0, null, trace, overrideFailure: null);
    }

    /// <summary>The override alone: the file must be usable, or the failure says why; nothing else is tried.</summary>
    private static LoadedLibrary LoadOverride(NativeLibrarySpec spec, string overridePath, List<string> trace)
    {
        string path = Path.GetFullPath(overridePath.Trim());
        string? failure = NotARegularFile(path, out FileIdentity file);
        nint handle = 0;
        if (failure is null && TryLoad(spec, path, out handle, out failure)
            && OperatingSystem.IsLinux()
            && NativeLibrary.TryGetExport(handle, spec.RequiredExport, out nint export)
            && FileDefining(export) is { } definedIn
            && Identify(definedIn) != file)
        {
            // Unloading is safe here: nothing has bound to this handle yet.
            NativeLibrary.Free(handle);
            handle = 0;
            failure = $"it does not define {spec.RequiredExport} itself: the export comes from {definedIn}, "
                + $"a library it depends on ({spec.RefusalReason})";
        }

        if (failure is null)
        {
            trace.Add($"{spec.PathVariable}={path}: loaded");
            return new LoadedLibrary(spec, handle, path, trace, overrideFailure: null);
        }

        trace.Add($"{spec.PathVariable}={path}: {failure}");
        string message = $"{spec.PathVariable} names a file that cannot be used: {overridePath}: {failure}. "
            + $"No other library is tried while {spec.PathVariable} is set: correct it, or unset it for the usual search.";
        return new LoadedLibrary(spec, 0, null, trace, message);
    }

    /// <summary>
    /// The runtime's own search for a library that ships with the application: the folders the host lists
    /// in <c>NATIVE_DLL_SEARCH_DIRECTORIES</c> (where the deps.json native assets of the application's
    /// packages are), the assembly's folder, then the loader's path. When it finds nothing, one trace line
    /// names the folders it looked in and how to get the library.
    /// </summary>
    private static LoadedLibrary? LoadFromApplication(NativeLibrarySpec spec, List<string> trace)
    {
        string name = spec.ImportName;
        Assembly assembly = typeof(LoadedLibrary).Assembly;
        if (NativeLibrary.TryLoad(name, assembly, searchPath: null, out nint handle))
        {
            if (NativeLibrary.TryGetExport(handle, spec.RequiredExport, out _))
            {
                trace.Add($"{name}: loaded from the application's native library folders");
                return new LoadedLibrary(spec, handle, name, trace, overrideFailure: null);
            }

            NativeLibrary.Free(handle);
            trace.Add($"{name}: found, but refused: it has no {spec.RequiredExport} ({spec.RefusalReason})");
            return null;
        }

        // The runtime does not say why; where the file is present, load it by path for the loader's message.
        var searched = new List<string>();
        foreach (string folder in ApplicationNativeFolders())
        {
            string path = Path.Combine(folder, name);
            if (NotARegularFile(path, out _) is not null)
            {
                searched.Add(folder);
            }
            else if (TryLoad(spec, path, out nint fromFolder, out string? failure))
            {
                trace.Add($"{path}: loaded");
                return new LoadedLibrary(spec, fromFolder, path, trace, overrideFailure: null);
            }
            else
            {
                trace.Add($"{path}: {failure}");
            }
        }

        trace.Add($"{name}: not found in {string.Join(", ", searched)} nor on the loader's path. {spec.InstallHint}");
        return null;
    }

    /// <summary>The runtime's native search folders (<c>NATIVE_DLL_SEARCH_DIRECTORIES</c>), then the application's own.</summary>
    private static IEnumerable<string> ApplicationNativeFolders()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string listed)
        {
            folders.AddRange(listed.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        folders.Add(AppContext.BaseDirectory);
        return folders.Select(f => Path.TrimEndingDirectorySeparator(Path.GetFullPath(f))).Distinct(StringComparer.Ordinal);
    }

    /// <summary>Loads a candidate and checks its export; on failure, the loader's message or the refusal.</summary>
    private static bool TryLoad(NativeLibrarySpec spec, string candidate, out nint handle, out string? failure)
    {
        try
        {
            handle = NativeLibrary.Load(candidate);
        }
        catch (DllNotFoundException e)
        {
            (handle, failure) = (0, LoaderMessage(e));
            return false;
        }
        catch (BadImageFormatException e)
        {
            (handle, failure) = (0, e.Message);
            return false;
        }

        if (!NativeLibrary.TryGetExport(handle, spec.RequiredExport, out _))
        {
            // Unloading is safe here: nothing has bound to this handle yet.
            NativeLibrary.Free(handle);
            (handle, failure) = (0, $"loaded but refused: it has no {spec.RequiredExport} ({spec.RefusalReason})");
            return false;
        }

        failure = null;
        return true;
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

    /// <summary>The device and inode of a file, after symbolic links; default when it cannot be read.</summary>
    private readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode);

    private static FileIdentity Identify(string path) =>
        NotARegularFile(path, out FileIdentity identity) is null ? identity : default;

    /// <summary>Null for a regular file (after symbolic links), else what the path is instead, in words.</summary>
    private static unsafe string? NotARegularFile(string path, out FileIdentity identity)
    {
        identity = default;
        if (!OperatingSystem.IsLinux())
        {
            return File.Exists(path) ? null : "no such file";
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(path + '\0');
        Interop.Libc.Statx status;
        int result;
        fixed (byte* pathname = utf8)
        {
            result = Interop.Libc.statx(Interop.Libc.AtFdCwd, pathname, 0, Interop.Libc.StatxTypeModeIno, &status);
        }

        if (result != 0)
        {
            return Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
        }

        identity = new FileIdentity(status.stx_dev_major, status.stx_dev_minor, status.stx_ino);
        return (status.stx_mode & Interop.Libc.SIfMt) switch
        {
            Interop.Libc.SIfReg => null,
            Interop.Libc.SIfDir => "not a regular file: a directory",
            Interop.Libc.SIfIfo => "not a regular file: a FIFO",
            Interop.Libc.SIfChr => "not a regular file: a character device",
            Interop.Libc.SIfBlk => "not a regular file: a block device",
            Interop.Libc.SIfSock => "not a regular file: a socket",
            _ => "not a regular file",
        };
    }

    /// <summary>The file of the loaded object that defines <paramref name="address"/>, from <c>dladdr</c>.</summary>
    private static unsafe string? FileDefining(nint address)
    {
        Interop.Libc.DlInfo info;
        return Interop.Libc.dladdr(address, &info) == 0 || info.dli_fname is null
            ? null
            : Marshal.PtrToStringUTF8((nint)info.dli_fname);
    }
}
