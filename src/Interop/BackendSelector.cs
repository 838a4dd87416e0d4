namespace BlasLinear.Backends;

/// <summary>Turns a <see cref="BackendPreference"/> into a backend, keeping the reason for each choice.</summary>
internal static class BackendSelector
{
    /// <summary>The values of <c>BLASLINEAR_BACKEND</c>; the first is the default.</summary>
    public static ReadOnlySpan<(string Name, BackendPreference Value)> Choices => s_choices;

    private static readonly (string, BackendPreference)[] s_choices =
        [("auto", BackendPreference.Auto), ("cpu", BackendPreference.Cpu), ("cuda", BackendPreference.Cuda)];

    public static BackendPreference ParsePreference(string? value) => Settings.Parse(Settings.Backend, value, Choices);

    public static BlasBackend Create(BackendPreference preference)
    {
        switch (preference)
        {
            case BackendPreference.Auto:
                return CudaBackend.TryCreate(allowEmulator: false, mathMode: null, "auto: a CUDA device answered", out string reason)
                    ?? (BlasBackend)CpuBackend.Create($"auto: CUDA not used ({reason})");
            case BackendPreference.Cpu:
                return CpuBackend.Create("cpu asked for");
            case BackendPreference.Cuda:
                return CudaBackend.Create();
            default:
                throw new ArgumentOutOfRangeException(nameof(preference), preference, "Not a BackendPreference.");
        }
    }
}
