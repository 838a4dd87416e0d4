using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>A folder of its own under the system's temp folder, deleted with everything in it.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("blaslinear-safetensors-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Safetensors files written byte by byte, to state exactly what a reader is given.</summary>
internal static class RawSafeTensors
{
    /// <summary>The 8-byte length, the header padded with spaces to a multiple of 8, then the data.</summary>
    public static byte[] Build(string header, ReadOnlySpan<byte> data) => Build(Encoding.UTF8.GetBytes(header), data);

    /// <summary>Raw header bytes, padded with spaces to a multiple of 8, then the data.</summary>
    public static byte[] Build(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data)
    {
        int padded = (header.Length + 7) & ~7;
        var file = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        file.AsSpan(8, padded).Fill((byte)' ');
        header.CopyTo(file.AsSpan(8));
        data.CopyTo(file.AsSpan(8 + padded));
        return file;
    }

    public static string Write(TempFolder folder, string name, string header, ReadOnlySpan<byte> data)
    {
        string path = folder.File(name);
        File.WriteAllBytes(path, Build(header, data));
        return path;
    }
}

/// <summary>Files of the repository the tests were built from: the parity script and the committed fixtures.</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "BlasLinear.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No BlasLinear.sln above {AppContext.BaseDirectory}.");
    });

    public static string Path(params string[] parts) => System.IO.Path.Combine([s_root.Value, .. parts]);

    public static string ParityScript => Path("scripts", "pytorch_parity.py");

    public static string Fixtures => Path("tests", "SafeTensors", "Fixtures");
}

/// <summary>Debian's PyTorch, run as <c>/usr/bin/python3</c>, when it is installed.</summary>
internal static class LivePyTorch
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<(string? Version, string Reason)> s_probe = new(() =>
    {
        if (!File.Exists(Python))
        {
            return (null, $"{Python} does not exist.");
        }

        (int code, string output, string error) = Run(TimeSpan.FromMinutes(2), RepositoryFiles.ParityScript, "version");
        return code == 0 ? (output.Trim(), string.Empty) : (null, $"{Python} cannot import torch: {error.Trim()}");
    });

    /// <summary>torch's version, or null when it cannot be imported.</summary>
    public static string? Version => s_probe.Value.Version;

    public static string WhyNot => s_probe.Value.Reason;

    public static (int ExitCode, string Output, string Error) Run(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {string.Join(' ', arguments)} did not finish in {timeout}.");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
