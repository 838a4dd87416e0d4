using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// The two calls of oneDNN's C API (<c>oneapi/dnnl/dnnl.h</c>, 2.x and 3.x) that BlasLinear uses, and
    /// what it reports about the build. <c>dnnl_dim_t</c> is int64.
    /// </summary>
    internal static partial class OneDnn
    {
        internal const string LibraryName = "libdnnl";

        /// <summary><c>dnnl_status_t</c>: 0 is success.</summary>
        internal const int Success = 0;

        /// <summary><c>DNNL_RUNTIME_OMP</c>: the build runs its threads on OpenMP.</summary>
        internal const uint RuntimeOmp = 2;

        /// <summary><c>dnnl_version_t</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct DnnlVersion
        {
            public int Major;
            public int Minor;
            public int Patch;
            public byte* Hash;
            public uint CpuRuntime;
            public uint GpuRuntime;
        }

        /// <summary>Row-major C = α·op(A)·op(B) + β·C; trans is 'N' or 'T'.</summary>
        [LibraryImport(LibraryName)]
        internal static partial int dnnl_sgemm(
            byte transA, byte transB, long m, long n, long k,
            float alpha, float* a, long lda, float* b, long ldb,
            float beta, float* c, long ldc);

        /// <summary>A static struct owned by the library; never freed.</summary>
        [LibraryImport(LibraryName)]
        internal static partial DnnlVersion* dnnl_version();

        /// <summary><c>dnnl_cpu_isa_t</c> of the kernels oneDNN dispatches to on this CPU.</summary>
        [LibraryImport(LibraryName)]
        internal static partial int dnnl_get_effective_cpu_isa();
    }
}
