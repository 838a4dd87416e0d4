using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// OpenBLAS's CBLAS interface and its thread controls. Values from OpenBLAS 0.3.21 <c>cblas.h</c>
    /// (Debian bookworm); <c>blasint</c> is 32-bit in Debian's LP64 build.
    /// </summary>
    internal static partial class OpenBlas
    {
        internal const string LibraryName = "libopenblas.so.0";

        /// <summary><c>enum CBLAS_ORDER</c>.</summary>
        internal enum CblasOrder : int
        {
            RowMajor = 101,
            ColMajor = 102,
        }

        /// <summary><c>enum CBLAS_TRANSPOSE</c>.</summary>
        internal enum CblasTranspose : int
        {
            NoTrans = 111,
            Trans = 112,
            ConjTrans = 113,
        }

        [LibraryImport(LibraryName)]
        internal static partial void cblas_sgemm(
            CblasOrder order, CblasTranspose transA, CblasTranspose transB,
            int m, int n, int k,
            float alpha, float* a, int lda,
            float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void cblas_sgemv(
            CblasOrder order, CblasTranspose trans,
            int m, int n,
            float alpha, float* a, int lda,
            float* x, int incx,
            float beta, float* y, int incy);

        [LibraryImport(LibraryName)]
        internal static partial void openblas_set_num_threads(int numThreads);

        [LibraryImport(LibraryName)]
        internal static partial int openblas_get_num_threads();

        [LibraryImport(LibraryName)]
        internal static partial int openblas_get_num_procs();

        /// <summary>0 sequential, 1 pthreads, 2 OpenMP.</summary>
        [LibraryImport(LibraryName)]
        internal static partial int openblas_get_parallel();

        /// <summary>A static string owned by the library; never freed.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* openblas_get_config();

        /// <summary>A static string owned by the library; never freed.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* openblas_get_corename();
    }
}
