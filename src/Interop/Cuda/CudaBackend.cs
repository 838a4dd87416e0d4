using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// cuBLAS on an NVIDIA GPU. Buffers live in device memory; host spans passed to the backend's methods are
/// staged through the calling thread's page-locked staging buffers; layers stage once per call through a
/// <see cref="HostStaging"/>.
/// </summary>
/// <remarks>
/// <para>All work runs on one non-blocking stream per backend, in order. Each call leases a cuBLAS handle
/// from the backend's pool for its duration, bound to that stream and to the math mode once when the handle
/// is made, so no call ever changes a handle another call uses; the pool keeps at most one handle per call
/// that ran at the same time as others, however many threads came and went.</para>
/// <para>Disposal is safe against concurrent calls: it refuses new ones with <see cref="ObjectDisposedException"/>,
/// waits for those inside to leave, synchronises the stream, and only then frees handles, buffers and the stream.</para>
/// <para>Errors become <see cref="CudaException"/> or <see cref="CublasException"/> carrying the call, the
/// status name and the library's text; device out-of-memory is a <see cref="CudaOutOfMemoryException"/>
/// and leaves the backend usable. After a sticky error (an illegal address, a launch failure) the CUDA
/// context is lost: every later call fails at once with a message that says to restart the process.</para>
/// </remarks>
public sealed partial class CudaBackend : BlasBackend
{
    private readonly CudaStreamHandle _stream;
    private readonly string _selection;
    private volatile string? _lostReason;

    private CudaBackend(CudaMathMode mathMode, string selection, bool isEmulator)
    {
        MathMode = mathMode;
        _selection = selection;
        IsEmulator = isEmulator;
        Device = 0;
        CudaException.ThrowIfFailed(CudaRuntime.cudaSetDevice(Device), this);
        _stream = new CudaStreamHandle();
        nint stream;
        unsafe
        {
            CudaException.ThrowIfFailed(CudaRuntime.cudaStreamCreateWithFlags(&stream, CudaRuntime.StreamNonBlocking), this);
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

    /// <summary>The device ordinal; every thread makes it current before it makes its cuBLAS handle.</summary>
    internal int Device { get; }

    /// <summary>Records that the CUDA context is lost; every later call fails at once with this reason.</summary>
    internal void MarkLost(string reason) => _lostReason ??= reason;

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

        CudaException.ThrowIfFailed(status, this, nameof(CudaRuntime.cudaMalloc));
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

        CudaException.ThrowIfFailed(status, this, nameof(CudaRuntime.cudaHostAlloc));
        owner.Adopt((nint)pointer);
        return owner;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
            _ = CudaRuntime.cudaStreamSynchronize(Stream);
            FreeStates();
            _stream.Dispose();
        }

        base.Dispose(disposing);
    }

    private protected override void ThrowIfUnusable()
    {
        if (_lostReason is string reason)
        {
            throw new CudaException($"The CUDA backend is unusable since {reason}.{CudaStatus.StickyAdvice}");
        }
    }

    private protected override HostStaging CreateHostStagingCore() => new CudaHostStaging(this);

    private protected override BlasBuffer AllocateCore(int[] shape, long length) => new CudaBuffer(this, shape, length, pageLockedMirror: false);

    /// <summary>Refused: cuBLAS multiplies operands of one type, so a bfloat16 weight would need the activations converted on the device (docs/gpu.md).</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    private protected override PreparedWeight PrepareBFloat16Core(BlasBuffer weight, Transpose trans, int n, int k) =>
        throw new NotSupportedException(
            "WeightPrecision.BFloat16 is not supported on the CUDA backend: cuBLAS's GEMMs want both inputs in one type, "
            + "so a bfloat16 weight needs the float32 activations converted to bfloat16 on the device (or cuBLASLt with "
            + "mixed-type descriptors), a kernel BlasLinear cannot build without a CUDA compiler. On the GPU, prepare with "
            + "WeightPrecision.Float32; TF32 tensor cores remain its fast path (docs/gpu.md).");

    private protected override void SynchronizeCore()
    {
        using Call call = Enter();
        CudaException.ThrowIfFailed(CudaRuntime.cudaStreamSynchronize(Stream), this);
    }

