using System.Collections.Concurrent;
using BlasLinear.Native;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// A prepared forward with a bias in one cuBLASLt call: Y = X·op(W) + b with the bias added in the GEMM's
/// epilogue (<c>CUBLASLT_EPILOGUE_BIAS</c>), instead of a rank-1
/// GEMM that writes b into Y before the product. In cuBLASLt's column-major terms the row-major product is
/// Yᵀ[n, m] = op(W)ᵀ·Xᵀ, so W is operand A (transposed for <c>Linear</c>'s W[n, k], as stored for
/// <c>ParameterLinear</c>'s W[k, n]), X operand B, and the bias runs down Yᵀ's n rows: one value per output feature.
/// <para>Up to <see cref="BiasEpilogueUpToBatch"/> rows only. A small product is bound by its launches, so one call
/// instead of two pays wherever cuBLASLt runs it; a larger one is bound by its kernel, and there cuBLASLt's first
/// choice was at times slower than cuBLAS's SGEMM with the extra GEMM (on an H200, docs/gpu.md: at batches 1 and 8 a
/// forward with the bias in the epilogue ran at 0.98–1.93 of the bias-free forward's speed, against 0.51–0.79 with
/// the rank-1 GEMM first; at 32×4096→4096 in float32 it took twice as long as the rank-1 GEMM and the product).</para>
/// </summary>
public sealed partial class CudaBackend
{
    /// <summary>The most rows a prepared forward adds its bias inside the product for (docs/gpu.md).</summary>
    internal const int BiasEpilogueUpToBatch = 8;

    /// <summary>The algorithm cuBLASLt's heuristic chose per shape and alignment; null where it has none (then the rank-1 GEMM is used).</summary>
    private readonly ConcurrentDictionary<(bool Transposed, int M, int N, int K, int Alignment), CublasLt.Algo?> _biasAlgorithms = new();

    /// <summary>Whether a prepared forward adds the bias inside the product: cuBLASLt's matmul was found.</summary>
    internal static bool BiasInsideProduct => NativeLibraries.CublasLt.Handle != 0;

    /// <summary>How a prepared forward adds the bias here, for <see cref="Describe"/>.</summary>
    private static string DescribeBiasProduct() =>
        BiasInsideProduct
            ? $"prepared forward to batch {BiasEpilogueUpToBatch}: inside the product (cuBLASLt bias epilogue, {NativeLibraries.CublasLt.Source}); larger or unprepared: a rank-1 GEMM first"
            : $"a rank-1 GEMM before the product ({NativeLibraries.CublasLt.Source})";

    private protected override PreparedWeight PrepareWeightCore(BlasBuffer weight, Transpose trans, int n, int k) =>
        BiasInsideProduct ? new CudaPreparedWeight(this, weight, trans, n, k) : PreparedWeight.AsItIs(this, weight, trans, n, k);

    private protected override unsafe void MultiplyPreparedWithBiasCore(PreparedWeight weight, int m, Operand x, Operand bias, Operand y)
    {
        int n = weight.N, k = weight.K;
        long yLength = (long)m * n;
        // The weight is read in place; while it is prepared no writable view of it exists, so y cannot alias it.
        using var leaseWeight = new Lease(weight.Weight);
        float* w = weight.Weight.Pointer;

        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        float* px = staging.In(x, (long)m * k);
        float* pb = staging.In(bias, n);
        float* py = staging.Out(y, yLength, copyIn: false);
        if (m > BiasEpilogueUpToBatch || !LtBiasProduct(state, weight.Trans, m, n, k, px, w, pb, py))
        {
            // Past the epilogue's batches, or no cuBLASLt algorithm for this shape: the bias into every row, then the product with β = 1.
            BroadcastRowsOnDevice(state, pb, py, m, n);
            SgemmRowMajor(state, Transpose.NoTrans, weight.Trans, m, n, k, 1f, px, k, w, weight.Trans == Transpose.Trans ? k : n, 1f, py, n);
        }

        staging.CopyBack(y, yLength);
    }

