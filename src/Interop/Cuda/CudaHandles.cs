using System.Runtime.InteropServices;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// What the CUDA handles share: zero is "none", and the value is adopted only after the native call that
/// created it succeeded, so a failed creation leaves nothing to free.
/// </summary>
internal abstract class CudaOwnedHandle : SafeHandle
{
    protected CudaOwnedHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint value) => SetHandle(value);
}

/// <summary>Owns one <c>cudaMalloc</c> allocation.</summary>
internal sealed class CudaDeviceMemoryHandle : CudaOwnedHandle
{
    protected override unsafe bool ReleaseHandle() => CudaRuntime.cudaFree((void*)handle) == 0;
}

/// <summary>Owns one <c>cudaHostAlloc</c> (page-locked host) allocation.</summary>
internal sealed class CudaHostMemoryHandle : CudaOwnedHandle
{
    protected override unsafe bool ReleaseHandle() => CudaRuntime.cudaFreeHost((void*)handle) == 0;
}

/// <summary>Owns one CUDA stream.</summary>
internal sealed class CudaStreamHandle : CudaOwnedHandle
{
    protected override bool ReleaseHandle() => CudaRuntime.cudaStreamDestroy(handle) == 0;
}

/// <summary>Owns one cuBLAS handle.</summary>
internal sealed class CublasHandle : CudaOwnedHandle
{
    protected override bool ReleaseHandle() => Cublas.cublasDestroy_v2(handle) == 0;
}

/// <summary>Owns one cuBLASLt handle.</summary>
internal sealed class CublasLtHandle : CudaOwnedHandle
{
    protected override bool ReleaseHandle() => CublasLt.cublasLtDestroy(handle) == 0;
}