    private protected override unsafe void GemmCore(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, Operand a, int lda, Operand b, int ldb, float beta, Operand c, int ldc)
    {
        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        bool ta = transA == Transpose.Trans, tb = transB == Transpose.Trans;
        long cLength = BlasArguments.Needed(m, n, ldc);
        float* pa = staging.In(a, BlasArguments.Needed(ta ? k : m, ta ? m : k, lda));
        float* pb = staging.In(b, BlasArguments.Needed(tb ? n : k, tb ? k : n, ldb));
        // A staged C is copied back whole, padding included, so it must go up whole when it has padding.
        float* pc = staging.Out(c, cLength, copyIn: beta != 0 || ldc > n);
        SgemmRowMajor(state, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        staging.CopyBack(c, cLength);
    }

    private protected override unsafe void GemvCore(
        Transpose trans, int m, int n, float alpha, Operand a, int lda, Operand x, float beta, Operand y)
    {
        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        int xLength = trans == Transpose.Trans ? m : n, yLength = trans == Transpose.Trans ? n : m;
        float* pa = staging.In(a, BlasArguments.Needed(m, n, lda));
        float* px = staging.In(x, xLength);
        float* py = staging.Out(y, yLength, copyIn: beta != 0);
        SgemvRowMajor(state, trans, m, n, alpha, pa, lda, px, beta, py);
        staging.CopyBack(y, yLength);
    }

    private protected override unsafe void ScaleCore(Operand c, int rows, int cols, int ld, float beta)
    {
        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        long length = BlasArguments.Needed(rows, cols, ld);
        float* pc = staging.Out(c, length, copyIn: true);
        if (beta == 0)
        {
            // Zero bytes are 0.0f; a memset never reads, so NaN and Inf in C do not survive.
            if (ld == cols)
            {
                CudaException.ThrowIfFailed(CudaRuntime.cudaMemsetAsync(pc, 0, (nuint)(length * sizeof(float)), Stream), this);
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    CudaException.ThrowIfFailed(CudaRuntime.cudaMemsetAsync(pc + (long)r * ld, 0, (nuint)cols * sizeof(float), Stream), this);
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

        staging.CopyBack(c, length);
    }

    private protected override unsafe void BroadcastRowsCore(Operand row, Operand destination, int rows, int cols)
    {
        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        long length = (long)rows * cols;
        float* pr = staging.In(row, cols);
        float* pd = staging.Out(destination, length, copyIn: false);
        BroadcastRowsOnDevice(state, pr, pd, rows, cols);
        staging.CopyBack(destination, length);
    }

    /// <summary>The rank-1 product ones[rows×1]·row[1×cols], on device memory: the row written into every row of the destination.</summary>
    private unsafe void BroadcastRowsOnDevice(CudaCallState state, float* row, float* destination, int rows, int cols) =>
        SgemmRowMajor(state, Transpose.NoTrans, Transpose.NoTrans, rows, cols, 1, 1f, state.Ones(rows), 1, row, cols, 0f, destination, cols);

    private protected override unsafe void AddRowSumsCore(Operand source, int rows, int cols, Operand destination)
    {
        using Call call = EnterWithState();
        CudaCallState state = call.State;
        var staging = new OrderedStaging(state.Staging);
        float* ps = staging.In(source, (long)rows * cols);
        float* pd = staging.Out(destination, cols, copyIn: true);
        // Σ over rows is sourceᵀ·ones.
        SgemvRowMajor(state, Transpose.Trans, rows, cols, 1f, ps, cols, state.Ones(rows), 1f, pd);
        staging.CopyBack(destination, cols);
    }

    /// <summary>
    /// The one translation from row-major to cuBLAS's column-major. A row-major R×C matrix is the
    /// column-major C×R matrix with the same leading dimension, so row-major C = op(A)·op(B) is computed
    /// as column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, swap m and n, keep each operand's own flag.
    /// Row-major y = op(A)·x with A m×n is column-major y = op'(A')·x with A' = Aᵀ (n×m, same lda) and
    /// the flag flipped.
    /// </summary>
    private unsafe void SgemmRowMajor(
        CudaCallState state, Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        CublasException.ThrowIfFailed(Cublas.cublasSgemm_v2(state.Handle, transB.ToCublas(), transA.ToCublas(), n, m, k,
            &alpha, b, ldb, a, lda, &beta, c, ldc), this);

    private unsafe void SgemvRowMajor(
        CudaCallState state, Transpose trans, int m, int n, float alpha, float* a, int lda, float* x, float beta, float* y) =>
        CublasException.ThrowIfFailed(Cublas.cublasSgemv_v2(state.Handle, trans.Flipped().ToCublas(), n, m,
            &alpha, a, lda, x, 1, &beta, y, 1), this);

    private unsafe void Sscal(CudaCallState state, int n, float alpha, float* x) =>
        CublasException.ThrowIfFailed(Cublas.cublasSscal_v2(state.Handle, n, &alpha, x, 1), this);

    /// <summary>
    /// One call's host-span operands, staged in order through the call state's page-locked buffers: the n-th
    /// host span of the call uses buffer n. Device operands pass through untouched.
    /// </summary>
    private unsafe ref struct OrderedStaging(CudaStagingBuffers buffers)
    {
        private int _next;
        private CudaBuffer? _output;

        public float* In(Operand operand, long length)
        {
            if (!operand.IsHostSpan)
            {
                return operand.Pointer;
            }

            CudaBuffer buffer = buffers.Reserve(_next++, length);
            buffer.CopyPrefixFrom(new ReadOnlySpan<float>(operand.Pointer, checked((int)length)));
            return buffer.Pointer;
        }

        public float* Out(Operand operand, long length, bool copyIn)
        {
            if (!operand.IsHostSpan)
            {
                return operand.Pointer;
            }

            CudaBuffer buffer = buffers.Reserve(_next++, length);
            if (copyIn)
            {
                buffer.CopyPrefixFrom(new ReadOnlySpan<float>(operand.Pointer, checked((int)length)));
            }

            _output = buffer;
            return buffer.Pointer;
        }

        /// <summary>Brings a staged result back to its host span; returns once it is there.</summary>
        public readonly void CopyBack(Operand operand, long length) =>
            _output?.CopyRangeTo(0, new Span<float>(operand.Pointer, checked((int)length)));
    }
}
