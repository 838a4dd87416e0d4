namespace BlasLinear.Backends;

/// <summary>Turns a <see cref="BackendPreference"/> into a backend, keeping the reason for each choice.</summary>
internal static class BackendSelector
{
    public const string BackendVariable = "BLASLINEAR_BACKEND";

    public static BackendPreference ParsePreference(string? value) => value?.Trim().ToUpperInvariant() switch
    {
        null or "" or "AUTO" => BackendPreference.Auto,
        "CPU" => BackendPreference.Cpu,
        "CUDA" => BackendPreference.Cuda,
        _ => throw new InvalidOperationException(
            $"{BackendVariable}='{value}' is not one of auto, cpu, cuda."),
    };

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
