namespace BlasLinear.Backends;

/// <summary>The BLAS a backend runs on.</summary>
public enum BackendKind
{
    /// <summary>The CPU: BlasLinear's kernels, oneDNN and OpenBLAS, routed per product; host memory.</summary>
    Cpu,

    /// <summary>cuBLAS on an NVIDIA GPU; device memory.</summary>
    Cuda,
}

/// <summary>Which backend to create; the values of <c>BLASLINEAR_BACKEND</c>.</summary>
public enum BackendPreference
{
    /// <summary>CUDA when a device answers, the CPU otherwise.</summary>
    Auto,

    /// <summary>The CPU backend.</summary>
    Cpu,

    /// <summary>CUDA, or a <see cref="BackendUnavailableException"/> saying why not.</summary>
    Cuda,
}
