using System.Globalization;
using System.Runtime.InteropServices;

namespace BlasLinear.Native;

/// <summary>
/// The CUDA runtime, cuBLASLt and cuBLAS chosen as one matched set: the same major version from the same
/// place. Majors are tried newest first; for each, the places in order (<c>BLASLINEAR_CUDA_LIBRARY_PATH</c>,
/// <c>CUDA_PATH</c>, <c>CUDA_HOME</c>, <c>/usr/local/cuda</c>, Python environments' <c>nvidia</c> wheels,
/// then the loader's own search). A set whose runtime reports <c>cudaErrorInsufficientDriver</c>, or whose
/// files do not load, is passed over for the next. cuBLASLt is loaded from cuBLAS's own folder before cuBLAS,
/// so cuBLAS's <c>DT_NEEDED</c> entry binds it rather than one found first on <c>LD_LIBRARY_PATH</c>.
/// </summary>
internal sealed class CudaLibrarySet
{
    private const int InsufficientDriver = 35;
    private static readonly string[] s_majors = ["13", "12", "11"];
    private static readonly string[] s_packageFolders = ["site-packages", "dist-packages"];
    private static readonly string[] s_condaRoots = ["miniconda3", "anaconda3", "miniforge3", "mambaforge"];
    private static readonly string[] s_prefixVariables = ["VIRTUAL_ENV", "CONDA_PREFIX"];
    private static readonly string[] s_rootVariables = ["CUDA_PATH", "CUDA_HOME"];
    private static readonly Lazy<CudaLibrarySet> s_chosen = new(Choose);

    private CudaLibrarySet(string? runtime, string? cublas, string? lt, string summary, List<string> attempts)
    {
        RuntimePath = runtime;
        CublasPath = cublas;
        LtPath = lt;
        Summary = summary;
        Attempts = attempts;
    }

    /// <summary>The set this process uses, chosen on first use.</summary>
    public static CudaLibrarySet Chosen => s_chosen.Value;

    /// <summary>The runtime to load, or null (none found, or the path override decides).</summary>
    public string? RuntimePath { get; }

    /// <summary>cuBLAS to load, or null (none found, or the path override decides).</summary>
    public string? CublasPath { get; }

    /// <summary>The cuBLASLt loaded before cuBLAS, or null when none was found beside it.</summary>
    public string? LtPath { get; }

    /// <summary>Which set was taken and from where.</summary>
    public string Summary { get; }

    /// <summary>One line per set passed over, with why.</summary>
    public IReadOnlyList<string> Attempts { get; }

    /// <summary>The summary and every set passed over, for a description or an exception message.</summary>
    public string Describe() =>
        Attempts.Count == 0 ? Summary : Summary + "; passed over: " + string.Join("; ", Attempts);

    private static CudaLibrarySet Choose()
    {
        var attempts = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            return new CudaLibrarySet(null, null, null, "no CUDA library search on this operating system", attempts);
        }

        List<(string Name, string[] Folders)> places = Places();
        string? runtimeOverride = Nonempty("BLASLINEAR_CUDART_PATH"), cublasOverride = Nonempty("BLASLINEAR_CUBLAS_PATH");
        if (runtimeOverride is not null || cublasOverride is not null)
        {
            // The overrides decide; cuBLASLt is still taken from beside the cuBLAS that will load.
            string? major = MajorOf(cublasOverride ?? runtimeOverride!, cublasOverride is null ? "libcudart.so." : "libcublas.so.");
            string? cublas = cublasOverride;
            if (cublas is null && major is not null)
            {
                cublas = places.SelectMany(p => p.Folders).Select(f => Path.Combine(f, $"libcublas.so.{major}")).FirstOrDefault(File.Exists)
                    ?? $"libcublas.so.{major}";
            }

            string? runtime = null;
            if (runtimeOverride is null && major is not null)
            {
                string runtimeFile = major == "11" ? "libcudart.so.11.0" : $"libcudart.so.{major}";
                runtime = places.SelectMany(p => p.Folders).Select(f => Path.Combine(f, runtimeFile)).FirstOrDefault(File.Exists) ?? runtimeFile;
            }

            string? lt = cublas is null || major is null ? null : PreloadLt(cublas, major, attempts);
            return new CudaLibrarySet(runtime, cublasOverride is null ? cublas : null, lt,
                $"the path override{(runtimeOverride is not null && cublasOverride is not null ? "s" : string.Empty)} (BLASLINEAR_CUDART_PATH, BLASLINEAR_CUBLAS_PATH)"
                + (lt is null ? string.Empty : $", cuBLASLt {lt}"), attempts);
        }

        foreach (string major in s_majors)
        {
            string runtimeFile = major == "11" ? "libcudart.so.11.0" : $"libcudart.so.{major}";
            string cublasFile = $"libcublas.so.{major}";
            foreach ((string name, string[] folders) in places)
            {
                string? runtime = folders.Select(f => Path.Combine(f, runtimeFile)).FirstOrDefault(File.Exists);
                string? cublas = folders.Select(f => Path.Combine(f, cublasFile)).FirstOrDefault(File.Exists);
                if (runtime is null || cublas is null)
                {
                    continue;
                }

                if (TryTake(major, name, runtime, cublas, attempts) is CudaLibrarySet set)
                {
                    return set;
                }
            }

            if (TryTake(major, "the loader's search path", runtimeFile, cublasFile, attempts) is CudaLibrarySet cached)
            {
                return cached;
            }
        }

