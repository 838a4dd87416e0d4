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

        /// <summary>BLK_ISA_NONE: the kernels cannot run on this CPU.</summary>
        internal const int IsaNone = 0;

        /// <summary>BLK_ISA_AVX2: AVX2 and FMA.</summary>
        internal const int IsaAvx2 = 1;

        /// <summary>BLK_ISA_AVX512: AVX-512 F/VL/BW/DQ and FMA.</summary>
        internal const int IsaAvx512 = 2;

        /// <summary>The widest instruction set this CPU runs the kernels with (one of the Isa constants).</summary>
        [LibraryImport(LibraryName)]
        internal static partial int blk_cpu_isa();

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_abt(
            int isa, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_ab(
            int isa, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_atb(
            int isa, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
            float beta, float* c, int ldc);

        [LibraryImport(LibraryName)]
        internal static partial void blk_transpose(
            int isa, int rows, int cols, float* src, int lds, float beta, float* dst, int ldd);
    }
}
