namespace BlasLinear.Interop;

/// <summary>Turns a <see cref="BackendPreference"/> into a backend, keeping the reason for each choice.</summary>
internal static class BackendSelector
{
    public const string BackendVariable = "BLASLINEAR_BACKEND";

    /// <summary>Why CUDA is not used; this version has only the OpenBLAS backend.</summary>
    internal const string CudaUnavailableReason =
        "this version of BlasLinear has no CUDA backend; only OpenBLAS is available";

    public static BackendPreference ParsePreference(string? value) => value?.Trim().ToUpperInvariant() switch
    {
        null or "" or "AUTO" => BackendPreference.Auto,
        "CPU" => BackendPreference.Cpu,
        "CUDA" => BackendPreference.Cuda,
        _ => throw new InvalidOperationException(
            $"{BackendVariable}='{value}' is not one of auto, cpu, cuda."),
    };

    public static BlasBackend Create(BackendPreference preference) => preference switch
    {
        BackendPreference.Auto => OpenBlasBackend.Create($"auto: CUDA not used ({CudaUnavailableReason})"),
        BackendPreference.Cpu => OpenBlasBackend.Create("cpu asked for"),
        BackendPreference.Cuda => throw new BackendUnavailableException(BackendKind.Cuda, CudaUnavailableReason),
        _ => throw new ArgumentOutOfRangeException(nameof(preference), preference, "Not a BackendPreference."),
    };
}
