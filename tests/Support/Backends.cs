using BlasLinear.Interop;
using Xunit;

namespace BlasLinear.Tests.Support;

/// <summary>
/// The backends every shared test runs on, by name. Each is created once per test process and shared,
/// as an application would share one.
/// </summary>
public static class Backends
{
    public const string OpenBlas = "openblas";

    private static readonly Lazy<BlasBackend> s_openBlas = new(() => BlasBackend.Create(BackendPreference.Cpu));

    /// <summary>xunit member data: one row per backend name.</summary>
    public static TheoryData<string> Names => new() { OpenBlas };

    public static BlasBackend Get(string name) => name switch
    {
        OpenBlas => s_openBlas.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown backend."),
    };
}
