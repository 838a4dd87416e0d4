using System.Runtime.InteropServices;
using static BlasLinear.Interop.Native.Interop;

namespace BlasLinear.Interop;

/// <summary>Owns one <c>cudaMalloc</c> allocation.</summary>
internal sealed class CudaDeviceMemoryHandle : SafeHandle
{
    public CudaDeviceMemoryHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint pointer) => SetHandle(pointer);

    protected override unsafe bool ReleaseHandle() => CudaRuntime.cudaFree((void*)handle) == 0;
}

/// <summary>Owns one <c>cudaHostAlloc</c> (page-locked host) allocation.</summary>
internal sealed class CudaHostMemoryHandle : SafeHandle
{
    public CudaHostMemoryHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint pointer) => SetHandle(pointer);

    protected override unsafe bool ReleaseHandle() => CudaRuntime.cudaFreeHost((void*)handle) == 0;
}

/// <summary>Owns one CUDA stream.</summary>
internal sealed class CudaStreamHandle : SafeHandle
{
    public CudaStreamHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint stream) => SetHandle(stream);

    protected override bool ReleaseHandle() => CudaRuntime.cudaStreamDestroy(handle) == 0;
}

/// <summary>Owns one cuBLAS handle.</summary>
internal sealed class CublasHandle : SafeHandle
{
    public CublasHandle()
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    internal void Adopt(nint cublas) => SetHandle(cublas);

    protected override bool ReleaseHandle() => Cublas.cublasDestroy_v2(handle) == 0;
}
