using System.Globalization;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>Finding a usable device, and describing it.</summary>
public sealed partial class CudaBackend
{
    /// <summary>
    /// Creates a CUDA backend on device 0, or explains why there is none. The math mode defaults to
    /// <c>BLASLINEAR_CUDA_MATH</c> (<c>default</c> or <c>tf32</c>) when not given.
    /// </summary>
    /// <exception cref="BackendUnavailableException">No CUDA runtime, cuBLAS or device can be used.</exception>
    public static CudaBackend Create(CudaMathMode? mathMode = null) =>
        TryCreate(allowEmulator: true, mathMode, "cuda asked for", out string reason)
        ?? throw new BackendUnavailableException(BackendKind.Cuda, reason);

    /// <inheritdoc/>
    public override unsafe BackendDescription Describe()
    {
        ThrowIfDisposed();
        using Call call = EnterWithState();
        int runtime = 0, driver = 0, major = 0, minor = 0, sms = 0, cublasVersion = 0;
        nuint free = 0, total = 0;
        CudaException.ThrowIfFailed(CudaRuntime.cudaRuntimeGetVersion(&runtime), this);
        CudaException.ThrowIfFailed(CudaRuntime.cudaDriverGetVersion(&driver), this);
        CudaException.ThrowIfFailed(CudaRuntime.cudaDeviceGetAttribute(&major, CudaRuntime.DeviceAttribute.ComputeCapabilityMajor, 0), this);
        CudaException.ThrowIfFailed(CudaRuntime.cudaDeviceGetAttribute(&minor, CudaRuntime.DeviceAttribute.ComputeCapabilityMinor, 0), this);
        CudaException.ThrowIfFailed(CudaRuntime.cudaDeviceGetAttribute(&sms, CudaRuntime.DeviceAttribute.MultiProcessorCount, 0), this);
        CudaException.ThrowIfFailed(CudaRuntime.cudaMemGetInfo(&free, &total), this);
        CublasException.ThrowIfFailed(Cublas.cublasGetVersion_v2(call.State.Handle, &cublasVersion), this);
        return new BackendDescription(Kind,
        [
            new("backend", IsEmulator ? "CUDA (BlasLinear's CUDA emulator, computing on the host)" : "CUDA (cuBLAS)"),
            new("device", $"0: {DeviceName()}, compute capability {major}.{minor}, {sms} multiprocessors"),
            new("memory", $"{(ulong)total / (1024.0 * 1024 * 1024):0.0} GiB total, {(ulong)free / (1024.0 * 1024 * 1024):0.0} GiB free"),
            new("runtime", Version(runtime)),
            new("driver", Version(driver)),
            new("cuBLAS", cublasVersion.ToString(CultureInfo.InvariantCulture)),
            new("runtime library", NativeLibraries.CudaRuntime.ResolvedPath ?? "?"),
            new("cuBLAS library", NativeLibraries.Cublas.ResolvedPath ?? "?"),
            new("cuBLASLt library", CudaLibrarySet.Chosen.LtPath ?? "not preloaded (none beside cuBLAS)"),
            new("library set", CudaLibrarySet.Chosen.Describe()),
            new("math mode", MathMode == CudaMathMode.Tf32 ? "TF32 tensor ops (opt-in)" : "default (full float32)"),
            new("concurrency", "one stream per backend; cuBLAS handles pooled, one per concurrent call"),
            new("bias", DescribeBiasProduct()),
            new("selection", _selection),
        ]);
    }

    internal static CudaBackend? TryCreate(bool allowEmulator, CudaMathMode? mathMode, string selection, out string reason)
    {
        LoadedLibrary runtime = NativeLibraries.CudaRuntime;
        if (!runtime.IsLoaded)
        {
            reason = "no CUDA runtime. " + runtime.DescribeFailure();
            return null;
        }

        bool isEmulator = NativeLibrary.TryGetExport(runtime.Handle, "blemu_reset", out _);
        if (isEmulator && !allowEmulator)
        {
            reason = $"{runtime.ResolvedPath} is BlasLinear's CUDA emulator, which is used only when CUDA is asked for explicitly";
            return null;
        }

        int count = 0;
        int status;
        unsafe
        {
            status = CudaRuntime.cudaGetDeviceCount(&count);
        }

        if (status != 0)
        {
            reason = $"cudaGetDeviceCount returned {CudaStatus.ErrorName(status)} ({status}): {DeviceCountMeaning(status)}";
            return null;
        }

        if (count == 0)
        {
            reason = "cudaGetDeviceCount found 0 devices";
            return null;
        }

        LoadedLibrary cublas = NativeLibraries.Cublas;
        if (!cublas.IsLoaded)
        {
            reason = "no cuBLAS. " + cublas.DescribeFailure();
            return null;
        }

        CudaMathMode mode = mathMode ?? MathModeFromEnvironment();
        try
        {
            reason = string.Empty;
            return new CudaBackend(mode, selection, isEmulator);
        }
        catch (CudaException e)
        {
            reason = e.Message;
            return null;
        }
    }

    /// <summary>Reads <c>BLASLINEAR_CUDA_MATH</c>: <c>default</c> (also when unset) or <c>tf32</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable holds another value.</exception>
    internal static CudaMathMode MathModeFromEnvironment() => Settings.Read(Settings.CudaMath, s_mathModes);

    /// <summary>The values of <c>BLASLINEAR_CUDA_MATH</c>; the first is the default.</summary>
    private static readonly (string, CudaMathMode)[] s_mathModes = [("default", CudaMathMode.Default), ("tf32", CudaMathMode.Tf32)];

    /// <summary>What a failed <c>cudaGetDeviceCount</c> says about the machine.</summary>
    internal static string DeviceCountMeaning(int status) => (CudaRuntime.Error)status switch
    {
        CudaRuntime.Error.NoDevice => "no CUDA-capable device",
        CudaRuntime.Error.InsufficientDriver => "the driver is older than the runtime",
        CudaRuntime.Error.SystemDriverMismatch => "the driver does not match the kernel module",
        CudaRuntime.Error.InitializationError => "the driver could not initialise",
        _ => "CUDA cannot be used",
    };

    private static string Version(int version) =>
        $"{version / 1000}.{version % 1000 / 10} ({version.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>The device name: the first field of <c>cudaDeviceProp</c>, whose size varies by version.</summary>
    private unsafe string DeviceName()
    {
        foreach (string export in new[] { "cudaGetDeviceProperties_v2", "cudaGetDeviceProperties" })
        {
            if (!NativeLibrary.TryGetExport(NativeLibraries.CudaRuntime.Handle, export, out nint address))
            {
                continue;
            }

            // Far larger than any version's struct; only the leading char name[256] is read.
            const int PropertiesBytes = 16 * 1024;
            byte* properties = (byte*)NativeMemory.AllocZeroed(PropertiesBytes);
            try
            {
                var getProperties = (delegate* unmanaged<byte*, int, int>)address;
                CudaException.ThrowIfFailed(getProperties(properties, 0), this, export);
                return Marshal.PtrToStringUTF8((nint)properties, new ReadOnlySpan<byte>(properties, 256).IndexOf((byte)0) is int end and >= 0 ? end : 256);
            }
            finally
            {
                NativeMemory.Free(properties);
            }
        }

        return "?";
    }
}
