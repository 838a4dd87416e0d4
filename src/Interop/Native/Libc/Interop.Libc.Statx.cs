using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>AT_FDCWD</c> from <c>fcntl.h</c>: a relative path is taken from the working directory.</summary>
        internal const int AtFdCwd = -100;

        /// <summary><c>STATX_TYPE | STATX_MODE | STATX_INO</c> from <c>linux/stat.h</c>.</summary>
        internal const uint StatxTypeModeIno = 0x001 | 0x002 | 0x100;

        /// <summary>The file-type bits of <c>stx_mode</c> (<c>S_IFMT</c>) and their values, from <c>sys/stat.h</c>.</summary>
        internal const int SIfMt = 0xF000;
        internal const int SIfReg = 0x8000;
        internal const int SIfDir = 0x4000;
        internal const int SIfChr = 0x2000;
        internal const int SIfBlk = 0x6000;
        internal const int SIfIfo = 0x1000;
        internal const int SIfSock = 0xC000;

        /// <summary>
        /// <c>struct statx</c> from <c>linux/stat.h</c> (Linux 4.11): the same 256 bytes on every architecture,
        /// unlike <c>struct stat</c>. Only the fields read here are declared.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        internal struct Statx
        {
            [FieldOffset(28)]
            public ushort stx_mode;

            [FieldOffset(32)]
            public ulong stx_ino;

            [FieldOffset(136)]
            public uint stx_dev_major;

            [FieldOffset(140)]
            public uint stx_dev_minor;
        }

        /// <summary>glibc 2.28 and later; returns 0, or -1 with errno set. Never opens the file, so a FIFO cannot block it.</summary>
        [LibraryImport(LibraryName, SetLastError = true)]
        internal static partial int statx(int dirfd, byte* pathname, int flags, uint mask, Statx* statxbuf);
    }
}
