using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// What one call into a <see cref="CudaBackend"/> uses, leased from the backend's pool for the call: a
/// cuBLAS handle (bound to the backend's stream and math mode once, when made, so no call changes a handle
/// another uses), the staging buffers for host spans passed straight to the backend, and a vector of ones
/// for row sums and broadcasts, and, made at its first product with a bias inside, a cuBLASLt handle and its
/// workspace. The pool holds at most one per call that ever ran at the same time as others.
/// </summary>
internal sealed class CudaCallState : IDisposable
{
    /// <summary>The device workspace each state gives cuBLASLt's products: 4 MiB.</summary>
    internal const long LtWorkspaceBytes = 4L << 20;

    private readonly CudaBackend _backend;
    private readonly CublasHandle _handle = new();
    private readonly CublasLtHandle _ltHandle = new();
    private CudaDeviceMemoryHandle? _ltWorkspace;
    private CudaBuffer? _ones;

    /// <remarks>The calling thread has made the backend's device current: a handle belongs to the device current when it is made.</remarks>
    public unsafe CudaCallState(CudaBackend backend)
    {
        _backend = backend;
        Staging = new CudaStagingBuffers(backend);
        nint handle;
        CublasException.ThrowIfFailed(Cublas.cublasCreate_v2(&handle), backend);
        _handle.Adopt(handle);
        try
        {
            CublasException.ThrowIfFailed(Cublas.cublasSetStream_v2(handle, backend.Stream), backend);
            var mode = backend.MathMode == CudaMathMode.Tf32 ? Cublas.MathMode.Tf32TensorOp : Cublas.MathMode.Default;
            CublasException.ThrowIfFailed(Cublas.cublasSetMathMode(handle, mode), backend);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    public nint Handle => _handle.DangerousGetHandle();

    /// <summary>Staging for host-span operands, in the order a call stages them.</summary>
    public CudaStagingBuffers Staging { get; }

    /// <summary>A device vector of at least <paramref name="length"/> ones, uploaded through page-locked memory.</summary>
    public unsafe float* Ones(int length)
    {
        if (_ones is null || _ones.Length < length)
        {
            _ones?.Dispose();
            _ones = null;
            var ones = new CudaBuffer(_backend, [length], length, pageLockedMirror: true);
            try
            {
                ones.Fill(1f);
            }
            catch
            {
                ones.Dispose();
                throw;
            }

            _ones = ones;
        }

        return _ones.Pointer;
    }

    /// <summary>This state's cuBLASLt handle and workspace, made at the first call that asks.</summary>
    public unsafe (nint Handle, nint Workspace) Lt()
    {
        if (_ltWorkspace is null)
        {
            if (_ltHandle.IsInvalid)
            {
                nint handle;
                CublasException.ThrowIfFailed(CublasLt.cublasLtCreate(&handle), _backend);
                _ltHandle.Adopt(handle);
            }

            _ltWorkspace = _backend.AllocateDevice(LtWorkspaceBytes);
        }

        return (_ltHandle.DangerousGetHandle(), _ltWorkspace.DangerousGetHandle());
    }

    public void Dispose()
    {
        Staging.Dispose();
        _ones?.Dispose();
        _ltWorkspace?.Dispose();
        _ltHandle.Dispose();
        _handle.Dispose();
    }
}
