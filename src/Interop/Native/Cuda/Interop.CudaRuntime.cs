using System.Runtime.InteropServices;

namespace BlasLinear.Native;

internal static unsafe partial class Interop
{
    /// <summary>
    /// The CUDA runtime (<c>libcudart.so.13</c>, <c>.12</c> or <c>.11.0</c>). Values from CUDA 12.x and 13.0
    /// <c>cuda_runtime_api.h</c> and <c>driver_types.h</c>, which agree on everything here. Every function
    /// returns a <c>cudaError_t</c> unless stated.
    /// </summary>
    internal static partial class CudaRuntime
    {
        internal const string LibraryName = "libcudart";

        /// <summary><c>cudaMemcpyKind</c>.</summary>
        internal enum MemcpyKind : int
        {
            HostToHost = 0,
            HostToDevice = 1,
            DeviceToHost = 2,
            DeviceToDevice = 3,
            Default = 4,
        }

        /// <summary>The <c>cudaError_t</c> values BlasLinear acts on.</summary>
        internal enum Error : int
        {
            Success = 0,
            InvalidValue = 1,
            MemoryAllocation = 2,
            InitializationError = 3,
            InsufficientDriver = 35,
            NoDevice = 100,
            InvalidDevice = 101,
            IllegalAddress = 700,
            LaunchFailure = 719,
            SystemDriverMismatch = 803,
        }

        /// <summary><c>cudaDeviceAttr</c> values used in the device description.</summary>
        internal enum DeviceAttribute : int
        {
            MultiProcessorCount = 16,
            ComputeCapabilityMajor = 75,
            ComputeCapabilityMinor = 76,
        }

        internal const uint StreamNonBlocking = 1;
        internal const uint HostAllocDefault = 0;

        [LibraryImport(LibraryName)]
        internal static partial int cudaGetDeviceCount(int* count);

        [LibraryImport(LibraryName)]
        internal static partial int cudaSetDevice(int device);

        [LibraryImport(LibraryName)]
        internal static partial int cudaGetDevice(int* device);

        [LibraryImport(LibraryName)]
        internal static partial int cudaMalloc(void** devPtr, nuint size);

        [LibraryImport(LibraryName)]
        internal static partial int cudaFree(void* devPtr);

        [LibraryImport(LibraryName)]
        internal static partial int cudaMemcpyAsync(void* dst, void* src, nuint count, MemcpyKind kind, nint stream);

        [LibraryImport(LibraryName)]
        internal static partial int cudaMemsetAsync(void* devPtr, int value, nuint count, nint stream);

        [LibraryImport(LibraryName)]
        internal static partial int cudaHostAlloc(void** pHost, nuint size, uint flags);

        [LibraryImport(LibraryName)]
        internal static partial int cudaFreeHost(void* ptr);

        [LibraryImport(LibraryName)]
        internal static partial int cudaStreamCreateWithFlags(nint* stream, uint flags);

        [LibraryImport(LibraryName)]
        internal static partial int cudaStreamSynchronize(nint stream);

        [LibraryImport(LibraryName)]
        internal static partial int cudaStreamDestroy(nint stream);

        [LibraryImport(LibraryName)]
        internal static partial int cudaDeviceSynchronize();

        [LibraryImport(LibraryName)]
        internal static partial int cudaGetLastError();

        [LibraryImport(LibraryName)]
        internal static partial int cudaMemGetInfo(nuint* free, nuint* total);

        [LibraryImport(LibraryName)]
        internal static partial int cudaRuntimeGetVersion(int* version);

        [LibraryImport(LibraryName)]
        internal static partial int cudaDriverGetVersion(int* version);

        [LibraryImport(LibraryName)]
        internal static partial int cudaDeviceGetAttribute(int* value, DeviceAttribute attr, int device);

        /// <summary>A static string; never freed.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* cudaGetErrorName(int error);

        /// <summary>A static string; never freed.</summary>
        [LibraryImport(LibraryName)]
        internal static partial byte* cudaGetErrorString(int error);
    }
}
