namespace BlasLinear.Backends;

/// <summary>
/// A float32 weight prepared on the GPU where cuBLASLt is there: the weight is used as it is, and a product
/// with a bias of up to <see cref="CudaBackend.BiasEpilogueUpToBatch"/> rows adds the bias inside the GEMM
/// (cuBLASLt's bias epilogue), one call where the base form writes the bias with a rank-1 GEMM first and
/// multiplies with β = 1.
/// </summary>
internal sealed class CudaPreparedWeight(CudaBackend backend, BlasBuffer weight, Transpose trans, int n, int k)
    : PreparedWeight(backend, weight, trans, n, k)
{
    private protected override void MultiplyWithBiasCore(int m, ReadOnlyBlasSpan x, ReadOnlyBlasSpan bias, BlasSpan y) =>
        Backend.MultiplyPrepared(this, m, x, bias, y);
}
