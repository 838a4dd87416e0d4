namespace BlasLinear.Bench;

/// <summary>
/// Whether the JIT's tiered compilation is on in this process. The benchmark's project turns it off
/// (<c>TieredCompilation</c> false): with it on, the runtime's background thread recompiles methods at a higher
/// tier for seconds after every new point, and on two cores that thread takes a core from the products the
/// layers split over two threads, so whole samples ran at half speed (a probe timing a prepared 1024→1024
/// forward at batch 8 between OpenBLAS calls, as the sweep interleaves them: 11–16 of 40 samples at half
/// speed with tiering, 1 of 40 without). Off, every method is compiled once, optimized, at its first call,
/// which is the code a long-running application settles on.
/// </summary>
internal static class JitSetting
{
    private const string Switch = "System.Runtime.TieredCompilation";
    private const string Variable = "DOTNET_TieredCompilation";

    /// <summary>What is in force, for the header and the report.</summary>
    public static string Describe()
    {
        string? given = Environment.GetEnvironmentVariable(Variable);
        if (given is { Length: > 0 })
        {
            return $"tiered compilation {(given == "0" ? "off" : "on")} ({Variable}={given} given)";
        }

        bool on = !AppContext.TryGetSwitch(Switch, out bool enabled) || enabled;
        return on
            ? "tiered compilation on (background recompilation can take a core from the measured calls)"
            : "tiered compilation off (the benchmark's project: every method optimized at its first call)";
    }
}