        return new CudaLibrarySet(null, null, null, "no CUDA runtime and cuBLAS of one major version loaded", attempts);
    }

    private static unsafe CudaLibrarySet? TryTake(string major, string place, string runtime, string cublas, List<string> attempts)
    {
        string label = $"CUDA {major} from {place}";
        var lost = new List<string>();
        string? lt = PreloadLt(cublas, major, lost);
        if (!TryLoad(runtime, out nint handle, out string? error))
        {
            attempts.Add($"{label}: {runtime} did not load ({error})");
            return null;
        }

        if (!NativeLibrary.TryGetExport(handle, "cudaGetDeviceCount", out nint getCount))
        {
            attempts.Add($"{label}: {runtime} has no cudaGetDeviceCount");
            return null;
        }

        int count = 0;
        int status = ((delegate* unmanaged<int*, int>)getCount)(&count);
        if (status == InsufficientDriver)
        {
            attempts.Add($"{label}: the driver is older than the runtime (cudaGetDeviceCount returned cudaErrorInsufficientDriver)");
            return null;
        }

        if (!TryLoad(cublas, out nint cublasHandle, out error) || !NativeLibrary.TryGetExport(cublasHandle, "cublasCreate_v2", out _))
        {
            attempts.Add($"{label}: {cublas} {(error is null ? "has no cublasCreate_v2" : $"did not load ({error})")}");
            return null;
        }

        attempts.AddRange(lost);
        return new CudaLibrarySet(runtime, cublas, lt,
            $"CUDA {major} from {place}: {runtime}, {cublas}, cuBLASLt {lt ?? "as cuBLAS finds it (none beside it)"}", attempts);
    }

    /// <summary>Loads libcublasLt.so.N from cuBLAS's folder (or by soname when cuBLAS is found by soname).</summary>
    private static string? PreloadLt(string cublas, string major, List<string> notes)
    {
        string? folder = Path.GetDirectoryName(cublas);
        string lt = string.IsNullOrEmpty(folder) ? $"libcublasLt.so.{major}" : Path.Combine(folder, $"libcublasLt.so.{major}");
        if (!string.IsNullOrEmpty(folder) && !File.Exists(lt))
        {
            return null;
        }

        if (TryLoad(lt, out _, out string? error))
        {
            return lt;
        }

        notes.Add($"cuBLASLt {lt} did not load ({error})");
        return null;
    }

    private static bool TryLoad(string path, out nint handle, out string? error)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            string[] lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            handle = 0;
            error = lines.Length > 1 ? lines[^1] : e.Message;
            return false;
        }
    }

    private static string? MajorOf(string path, string prefix)
    {
        string name = Path.GetFileName(path);
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        string version = name[prefix.Length..];
        int dot = version.IndexOf('.', StringComparison.Ordinal);
        string major = dot < 0 ? version : version[..dot];
        return int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? major : null;
    }

    private static string? Nonempty(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;

    /// <summary>Each place: a name for messages and the folders searched together (a wheel spreads a set over several).</summary>
    private static List<(string Name, string[] Folders)> Places()
    {
        var places = new List<(string, string[])>();
        if (Nonempty("BLASLINEAR_CUDA_LIBRARY_PATH") is string listed)
        {
            foreach (string folder in listed.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                places.Add(($"BLASLINEAR_CUDA_LIBRARY_PATH ({folder})", [folder]));
            }
        }

        foreach (string variable in s_rootVariables)
        {
            if (Nonempty(variable) is string root)
            {
                places.Add(($"{variable} ({root})", [Path.Combine(root, "lib64"), Path.Combine(root, "targets", "x86_64-linux", "lib")]));
            }
        }

        places.Add(("/usr/local/cuda", ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]));
        foreach (string nvidia in PythonWheelFolders())
        {
            string[] libs;
            try
            {
                libs = Directory.EnumerateDirectories(nvidia).Select(p => Path.Combine(p, "lib")).Where(Directory.Exists).Order(StringComparer.Ordinal).ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            places.Add(($"Python wheels ({nvidia})", libs));
        }

        return places;
    }

    /// <summary>
    /// The <c>site-packages/nvidia</c> folders of Python environments: the active virtual or conda environment,
    /// every environment whose <c>bin</c> is on PATH, pyenv's versions, conda's environments, the system and user sites.
    /// </summary>
    private static IEnumerable<string> PythonWheelFolders()
    {
        var prefixes = new List<string>();
        foreach (string variable in s_prefixVariables)
        {
            if (Nonempty(variable) is string prefix)
            {
                prefixes.Add(prefix);
            }
        }

        foreach (string entry in (Nonempty("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Path.GetFileName(entry.TrimEnd('/')) == "bin" && Path.GetDirectoryName(entry.TrimEnd('/')) is { Length: > 0 } parent)
            {
                prefixes.Add(parent);
            }
        }

        string? home = Nonempty("HOME");
        var roots = new List<string> { "/opt/conda" };
        if (home is not null)
        {
            roots.AddRange(s_condaRoots.Select(n => Path.Combine(home, n)));
            prefixes.AddRange(Children(Path.Combine(home, ".pyenv", "versions")));
            prefixes.Add(Path.Combine(home, ".local"));
        }

        foreach (string root in roots)
        {
            prefixes.Add(root);
            prefixes.AddRange(Children(Path.Combine(root, "envs")));
        }

        prefixes.AddRange(["/usr", "/usr/local"]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string prefix in prefixes)
        {
            foreach (string python in Children(Path.Combine(prefix, "lib")).Where(p => Path.GetFileName(p).StartsWith("python3", StringComparison.Ordinal)))
            {
                foreach (string packages in s_packageFolders)
                {
                    string nvidia = Path.Combine(python, packages, "nvidia");
                    if (Directory.Exists(nvidia) && seen.Add(Path.GetFullPath(nvidia)))
                    {
                        yield return nvidia;
                    }
                }
            }
        }
    }

    private static string[] Children(string folder)
    {
        try
        {
            return Directory.Exists(folder) ? Directory.GetDirectories(folder) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
