using BlasLinear.Backends;

namespace BlasLinear.Reference;

/// <summary>
/// Float64 reference results, each with the quantity G the tolerance needs (the same sum with absolute
/// values), computed from exactly the float32 inputs the code under test saw.
/// </summary>
public static class Expected
{
    /// <summary>
    /// Row-major C = α·op(A)·op(B) + β·C₀ in float64; β = 0 ignores C₀ (which may hold NaN).
    /// Returns the m×n values and G = |α|·Σₚ|aₚ||bₚ| + |β|·|c₀| per element, densely (ld = n).
    /// </summary>
    public static (double[] Value, double[] G) Gemm(
        Transpose transA, Transpose transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, ReadOnlySpan<float> c0, int ldc)
    {
        var value = new double[m * n];
        var g = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transA == Transpose.Trans ? a[p * lda + i] : a[i * lda + p];
                    double bv = transB == Transpose.Trans ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                    abs += Math.Abs(av * bv);
                }

                double c = beta == 0 ? 0 : c0[i * ldc + j];
                value[i * n + j] = alpha * sum + (beta == 0 ? 0 : beta * c);
                g[i * n + j] = Math.Abs(alpha) * abs + (beta == 0 ? 0 : Math.Abs(beta) * Math.Abs(c));
            }
        }

        return (value, g);
    }

    /// <summary>y[i, j] = Σₚ x[i, p]·W'(p, j) + b[j] for either weight layout (W' is Wᵀ for [out, in]).</summary>
    public static (double[] Value, double[] G) LayerForward(
        bool weightIsOutByIn, int m, int inFeatures, int outFeatures,
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias)
    {
        var c0 = new float[m * outFeatures];
        if (!bias.IsEmpty)
        {
            for (int i = 0; i < m; i++)
            {
                bias.CopyTo(c0.AsSpan(i * outFeatures, outFeatures));
            }
        }

        return weightIsOutByIn
            ? Gemm(Transpose.NoTrans, Transpose.Trans, m, outFeatures, inFeatures, 1, x, inFeatures, w, inFeatures, bias.IsEmpty ? 0 : 1, c0, outFeatures)
            : Gemm(Transpose.NoTrans, Transpose.NoTrans, m, outFeatures, inFeatures, 1, x, inFeatures, w, outFeatures, bias.IsEmpty ? 0 : 1, c0, outFeatures);
    }

    /// <summary>dX = dY·op(W)ᵀ, m × in.</summary>
    public static (double[] Value, double[] G) LayerInputGradient(
        bool weightIsOutByIn, int m, int inFeatures, int outFeatures, ReadOnlySpan<float> dy, ReadOnlySpan<float> w) =>
        weightIsOutByIn
            ? Gemm(Transpose.NoTrans, Transpose.NoTrans, m, inFeatures, outFeatures, 1, dy, outFeatures, w, inFeatures, 0, default, inFeatures)
            : Gemm(Transpose.NoTrans, Transpose.Trans, m, inFeatures, outFeatures, 1, dy, outFeatures, w, outFeatures, 0, default, inFeatures);

    /// <summary>dW₀ + the weight gradient, shaped like W.</summary>
    public static (double[] Value, double[] G) LayerWeightGradient(
        bool weightIsOutByIn, int m, int inFeatures, int outFeatures,
        ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> dw0) =>
        weightIsOutByIn
            ? Gemm(Transpose.Trans, Transpose.NoTrans, outFeatures, inFeatures, m, 1, dy, outFeatures, x, inFeatures, 1, dw0, inFeatures)
            : Gemm(Transpose.Trans, Transpose.NoTrans, inFeatures, outFeatures, m, 1, x, inFeatures, dy, outFeatures, 1, dw0, outFeatures);

    /// <summary>db₀[j] + Σᵢ dY[i, j].</summary>
    public static (double[] Value, double[] G) BiasGradient(int m, int outFeatures, ReadOnlySpan<float> dy, ReadOnlySpan<float> db0)
    {
        var value = new double[outFeatures];
        var g = new double[outFeatures];
        for (int j = 0; j < outFeatures; j++)
        {
            value[j] = db0[j];
            g[j] = Math.Abs(db0[j]);
            for (int i = 0; i < m; i++)
            {
                value[j] += dy[i * outFeatures + j];
                g[j] += Math.Abs(dy[i * outFeatures + j]);
            }
        }

        return (value, g);
    }
}
