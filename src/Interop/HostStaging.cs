namespace BlasLinear.Backends;

/// <summary>
/// Brings host data to a backend for one call at a time: the inputs a call reads and the outputs it
/// writes back. Made by <see cref="BlasBackend.CreateHostStaging"/> for one owner (a layer makes one and
/// keeps it), and owned by the backend's code: on the CPU it copies nothing and holds nothing, since
/// host spans are the backend's memory; on a device it keeps page-locked staging buffers, allocated for
/// the first call of a size and reused after.
/// </summary>
/// <remarks>
/// Each call opens a <see cref="HostStagingScope"/> with <see cref="Begin"/> and stages its operands in
/// the same order every time: the n-th operand staged in a scope reuses the n-th buffer. On a device,
/// scopes of one staging object take turns (the buffers are shared); on the CPU they run at once.
/// </remarks>
public abstract class HostStaging : IDisposable
{
    private protected HostStaging(BlasBackend backend)
    {
        Backend = backend;
    }

    /// <summary>The backend whose memory the staged data is in.</summary>
    public BlasBackend Backend { get; }

    /// <summary>True once disposed.</summary>
    public abstract bool IsDisposed { get; }

    /// <summary>Opens one call's staging; dispose the scope when the call's results are back on the host.</summary>
    /// <exception cref="ObjectDisposedException">The staging object or its backend was disposed.</exception>
    /// <exception cref="CudaException">The backend's device context was lost earlier.</exception>
    public HostStagingScope Begin()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Backend.ThrowIfDisposed();
        Enter();
        return new HostStagingScope(this);
    }

    /// <summary>Frees the staging buffers; a second call does nothing.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the staging object owns.</summary>
    protected abstract void Dispose(bool disposing);

    /// <summary>Takes the object's turn, where calls must take turns.</summary>
    internal abstract void Enter();

    /// <summary>Gives the turn back.</summary>
    internal abstract void Exit();

    /// <summary>The operand at <paramref name="index"/> in this scope: <paramref name="host"/> in the backend's memory.</summary>
    internal abstract ReadOnlyBlasSpan In(int index, ReadOnlySpan<float> host);

    /// <summary>Where the result at <paramref name="index"/> is computed; filled from <paramref name="host"/> when <paramref name="copyIn"/>.</summary>
    internal abstract BlasSpan Out(int index, Span<float> host, bool copyIn);

    /// <summary>Copies a result computed in <paramref name="staged"/> to <paramref name="host"/>; nothing when it is already there.</summary>
    internal abstract void CopyBack(BlasSpan staged, Span<float> host);

}

/// <summary>
/// One call's use of a <see cref="HostStaging"/>: stage inputs with <see cref="In"/>, place outputs with
/// <see cref="Out"/>, bring them back with <see cref="CopyBack"/>, then dispose.
/// </summary>
public ref struct HostStagingScope : IDisposable
{
    private readonly HostStaging? _staging;
    private int _next;

    internal HostStagingScope(HostStaging staging)
    {
        _staging = staging;
    }

    /// <summary>Host data the call reads, in the backend's memory (on the CPU, the span itself).</summary>
    /// <exception cref="InvalidOperationException">The scope was not opened by <see cref="HostStaging.Begin"/>.</exception>
    public ReadOnlyBlasSpan In(ReadOnlySpan<float> host) => Staging.In(_next++, host);

    /// <summary>
    /// Where the call writes a result destined for <paramref name="host"/> (on the CPU, the span itself);
    /// filled from <paramref name="host"/> first when <paramref name="copyIn"/> is true.
    /// </summary>
    /// <exception cref="InvalidOperationException">The scope was not opened by <see cref="HostStaging.Begin"/>.</exception>
    public BlasSpan Out(Span<float> host, bool copyIn = false) => Staging.Out(_next++, host, copyIn);

    /// <summary>Copies a result from <paramref name="staged"/> (returned by <see cref="Out"/>) to <paramref name="host"/>.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    /// <exception cref="InvalidOperationException">The scope was not opened by <see cref="HostStaging.Begin"/>.</exception>
    public readonly void CopyBack(BlasSpan staged, Span<float> host)
    {
        if (staged.Length != host.Length)
        {
            throw new ArgumentException($"The staged result has {staged.Length} elements; the host span has {host.Length}.", nameof(host));
        }

        Staging.CopyBack(staged, host);
    }

    /// <summary>Ends the call's use of the staging object.</summary>
    public void Dispose()
    {
        _staging?.Exit();
        this = default;
    }

    private readonly HostStaging Staging =>
        _staging ?? throw new InvalidOperationException("This scope was not opened by HostStaging.Begin().");
}
