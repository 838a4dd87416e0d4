using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// libblaslinear_kernels.so, BlasLinear's own small-batch kernels (native/kernels/blaslinear_kernels.h).
    /// Nothing is checked on the C side: <see cref="Backends.CpuRouter"/> calls with validated arguments only.
    /// </summary>
    internal static partial class Kernels
    {
        internal const string LibraryName = "libblaslinear_kernels.so";

        [LibraryImport(LibraryName)]
        internal static partial int blk_supported();

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_abt(
            int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_ab(
            int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_atb(
            int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_transpose(
            int rows, int cols, float* src, int lds, float beta, float* dst, int ldd);
    }
}
