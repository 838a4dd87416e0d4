namespace BlasLinear.Backends;

/// <summary>The CPU's staging: host spans are its memory, so nothing is copied, held or locked.</summary>
internal sealed class CpuHostStaging(BlasBackend backend) : HostStaging(backend)
{
    public override bool IsDisposed => false;

    protected override void Dispose(bool disposing)
    {
    }

    internal override void Enter()
    {
    }

    internal override void Exit()
    {
    }

    internal override ReadOnlyBlasSpan In(int index, ReadOnlySpan<float> host) => host;

    internal override BlasSpan Out(int index, Span<float> host, bool copyIn) => host;

    internal override void CopyBack(BlasSpan staged, Span<float> host)
    {
        // Out returned the host span itself, so the result is already there; another span is copied.
        if (staged.Buffer is null && !(staged.Host.Overlaps(host, out int offset) && offset == 0))
        {
            staged.Host.CopyTo(host);
        }
    }
}
