using BlasLinear.Native;

namespace BlasLinear.Backends;

/// <summary>
/// <see cref="Transpose"/> in each provider's vocabulary: the one place a flag is re-encoded, so that
/// a provider never sees a value of another's enum.
/// </summary>
internal static class TransposeEncoding
{
    /// <summary>CBLAS's <c>CBLAS_TRANSPOSE</c> (OpenBLAS).</summary>
    public static Interop.OpenBlas.CblasTranspose ToCblas(this Transpose trans) =>
        trans == Transpose.Trans ? Interop.OpenBlas.CblasTranspose.Trans : Interop.OpenBlas.CblasTranspose.NoTrans;

    /// <summary>cuBLAS's <c>cublasOperation_t</c>.</summary>
    public static Interop.Cublas.Operation ToCublas(this Transpose trans) =>
        trans == Transpose.Trans ? Interop.Cublas.Operation.T : Interop.Cublas.Operation.N;

    /// <summary>oneDNN's <c>dnnl_sgemm</c> character flag, 'N' or 'T'.</summary>
    public static byte ToOneDnn(this Transpose trans) => trans == Transpose.Trans ? (byte)'T' : (byte)'N';

    /// <summary>The other flag: a row-major matrix seen column-major is its own transpose.</summary>
    public static Transpose Flipped(this Transpose trans) => trans == Transpose.Trans ? Transpose.NoTrans : Transpose.Trans;
}
