using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// cuBLAS (<c>libcublas.so.13</c>, <c>.12</c> or <c>.11</c>), column-major, α and β as host pointers
    /// (the default pointer mode). Values from CUDA 12.x and 13.0 <c>cublas_api.h</c>. Every function
    /// returns a <c>cublasStatus_t</c> unless stated.
    /// </summary>
    internal static partial class Cublas
    {
        internal const string LibraryName = "libcublas";

        /// <summary><c>cublasOperation_t</c>.</summary>
        internal enum Operation : int
        {
            N = 0,
            T = 1,
            C = 2,
        }

        /// <summary><c>cublasMath_t</c>.</summary>
        internal enum MathMode : int
        {
            Default = 0,
            Pedantic = 2,
            Tf32TensorOp = 3,
        }

        /// <summary><c>cublasStatus_t</c>.</summary>
        internal enum Status : int
        {
            Success = 0,
            NotInitialized = 1,
            AllocFailed = 3,
            InvalidValue = 7,
            ArchMismatch = 8,
            MappingError = 11,
            ExecutionFailed = 13,
            InternalError = 14,
            NotSupported = 15,
            LicenseError = 16,
        }

        [LibraryImport(LibraryName)]
        internal static partial int cublasCreate_v2(nint* handle);

        [LibraryImport(LibraryName)]
        internal static partial int cublasDestroy_v2(nint handle);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSetStream_v2(nint handle, nint stream);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSetMathMode(nint handle, MathMode mode);

        [LibraryImport(LibraryName)]
        internal static partial int cublasGetMathMode(nint handle, MathMode* mode);

        [LibraryImport(LibraryName)]
        internal static partial int cublasGetVersion_v2(nint handle, int* version);

        /// <summary>A static string; never freed. Not exported by every 11.x release: check before binding.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* cublasGetStatusName(int status);

        /// <summary>A static string; never freed. Not exported by every 11.x release: check before binding.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* cublasGetStatusString(int status);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSgemm_v2(
            nint handle, Operation transa, Operation transb, int m, int n, int k,
            float* alpha, float* a, int lda, float* b, int ldb, float* beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSgemv_v2(
            nint handle, Operation trans, int m, int n,
            float* alpha, float* a, int lda, float* x, int incx, float* beta, float* y, int incy);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSscal_v2(nint handle, int n, float* alpha, float* x, int incx);

        [LibraryImport(LibraryName)]
        internal static partial int cublasSgemmStridedBatched(
            nint handle, Operation transa, Operation transb, int m, int n, int k,
            float* alpha, float* a, int lda, long strideA, float* b, int ldb, long strideB,
            float* beta, float* c, int ldc, long strideC, int batchCount);
    }
}
