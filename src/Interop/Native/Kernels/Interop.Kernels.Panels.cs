using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    internal static partial class Kernels
    {
        /// <summary>Columns per panel of a prepared weight (<c>BLK_PANEL</c>).</summary>
        internal const int Panel = 16;

        /// <summary>
        /// C[m,n] = α·A[m,k]·op(W) + β·C + bias (n floats added to every row; null for none) with op(W) [k, n]
        /// float32 in panels of <see cref="Panel"/> columns (native/kernels/blaslinear_kernels.h;
        /// Backends.WeightPanels packs them).
        /// </summary>
        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_panels(
            int isa, int m, int n, int k, float alpha, float* a, int lda, float* panels, float beta, float* bias, float* c, int ldc);

        /// <summary>As <see cref="blk_sgemm_panels"/> with the panels bfloat16.</summary>
        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_bf16_panels(
            int isa, int m, int n, int k, float alpha, float* a, int lda, ushort* panels, float beta, float* bias, float* c, int ldc);
    }
}
