using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BlasLinear.Native;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// cuBLAS on an NVIDIA GPU. Buffers live in device memory; host spans passed to the backend's methods are
/// staged through per-thread device buffers; layers stage once per call through a <see cref="HostStaging"/>.
/// </summary>
/// <remarks>
/// <para>All work runs on one non-blocking stream per backend, in order. Each calling thread gets its own
/// cuBLAS handle bound to that stream and to the math mode, both set once when the handle is made, so no
/// thread ever changes a handle another thread uses.</para>
/// <para>Errors become <see cref="CudaException"/> or <see cref="CublasException"/> carrying the call, the
/// status name and the library's text; device out-of-memory is a <see cref="CudaOutOfMemoryException"/>
/// and leaves the backend usable. After a sticky error (an illegal address, a launch failure) the CUDA
/// context is lost: every later call fails at once with a message that says to restart the process.</para>
/// </remarks>
public sealed class CudaBackend : BlasBackend
{
    private const string StickyAdvice = " The CUDA context is lost: restart the process to use the GPU again.";
    private readonly CudaStreamHandle _stream;
    private readonly ThreadLocal<ThreadState?> _threads = new(trackAllValues: true);
    private readonly string _selection;
    private readonly bool _hasStatusNames;
    private volatile string? _lostReason;

    private CudaBackend(CudaMathMode mathMode, string selection, bool isEmulator)
    {
        MathMode = mathMode;
        _selection = selection;
        IsEmulator = isEmulator;
        _hasStatusNames = NativeLibrary.TryGetExport(NativeLibraries.Cublas.Handle, "cublasGetStatusName", out _)
            && NativeLibrary.TryGetExport(NativeLibraries.Cublas.Handle, "cublasGetStatusString", out _);
        Check(CudaRuntime.cudaSetDevice(0));
        _stream = new CudaStreamHandle();
        nint stream;
        unsafe
        {
            Check(CudaRuntime.cudaStreamCreateWithFlags(&stream, CudaRuntime.StreamNonBlocking));
        }

        _stream.Adopt(stream);
    }

    /// <inheritdoc/>
    public override BackendKind Kind => BackendKind.Cuda;

    /// <summary>The cuBLAS math mode of every handle this backend makes.</summary>
    public CudaMathMode MathMode { get; }

    /// <summary>True when the loaded libraries are BlasLinear's CUDA emulator rather than NVIDIA's.</summary>
    public bool IsEmulator { get; }

    internal nint Stream => _stream.DangerousGetHandle();

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
        int runtime = 0, driver = 0, major = 0, minor = 0, sms = 0, cublasVersion = 0;
        nuint free = 0, total = 0;
        Check(CudaRuntime.cudaRuntimeGetVersion(&runtime));
        Check(CudaRuntime.cudaDriverGetVersion(&driver));
        Check(CudaRuntime.cudaDeviceGetAttribute(&major, CudaRuntime.DeviceAttribute.ComputeCapabilityMajor, 0));
        Check(CudaRuntime.cudaDeviceGetAttribute(&minor, CudaRuntime.DeviceAttribute.ComputeCapabilityMinor, 0));
        Check(CudaRuntime.cudaDeviceGetAttribute(&sms, CudaRuntime.DeviceAttribute.MultiProcessorCount, 0));
        Check(CudaRuntime.cudaMemGetInfo(&free, &total));
        CheckCublas(Cublas.cublasGetVersion_v2(State().Handle, &cublasVersion));
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
            new("math mode", MathMode == CudaMathMode.Tf32 ? "TF32 tensor ops (opt-in)" : "default (full float32)"),
            new("concurrency", "one stream per backend; one cuBLAS handle per calling thread"),
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
            string meaning = (CudaRuntime.Error)status switch
            {
                CudaRuntime.Error.NoDevice => "no CUDA-capable device",
                CudaRuntime.Error.InsufficientDriver => "the driver is older than the runtime",
                CudaRuntime.Error.SystemDriverMismatch => "the driver does not match the kernel module",
                CudaRuntime.Error.InitializationError => "the driver could not initialise",
                _ => "CUDA cannot be used",
            };
            reason = $"cudaGetDeviceCount returned {ErrorName(status)} ({status}): {meaning}";
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
    internal static CudaMathMode MathModeFromEnvironment() =>
        Environment.GetEnvironmentVariable("BLASLINEAR_CUDA_MATH")?.Trim().ToUpperInvariant() switch
        {
            null or "" or "DEFAULT" => CudaMathMode.Default,
            "TF32" => CudaMathMode.Tf32,
            string other => throw new InvalidOperationException($"BLASLINEAR_CUDA_MATH='{other}' is not one of default, tf32."),
        };

