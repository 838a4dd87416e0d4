using BlasLinear.Backends;

namespace BlasLinear;

/// <summary>
/// The one place where the two layer forms become BLAS calls. Row-major, contiguous; M = rows of X
/// (the batch), K = in_features, N = out_features:
/// <code>
///   operation                          Linear, W[N,K]                         ParameterLinear, W[K,N]
///   forward   Y[M,N] (β·Y +)= X·op(W)  NoTrans, Trans,   M,N,K, X,K, W,K, Y,N    NoTrans, NoTrans, M,N,K, X,K, W,N, Y,N
///   dX[M,K]   = dY·op(W)ᵀ              NoTrans, NoTrans, M,K,N, dY,N, W,K, dX,K  NoTrans, Trans,   M,K,N, dY,N, W,N, dX,K
///   dW       += ...                    dW[N,K] += dYᵀ·X: Trans, NoTrans, N,K,M,  dW[K,N] += Xᵀ·dY: Trans, NoTrans, K,N,M,
///                                      dY,N, X,K, β=1, dW,K                      X,K, dY,N, β=1, dW,N
///   db[N]    += Σ_rows dY              backend.AddRowSums (the same for both)
///   bias in forward: write b into every row of Y, then the forward GEMM with β = 1.
/// </code>
/// The forms differ only in W's transpose flag and leading dimension, and in which operand of the
/// weight gradient comes first.
/// </summary>
internal static class LinearGemm
{
    /// <summary>op(W) of the forward product: Linear's W[N,K] is used transposed, ParameterLinear's W[K,N] as stored.</summary>
    public static Transpose WeightOp(WeightLayout layout) => layout == WeightLayout.OutByIn ? Transpose.Trans : Transpose.NoTrans;

    public static void Forward(
        BlasBackend backend, WeightLayout layout, int m, int n, int k,
        ReadOnlyBlasSpan x, BlasBuffer w, float beta, BlasSpan y)
    {
        Transpose op = WeightOp(layout);
        backend.Gemm(Transpose.NoTrans, op, m, n, k, 1f, x, k, w, op == Transpose.Trans ? k : n, beta, y, n);
    }

    public static void InputGradient(
        BlasBackend backend, WeightLayout layout, int m, int n, int k,
        ReadOnlyBlasSpan dy, BlasBuffer w, BlasSpan dx)
    {
        if (layout == WeightLayout.OutByIn)
        {
            backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, m, k, n, 1f, dy, n, w, k, 0f, dx, k);
        }
        else
        {
            backend.Gemm(Transpose.NoTrans, Transpose.Trans, m, k, n, 1f, dy, n, w, n, 0f, dx, k);
        }
    }

    public static void AccumulateWeightGradient(
        BlasBackend backend, WeightLayout layout, int m, int n, int k,
        ReadOnlyBlasSpan x, ReadOnlyBlasSpan dy, BlasBuffer dw)
    {
        if (layout == WeightLayout.OutByIn)
        {
            backend.Gemm(Transpose.Trans, Transpose.NoTrans, n, k, m, 1f, dy, n, x, k, 1f, dw, k);
        }
        else
        {
            backend.Gemm(Transpose.Trans, Transpose.NoTrans, k, n, m, 1f, x, k, dy, n, 1f, dw, n);
        }
    }
}
