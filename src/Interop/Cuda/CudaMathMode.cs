namespace BlasLinear.Backends;

/// <summary>How cuBLAS may compute float32 GEMMs.</summary>
public enum CudaMathMode
{
    /// <summary>Full float32 arithmetic (<c>CUBLAS_DEFAULT_MATH</c>): results match the CPU within the float32 bound.</summary>
    Default,

    /// <summary>
    /// TF32 tensor cores (<c>CUBLAS_TF32_TENSOR_OP_MATH</c>): much faster on Ampere and later, with a
    /// 10-bit mantissa for the products, so errors grow to about 2⁻¹⁰ relative. Opt-in only.
    /// </summary>
    Tf32,
}