    /// <summary>Throws a typed exception for a failed runtime call; a sticky error marks the backend lost.</summary>
    internal void Check(int status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != 0)
        {
            ThrowCuda(status, call);
        }
    }

    internal unsafe CudaDeviceMemoryHandle AllocateDevice(long bytes)
    {
        var owner = new CudaDeviceMemoryHandle();
        void* pointer = null;
        int status = CudaRuntime.cudaMalloc(&pointer, (nuint)bytes);
        if (status == (int)CudaRuntime.Error.MemoryAllocation)
        {
            // Out of memory is not sticky; clear it so that it is not reported by a later call.
            _ = CudaRuntime.cudaGetLastError();
            nuint free = 0, total = 0;
            bool known = CudaRuntime.cudaMemGetInfo(&free, &total) == 0;
            throw new CudaOutOfMemoryException(
                $"cudaMalloc of {bytes} bytes failed: device out of memory ({(known ? $"{free} of {total} bytes free" : "free memory unknown")}).",
                bytes, known ? (long)free : -1, known ? (long)total : -1);
        }

        Check(status, nameof(CudaRuntime.cudaMalloc));
        owner.Adopt((nint)pointer);
        return owner;
    }

    internal unsafe CudaHostMemoryHandle AllocatePageLocked(long bytes)
    {
        var owner = new CudaHostMemoryHandle();
        void* pointer = null;
        int status = CudaRuntime.cudaHostAlloc(&pointer, (nuint)bytes, CudaRuntime.HostAllocDefault);
        if (status == (int)CudaRuntime.Error.MemoryAllocation)
        {
            _ = CudaRuntime.cudaGetLastError();
            throw new CudaOutOfMemoryException(
                $"cudaHostAlloc of {bytes} bytes of page-locked host memory failed: out of memory.", bytes, -1, -1);
        }

        Check(status, nameof(CudaRuntime.cudaHostAlloc));
        owner.Adopt((nint)pointer);
        return owner;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ = CudaRuntime.cudaStreamSynchronize(Stream);
            foreach (ThreadState? state in _threads.Values)
            {
                state?.Dispose();
            }

            _threads.Dispose();
            _stream.Dispose();
        }

        base.Dispose(disposing);
    }

    private protected override void ThrowIfUnusable()
    {
        if (_lostReason is string reason)
        {
            throw new CudaException($"The CUDA backend is unusable since {reason}.{StickyAdvice}");
        }
    }

    private protected override HostStaging CreateHostStagingCore() => new CudaHostStaging(this);

    private protected override BlasBuffer AllocateCore(int[] shape, long length) => new CudaBuffer(this, shape, length, pageLockedMirror: false);


    private protected override void SynchronizeCore() => Check(CudaRuntime.cudaStreamSynchronize(Stream));

    private protected override unsafe void GemmCore(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, Operand a, int lda, Operand b, int ldb, float beta, Operand c, int ldc)
    {
        ThreadState state = State();
        bool ta = transA == Transpose.Trans, tb = transB == Transpose.Trans;
        long cLength = BlasArguments.Needed(m, n, ldc);
        float* pa = StageIn(state, 0, a, BlasArguments.Needed(ta ? k : m, ta ? m : k, lda));
        float* pb = StageIn(state, 1, b, BlasArguments.Needed(tb ? n : k, tb ? k : n, ldb));
        // A staged C is copied back whole, padding included, so it must go up whole when it has padding.
        float* pc = StageOut(state, 2, c, cLength, preload: beta != 0 || ldc > n);
        SgemmRowMajor(state, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        FinishOut(state, 2, c, cLength);
    }

    private protected override unsafe void GemvCore(
        Transpose trans, int m, int n, float alpha, Operand a, int lda, Operand x, float beta, Operand y)
    {
        ThreadState state = State();
        int xLength = trans == Transpose.Trans ? m : n, yLength = trans == Transpose.Trans ? n : m;
        float* pa = StageIn(state, 0, a, BlasArguments.Needed(m, n, lda));
        float* px = StageIn(state, 1, x, xLength);
        float* py = StageOut(state, 2, y, yLength, preload: beta != 0);
        SgemvRowMajor(state, trans, m, n, alpha, pa, lda, px, beta, py);
        FinishOut(state, 2, y, yLength);
    }

    private protected override unsafe void ScaleCore(Operand c, int rows, int cols, int ld, float beta)
    {
        ThreadState state = State();
        long length = BlasArguments.Needed(rows, cols, ld);
        float* pc = StageOut(state, 2, c, length, preload: true);
        if (beta == 0)
        {
            // Zero bytes are 0.0f; a memset never reads, so NaN and Inf in C do not survive.
            if (ld == cols)
            {
                Check(CudaRuntime.cudaMemsetAsync(pc, 0, (nuint)(length * sizeof(float)), Stream));
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    Check(CudaRuntime.cudaMemsetAsync(pc + (long)r * ld, 0, (nuint)cols * sizeof(float), Stream));
                }
            }
        }
        else if (ld == cols && length <= int.MaxValue)
        {
            Sscal(state, (int)length, beta, pc);
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                Sscal(state, cols, beta, pc + (long)r * ld);
            }
        }

        FinishOut(state, 2, c, length);
    }

    private protected override unsafe void BroadcastRowsCore(Operand row, Operand destination, int rows, int cols)
    {
        ThreadState state = State();
        long length = (long)rows * cols;
        float* pr = StageIn(state, 0, row, cols);
        float* pd = StageOut(state, 2, destination, length, preload: false);
        // The rank-1 product ones[rows×1]·row[1×cols] writes the row into every row of the destination.
        SgemmRowMajor(state, Transpose.NoTrans, Transpose.NoTrans, rows, cols, 1, 1f, state.Ones(this, rows), 1, pr, cols, 0f, pd, cols);
        FinishOut(state, 2, destination, length);
    }

    private protected override unsafe void AddRowSumsCore(Operand source, int rows, int cols, Operand destination)
    {
        ThreadState state = State();
        float* ps = StageIn(state, 0, source, (long)rows * cols);
        float* pd = StageOut(state, 2, destination, cols, preload: true);
        // Σ over rows is sourceᵀ·ones.
        SgemvRowMajor(state, Transpose.Trans, rows, cols, 1f, ps, cols, state.Ones(this, rows), 1f, pd);
        FinishOut(state, 2, destination, cols);
    }

    /// <summary>
    /// The one translation from row-major to cuBLAS's column-major. A row-major R×C matrix is the
    /// column-major C×R matrix with the same leading dimension, so row-major C = op(A)·op(B) is computed
    /// as column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, swap m and n, keep each operand's own flag.
    /// Row-major y = op(A)·x with A m×n is column-major y = op'(A')·x with A' = Aᵀ (n×m, same lda) and
    /// the flag flipped.
    /// </summary>
    private unsafe void SgemmRowMajor(
        ThreadState state, Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        CheckCublas(Cublas.cublasSgemm_v2(state.Handle, transB.ToCublas(), transA.ToCublas(), n, m, k,
            &alpha, b, ldb, a, lda, &beta, c, ldc));

    private unsafe void SgemvRowMajor(
        ThreadState state, Transpose trans, int m, int n, float alpha, float* a, int lda, float* x, float beta, float* y) =>
        CheckCublas(Cublas.cublasSgemv_v2(state.Handle, trans.Flipped().ToCublas(), n, m,
            &alpha, a, lda, x, 1, &beta, y, 1));

    private unsafe void Sscal(ThreadState state, int n, float alpha, float* x) =>
        CheckCublas(Cublas.cublasSscal_v2(state.Handle, n, &alpha, x, 1));

    private unsafe float* StageIn(ThreadState state, int slot, Operand operand, long length)
    {
        if (!operand.IsHostSpan)
        {
            return operand.Pointer;
        }

        float* staged = state.Reserve(this, slot, length);
        Check(CudaRuntime.cudaMemcpyAsync(staged, operand.Pointer, (nuint)(length * sizeof(float)), CudaRuntime.MemcpyKind.HostToDevice, Stream));
        return staged;
    }

    private unsafe float* StageOut(ThreadState state, int slot, Operand operand, long length, bool preload) =>
        preload ? StageIn(state, slot, operand, length)
        : operand.IsHostSpan ? state.Reserve(this, slot, length)
        : operand.Pointer;

    private unsafe void FinishOut(ThreadState state, int slot, Operand operand, long length)
    {
        if (operand.IsHostSpan)
        {
            Check(CudaRuntime.cudaMemcpyAsync(operand.Pointer, state.Reserve(this, slot, length), (nuint)(length * sizeof(float)), CudaRuntime.MemcpyKind.DeviceToHost, Stream));
            Check(CudaRuntime.cudaStreamSynchronize(Stream));
        }
    }

    private void CheckCublas(int status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != 0)
        {
            ThrowCublas(status, call);
        }
    }

    [DoesNotReturn]
    private void ThrowCuda(int status, string call)
    {
        bool sticky = IsSticky(status);
        string name = ErrorName(status);
        if (sticky)
        {
            _lostReason ??= $"{Shorten(call)} failed with {name}";
        }

        throw new CudaException(
            $"{Shorten(call)} failed: {name} ({status}): {ErrorText(status)}.{(sticky ? StickyAdvice : string.Empty)}",
            Shorten(call), status, name, sticky);
    }

    [DoesNotReturn]
    private void ThrowCublas(int status, string call)
    {
        // An execution failure can hide a sticky runtime error; the stream reports it.
        int underlying = CudaRuntime.cudaStreamSynchronize(Stream);
        bool sticky = IsSticky(underlying);
        string name = CublasStatusName(status);
        if (sticky)
        {
            _lostReason ??= $"{Shorten(call)} failed with {name} over {ErrorName(underlying)}";
        }

        string cause = underlying != 0 ? $" (the stream reports {ErrorName(underlying)} ({underlying}))" : string.Empty;
        throw new CublasException(
            $"{Shorten(call)} failed: {name} ({status}): {CublasStatusText(status)}{cause}.{(sticky ? StickyAdvice : string.Empty)}",
            Shorten(call), status, name, sticky);
    }

    /// <summary>The errors after which the CUDA context is unusable (driver_types.h: 700, 710, 714–719).</summary>
    private static bool IsSticky(int status) => status is 700 or 710 or (>= 714 and <= 719);

    /// <summary>The function name of a call expression, for messages.</summary>
    private static string Shorten(string call)
    {
        int open = call.IndexOf('(', StringComparison.Ordinal);
        string name = open < 0 ? call : call[..open];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    private static unsafe string ErrorName(int status) => Marshal.PtrToStringUTF8((nint)CudaRuntime.cudaGetErrorName(status)) ?? $"cudaError {status}";

    private static unsafe string ErrorText(int status) => Marshal.PtrToStringUTF8((nint)CudaRuntime.cudaGetErrorString(status)) ?? "unknown error";

    private unsafe string CublasStatusName(int status) => _hasStatusNames
        ? Marshal.PtrToStringUTF8((nint)Cublas.cublasGetStatusName(status)) ?? status.ToString(CultureInfo.InvariantCulture)
        : Enum.IsDefined((Cublas.Status)status) ? $"CUBLAS_STATUS_{(Cublas.Status)status}" : $"cublasStatus {status}";

    private unsafe string CublasStatusText(int status) => _hasStatusNames
        ? Marshal.PtrToStringUTF8((nint)Cublas.cublasGetStatusString(status)) ?? "unknown status"
        : "this cuBLAS has no status text";

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
                Check(getProperties(properties, 0), export);
                return Marshal.PtrToStringUTF8((nint)properties, new ReadOnlySpan<byte>(properties, 256).IndexOf((byte)0) is int end and >= 0 ? end : 256);
            }
            finally
            {
                NativeMemory.Free(properties);
            }
        }

        return "?";
    }

    private ThreadState State()
    {
        ThreadState? state = _threads.Value;
        if (state is null)
        {
            state = new ThreadState(this);
            _threads.Value = state;
        }

        return state;
    }

    /// <summary>What one calling thread owns: its cuBLAS handle, staging buffers and a ones vector.</summary>
    private sealed class ThreadState : IDisposable
    {
        private readonly CublasHandle _handle = new();
        private readonly CudaBuffer?[] _staging = new CudaBuffer?[3];
        private CudaBuffer? _ones;

        public unsafe ThreadState(CudaBackend backend)
        {
            nint handle;
            backend.CheckCublas(Cublas.cublasCreate_v2(&handle));
            _handle.Adopt(handle);
            try
            {
                backend.CheckCublas(Cublas.cublasSetStream_v2(handle, backend.Stream));
                var mode = backend.MathMode == CudaMathMode.Tf32 ? Cublas.MathMode.Tf32TensorOp : Cublas.MathMode.Default;
                backend.CheckCublas(Cublas.cublasSetMathMode(handle, mode));
            }
            catch
            {
                _handle.Dispose();
                throw;
            }
        }

        public nint Handle => _handle.DangerousGetHandle();

        /// <summary>Staging slot <paramref name="slot"/>, grown to hold at least <paramref name="length"/> floats.</summary>
        public unsafe float* Reserve(CudaBackend backend, int slot, long length)
        {
            CudaBuffer? buffer = _staging[slot];
            if (buffer is null || buffer.Length < length)
            {
                buffer?.Dispose();
                _staging[slot] = null;
                _staging[slot] = buffer = new CudaBuffer(backend, [checked((int)length)], length, pageLockedMirror: false);
            }

            return buffer.Pointer;
        }

        /// <summary>A device vector of at least <paramref name="length"/> ones.</summary>
        public unsafe float* Ones(CudaBackend backend, int length)
        {
            if (_ones is null || _ones.Length < length)
            {
                _ones?.Dispose();
                _ones = null;
                var ones = new CudaBuffer(backend, [length], length, pageLockedMirror: false);
                try
                {
                    var values = new float[length];
                    Array.Fill(values, 1f);
                    ones.CopyFrom(values);
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

        public void Dispose()
        {
            foreach (CudaBuffer? buffer in _staging)
            {
                buffer?.Dispose();
            }

            _ones?.Dispose();
            _handle.Dispose();
        }
    }
}