    /// <summary>Y = X·op(W) + b in one cuBLASLt matmul; false when the heuristic has no algorithm for it.</summary>
    private unsafe bool LtBiasProduct(CudaCallState state, Transpose trans, int m, int n, int k, float* x, float* w, float* bias, float* y)
    {
        (nint lt, nint workspace) = state.Lt();
        bool transposed = trans == Transpose.Trans;
        // The largest power of two up to 256 that every address is a multiple of: the heuristic's choice depends on it.
        ulong bits = (ulong)x | (ulong)w | (ulong)bias | (ulong)y | 256;
        int alignment = (int)(bits & (~bits + 1));
        nint desc = 0, weightLayout = 0, inputLayout = 0, outputLayout = 0;
        try
        {
            int computeType = MathMode == CudaMathMode.Tf32 ? CublasLt.Compute32FFastTf32 : CublasLt.Compute32F;
            Check(CublasLt.cublasLtMatmulDescCreate(&desc, computeType, CublasLt.R32F));
            int opA = transposed ? (int)Cublas.Operation.T : (int)Cublas.Operation.N, opB = (int)Cublas.Operation.N;
            uint epilogue = CublasLt.EpilogueBias;
            nint biasPointer = (nint)bias;
            Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransA, &opA, sizeof(int)));
            Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransB, &opB, sizeof(int)));
            Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescEpilogue, &epilogue, sizeof(uint)));
            Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescBiasPointer, &biasPointer, (nuint)sizeof(nint)));
            // Column-major: W is k×n (Linear, ld k) or n×k (ParameterLinear, ld n); X is k×m (ld k); Y is n×m (ld n).
            Check(transposed
                ? CublasLt.cublasLtMatrixLayoutCreate(&weightLayout, CublasLt.R32F, (ulong)k, (ulong)n, k)
                : CublasLt.cublasLtMatrixLayoutCreate(&weightLayout, CublasLt.R32F, (ulong)n, (ulong)k, n));
            Check(CublasLt.cublasLtMatrixLayoutCreate(&inputLayout, CublasLt.R32F, (ulong)k, (ulong)m, k));
            Check(CublasLt.cublasLtMatrixLayoutCreate(&outputLayout, CublasLt.R32F, (ulong)n, (ulong)m, n));
            (nint Desc, nint A, nint B, nint D) layouts = (desc, weightLayout, inputLayout, outputLayout);
            var key = (transposed, m, n, k, alignment);
            if (!_biasAlgorithms.TryGetValue(key, out CublasLt.Algo? chosen))
            {
                // Two threads may both ask on a shape's first calls; either answer is kept.
                chosen = Heuristic(lt, layouts, alignment);
                _biasAlgorithms.TryAdd(key, chosen);
            }

            if (chosen is not CublasLt.Algo algo)
            {
                return false;
            }

            float alpha = 1f, beta = 0f;
            Check(CublasLt.cublasLtMatmul(lt, desc, &alpha, w, weightLayout, x, inputLayout, &beta, y, outputLayout,
                y, outputLayout, &algo, (void*)workspace, (nuint)CudaCallState.LtWorkspaceBytes, Stream));
            return true;
        }
        finally
        {
            // Host objects only: destroying them never waits for the matmul.
            DestroyLayout(outputLayout);
            DestroyLayout(inputLayout);
            DestroyLayout(weightLayout);
            if (desc != 0)
            {
                _ = CublasLt.cublasLtMatmulDescDestroy(desc);
            }
        }
    }

    /// <summary>cuBLASLt's first choice for the product described, within this state's workspace and the operands' alignment; null when it has none.</summary>
    private unsafe CublasLt.Algo? Heuristic(nint lt, (nint Desc, nint A, nint B, nint D) layouts, int alignment)
    {
        nint preference = 0;
        try
        {
            Check(CublasLt.cublasLtMatmulPreferenceCreate(&preference));
            ulong workspace = (ulong)CudaCallState.LtWorkspaceBytes;
            Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMaxWorkspaceBytes, &workspace, sizeof(ulong)));
            uint aligned = (uint)alignment;
            foreach (int attribute in CublasLt.PrefMinAlignments)
            {
                Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, attribute, &aligned, sizeof(uint)));
            }

            CublasLt.HeuristicResult result;
            int returned = 0;
            int status = CublasLt.cublasLtMatmulAlgoGetHeuristic(lt, layouts.Desc, layouts.A, layouts.B, layouts.D, layouts.D,
                preference, 1, &result, &returned);
            if (status == (int)Cublas.Status.NotSupported || (status == 0 && returned == 0))
            {
                return null;
            }

            Check(status, nameof(CublasLt.cublasLtMatmulAlgoGetHeuristic));
            return result.Algo;
        }
        finally
        {
            if (preference != 0)
            {
                _ = CublasLt.cublasLtMatmulPreferenceDestroy(preference);
            }
        }
    }

    private static void DestroyLayout(nint layout)
    {
        if (layout != 0)
        {
            _ = CublasLt.cublasLtMatrixLayoutDestroy(layout);
        }
    }

    private void Check(int status, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(status))] string call = "") =>
        CublasException.ThrowIfFailed(status, this, call);
}
