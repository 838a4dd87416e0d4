using System.Runtime.InteropServices;

namespace BlasLinear.Tests.Support;

/// <summary>The emulator's counters for what a real GPU does not report: deferred copies, the legacy stream, devices per thread.</summary>
internal static partial class Emulator
{
    /// <summary>Asynchronous copies from pageable memory the emulator queued rather than ran at once.</summary>
    [LibraryImport(LibraryFile)]
    public static partial long blemu_deferred_copies();

    /// <summary>Calls that used the legacy default stream (cudaMemcpy, or stream 0).</summary>
    [LibraryImport(LibraryFile)]
    public static partial long blemu_legacy_stream_calls();

    /// <summary>cuBLAS handles made on a thread that had not called cudaSetDevice.</summary>
    [LibraryImport(LibraryFile)]
    public static partial long blemu_handles_without_device();

    /// <summary>The device this thread made current, or -1 when it never called cudaSetDevice.</summary>
    [LibraryImport(LibraryFile)]
    public static partial int blemu_thread_device();
}
