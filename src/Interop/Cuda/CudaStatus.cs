using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>What a CUDA or cuBLAS status means: its name, its text and whether it loses the context.</summary>
internal static class CudaStatus
{
    /// <summary>Appended to the message of a sticky error.</summary>
    public const string StickyAdvice = " The CUDA context is lost: restart the process to use the GPU again.";

    /// <summary>cublasGetStatusName and cublasGetStatusString are missing from some 11.x releases.</summary>
    private static readonly Lazy<bool> s_hasCublasNames = new(() =>
        NativeLibraries.Cublas.IsLoaded
        && NativeLibrary.TryGetExport(NativeLibraries.Cublas.Handle, "cublasGetStatusName", out _)
        && NativeLibrary.TryGetExport(NativeLibraries.Cublas.Handle, "cublasGetStatusString", out _));

    /// <summary>
    /// The errors after which the CUDA context is unusable (driver_types.h: 700 illegal address, 702 launch
    /// timeout, 710 assert, 714–719 hardware stack error to launch failure).
    /// </summary>
    public static bool IsSticky(int status) => status is 700 or 702 or 710 or (>= 714 and <= 719);

    /// <summary>The function name of a call expression, for messages.</summary>
    public static string Shorten(string call)
    {
        int open = call.IndexOf('(', StringComparison.Ordinal);
        string name = open < 0 ? call : call[..open];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    public static unsafe string ErrorName(int status) =>
        Marshal.PtrToStringUTF8((nint)CudaRuntime.cudaGetErrorName(status)) ?? $"cudaError {status}";

    public static unsafe string ErrorText(int status) =>
        Marshal.PtrToStringUTF8((nint)CudaRuntime.cudaGetErrorString(status)) ?? "unknown error";

    public static unsafe string CublasName(int status) => s_hasCublasNames.Value
        ? Marshal.PtrToStringUTF8((nint)Cublas.cublasGetStatusName(status)) ?? status.ToString(CultureInfo.InvariantCulture)
        : Enum.IsDefined((Cublas.Status)status) ? $"CUBLAS_STATUS_{(Cublas.Status)status}" : $"cublasStatus {status}";

    public static unsafe string CublasText(int status) => s_hasCublasNames.Value
        ? Marshal.PtrToStringUTF8((nint)Cublas.cublasGetStatusString(status)) ?? "unknown status"
        : "this cuBLAS has no status text";
}
