namespace BlasLinear.Backends;

/// <summary>
/// Device buffers with page-locked host mirrors, indexed by the order in which a call stages its
/// operands: the n-th operand staged in a call uses the n-th buffer. A buffer grows for a larger call
/// and is reused after. Host data moves through the mirrors, so every copy is from page-locked memory
/// and really asynchronous, and no copy depends on the caller's memory staying put. Not thread-safe:
/// its owner makes its users take turns.
/// </summary>
internal sealed class CudaStagingBuffers(CudaBackend backend) : IDisposable
{
    private readonly List<CudaBuffer?> _buffers = [];

    /// <summary>Buffer <paramref name="index"/>, grown to hold at least <paramref name="length"/> floats.</summary>
    public CudaBuffer Reserve(int index, long length)
    {
        while (_buffers.Count <= index)
        {
            _buffers.Add(null);
        }

        CudaBuffer? buffer = _buffers[index];
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            _buffers[index] = null;
            buffer = new CudaBuffer(backend, [checked((int)length)], length, pageLockedMirror: true);
            _buffers[index] = buffer;
        }

        return buffer;
    }

    public void Dispose()
    {
        foreach (CudaBuffer? buffer in _buffers)
        {
            buffer?.Dispose();
        }

        _buffers.Clear();
    }
}
