using System.Runtime.InteropServices;

namespace BlasLinear.Backends;

/// <summary>The operands of <see cref="BlasBackend"/>'s operations, as <see cref="BlasBackend.Run"/> hands them to the cores.</summary>
public abstract partial class BlasBackend
{
    /// <summary>An input of an operation, with its parameter name and its name in messages.</summary>
    private readonly ref struct Argument(ReadOnlyBlasSpan span, string parameter, string name)
    {
        public readonly ReadOnlyBlasSpan Span = span;
        public readonly string Parameter = parameter;
        public readonly string Name = name;
    }

    /// <summary>The output of an operation, with its parameter name and its name in messages.</summary>
    private readonly ref struct OutputArgument(BlasSpan span, string parameter, string name)
    {
        public readonly BlasSpan Span = span;
        public readonly string Parameter = parameter;
        public readonly string Name = name;
    }

    /// <summary>What an operation does once <see cref="Run"/> has checked, leased and pinned its operands.</summary>
    private interface IOperation
    {
        void Run(BlasBackend backend, Operand first, Operand second, Operand output);
    }

    private readonly struct GemmOperation(
        Transpose transA, Transpose transB, int m, int n, int k, float alpha, int lda, int ldb, float beta, int ldc) : IOperation
    {
        public void Run(BlasBackend backend, Operand a, Operand b, Operand c)
        {
            if (alpha == 0 || k == 0)
            {
                // Managed, not OpenBLAS: its small-matrix kernels let a NaN in A through even for α = 0.
                if (beta != 1)
                {
                    backend.ScaleCore(c, m, n, ldc, beta);
                }

                return;
            }

            backend.GemmCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    private readonly struct GemvOperation(
        Transpose trans, int m, int n, float alpha, int lda, float beta, int xLength, int yLength) : IOperation
    {
        public void Run(BlasBackend backend, Operand a, Operand x, Operand y)
        {
            if (alpha == 0 || xLength == 0)
            {
                if (beta != 1)
                {
                    backend.ScaleCore(y, 1, yLength, yLength, beta);
                }

                return;
            }

            backend.GemvCore(trans, m, n, alpha, a, lda, x, beta, y);
        }
    }

    private readonly struct PreparedOperation(PreparedWeight weight, int m, float beta) : IOperation
    {
        public unsafe void Run(BlasBackend backend, Operand x, Operand unused, Operand y) =>
            weight.MultiplyPinned(m, x.Pointer, null, beta, y.Pointer);
    }

    private readonly struct PreparedWithBiasOperation(PreparedWeight weight, int m) : IOperation
    {
        public void Run(BlasBackend backend, Operand x, Operand bias, Operand y) =>
            backend.MultiplyPreparedWithBiasCore(weight, m, x, bias, y);
    }

    private readonly struct BroadcastRowsOperation(int rows, int cols) : IOperation
    {
        public void Run(BlasBackend backend, Operand row, Operand unused, Operand destination) =>
            backend.BroadcastRowsCore(row, destination, rows, cols);
    }

    private readonly struct AddRowSumsOperation(int rows, int cols) : IOperation
    {
        public void Run(BlasBackend backend, Operand source, Operand unused, Operand destination) =>
            backend.AddRowSumsCore(source, rows, cols, destination);
    }

    /// <summary>
    /// One operand in the backend's terms: its address (host or device), whether it is a host span that
    /// a device backend must stage, and its extent for the overlap check.
    /// </summary>
    private protected readonly unsafe struct Operand
    {
        public Operand(ReadOnlyBlasSpan span, float* pinned)
        {
            Length = span.Length;
            IsHostSpan = span.Buffer is null;
            IsHostMemory = span.Buffer?.IsHostAccessible ?? true;
            Pointer = span.Buffer is null ? pinned : span.Buffer.Pointer + span.Offset;
        }

        public Operand(BlasSpan span, float* pinned)
        {
            Length = span.Length;
            IsHostSpan = span.Buffer is null;
            IsHostMemory = span.Buffer?.IsHostAccessible ?? true;
            Pointer = span.Buffer is null ? pinned : span.Buffer.Pointer + span.Offset;
        }

        public float* Pointer { get; }

        public long Length { get; }

        public bool IsHostSpan { get; }

        public bool IsHostMemory { get; }

        public bool Overlaps(Operand other)
        {
            if (Length == 0 || other.Length == 0 || IsHostMemory != other.IsHostMemory)
            {
                return false;
            }

            nuint start = (nuint)Pointer, end = start + (nuint)Length * sizeof(float);
            nuint otherStart = (nuint)other.Pointer, otherEnd = otherStart + (nuint)other.Length * sizeof(float);
            return start < otherEnd && otherStart < end;
        }
    }

    /// <summary>Keeps a buffer's memory (or any native memory's handle) alive across a native call, even if it is disposed meanwhile.</summary>
    internal readonly ref struct Lease
    {
        private readonly SafeHandle? _memory;

        public Lease(BlasBuffer? buffer)
            : this(buffer?.Memory)
        {
        }

        /// <exception cref="ObjectDisposedException"><paramref name="memory"/> was already released.</exception>
        public Lease(SafeHandle? memory)
        {
            if (memory is null)
            {
                return;
            }

            bool added = false;
            memory.DangerousAddRef(ref added);
            _memory = memory;
        }

        public void Dispose() => _memory?.DangerousRelease();
    }
}
