using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    internal static partial class Kernels
    {
        /// <summary>C[m,n] = α·A[m,k]·B[n,k]ᵀ + β·C with B bfloat16 (native/kernels/blaslinear_kernels_bf16.c).</summary>
        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_abt_bf16(
            int isa, int m, int n, int k, float alpha, float* a, int lda, ushort* b, int ldb,
            float beta, float* c, int ldc);

        /// <summary>C[m,n] = α·A[m,k]·B[k,n] + β·C with B bfloat16.</summary>
        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_ab_bf16(
            int isa, int m, int n, int k, float alpha, float* a, int lda, ushort* b, int ldb,
            float beta, float* c, int ldc);
    }
}
