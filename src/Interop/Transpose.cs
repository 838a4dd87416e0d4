namespace BlasLinear.Backends;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>op(X) = X.</summary>
    NoTrans,

    /// <summary>op(X) = Xᵀ.</summary>
    Trans,
}
