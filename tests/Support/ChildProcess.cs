using System.Diagnostics;

namespace BlasLinear.Tests.Support;

/// <summary>Runs a probe scenario in a fresh process, with its own environment, and captures everything it prints.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
    }

    public static Result RunProbe(string scenario, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null) =>
        RunProbe([scenario], environment, timeout);

    public static Result RunProbe(string[] arguments, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        string scenario = string.Join(' ', arguments);
        string probe = Path.Combine(AppContext.BaseDirectory, "BlasLinear.Tests.Probe.dll");
        // The dotnet CLI exports its own path to the processes it starts; fall back to PATH.
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(probe);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("The probe did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The probe '{scenario}' did not finish in time.");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
