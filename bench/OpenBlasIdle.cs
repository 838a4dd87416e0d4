using System.Runtime.InteropServices;

namespace BlasLinear.Bench;

/// <summary>
/// How long OpenBLAS's idle workers keep spinning. By default they spin, yielding, for 2^28 cycles of the
/// time-stamp counter (about a tenth of a second) after every call; the floor's samples last 50 ms, so
/// its workers would still be spinning through every managed sample that follows and take cores from
/// the kernels' threads (medians half of those measured alone, samples twice as spread). With 2^20 cycles
/// (under a millisecond) they sleep soon after the floor's last call; back-to-back calls never wait that
/// long, so the floor's own speed is unchanged (README, "CPU routes", has the rows).
/// </summary>
internal static partial class OpenBlasIdle
{
    public const string Variable = "OPENBLAS_THREAD_TIMEOUT";
    private const string Value = "20";

    /// <summary>What is in force, for the header and the report.</summary>
    public static string Setting { get; private set; } = "not applied";

    /// <summary>Sets the variable for this process unless it is given; must run before OpenBLAS is loaded.</summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            Setting = $"{Variable}={given} (given)";
            return;
        }

        // OpenBLAS reads its environment through getenv when it is loaded, so the native environment must
        // change; Environment.SetEnvironmentVariable only changes .NET's copy.
        if (OperatingSystem.IsLinux() && setenv(Variable, Value, 0) == 0)
        {
            Environment.SetEnvironmentVariable(Variable, Value);
            Setting = $"{Variable}={Value} (set by the benchmark: OpenBLAS's idle workers sleep after 2^{Value} cycles)";
        }
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
