using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    internal static partial class Kernels
    {
        /// <summary>Columns per panel of a bfloat16 weight (<c>BLK_BF16_PANEL</c>).</summary>
        internal const int BFloat16Panel = 16;

        /// <summary>
        /// C[m,n] = α·A[m,k]·op(W) + β·C with op(W) [k, n] bfloat16 in panels of <see cref="BFloat16Panel"/>
        /// columns (native/kernels/blaslinear_kernels.h; Backends.BFloat16Panels packs them).
        /// </summary>
        [LibraryImport(LibraryName)]
        internal static partial void blk_sgemm_bf16_panels(
            int isa, int m, int n, int k, float alpha, float* a, int lda, ushort* panels, float beta, float* c, int ldc);
    }
}
