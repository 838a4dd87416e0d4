using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// cuBLASLt (<c>libcublasLt.so.N</c>, or the emulator's cuBLAS, which exports these calls too): the product
    /// with the bias added inside it. Values from <c>cublasLt.h</c> and <c>cublas_api.h</c> (CUDA 11.4 to 13).
    /// Every function returns a <c>cublasStatus_t</c>; α and β are host pointers.
    /// </summary>
    internal static partial class CublasLt
    {
        internal const string LibraryName = "libcublasLt";

        /// <summary><c>cublasComputeType_t</c>.</summary>
        internal const int Compute32F = 68, Compute32FFastTf32 = 77;

        /// <summary><c>cudaDataType_t</c> CUDA_R_32F.</summary>
        internal const int R32F = 0;

        /// <summary><c>cublasLtMatmulDescAttributes_t</c>.</summary>
        internal const int DescTransA = 3, DescTransB = 4, DescEpilogue = 7, DescBiasPointer = 8;

        /// <summary><c>cublasLtEpilogue_t</c> CUBLASLT_EPILOGUE_BIAS: D[i, j] += bias[i] (D's rows).</summary>
        internal const uint EpilogueBias = 4;

        /// <summary><c>cublasLtMatmulPreferenceAttributes_t</c> CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64).</summary>
        internal const int PrefMaxWorkspaceBytes = 1;

        /// <summary>CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES to _D_BYTES (uint32): the operands' alignment.</summary>
        internal static readonly int[] PrefMinAlignments = [5, 6, 7, 8];

        /// <summary><c>cublasLtMatmulAlgo_t</c>: 8 opaque words.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Algo
        {
            public ulong D0, D1, D2, D3, D4, D5, D6, D7;
        }

        /// <summary><c>cublasLtMatmulHeuristicResult_t</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct HeuristicResult
        {
            public Algo Algo;
            public nuint WorkspaceSize;
            public int State;
            public float WavesCount;
            public int Reserved0, Reserved1, Reserved2, Reserved3;
        }

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtCreate(nint* handle);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtDestroy(nint handle);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulDescCreate(nint* desc, int computeType, int scaleType);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulDescDestroy(nint desc);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulDescSetAttribute(nint desc, int attribute, void* value, nuint size);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatrixLayoutCreate(nint* layout, int type, ulong rows, ulong cols, long ld);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatrixLayoutDestroy(nint layout);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulPreferenceCreate(nint* preference);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulPreferenceDestroy(nint preference);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulPreferenceSetAttribute(nint preference, int attribute, void* value, nuint size);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmulAlgoGetHeuristic(
            nint handle, nint desc, nint a, nint b, nint c, nint d, nint preference,
            int requested, HeuristicResult* results, int* returned);

        [LibraryImport(LibraryName)]
        internal static partial int cublasLtMatmul(
            nint handle, nint desc, float* alpha, float* a, nint aLayout, float* b, nint bLayout,
            float* beta, float* c, nint cLayout, float* d, nint dLayout, Algo* algo,
            void* workspace, nuint workspaceSize, nint stream);
    }
}
