using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>glibc (2.34 and later export <c>dladdr</c> from libc itself).</summary>
    internal static partial class Libc
    {
        internal const string LibraryName = "libc.so.6";

        /// <summary><c>Dl_info</c> from <c>dlfcn.h</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct DlInfo
        {
            public byte* dli_fname;
            public nint dli_fbase;
            public byte* dli_sname;
            public nint dli_saddr;
        }

        /// <summary>Returns non-zero on success.</summary>
        [LibraryImport(LibraryName)]
        internal static partial int dladdr(nint address, DlInfo* info);
    }
}
