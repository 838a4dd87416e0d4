namespace BlasLinear.Interop;

/// <summary>The BLAS a backend runs on.</summary>
public enum BackendKind
{
    /// <summary>OpenBLAS on the CPU; host memory.</summary>
    OpenBlas,

    /// <summary>cuBLAS on an NVIDIA GPU; device memory.</summary>
    Cuda,
}

/// <summary>Which backend to create; the values of <c>BLASLINEAR_BACKEND</c>.</summary>
public enum BackendPreference
{
    /// <summary>CUDA when a device answers, OpenBLAS otherwise.</summary>
    Auto,

    /// <summary>OpenBLAS.</summary>
    Cpu,

    /// <summary>CUDA, or a <see cref="BackendUnavailableException"/> saying why not.</summary>
    Cuda,
}
