namespace BlasLinear.Backends;

/// <summary>
/// Read-only float memory a backend can compute on: a host span, or a range of a
/// <see cref="BlasBuffer"/> (which may live on a device). Host spans and arrays convert implicitly, so
/// the backend's methods take either.
/// </summary>
public readonly ref struct ReadOnlyBlasSpan
{
    internal readonly ReadOnlySpan<float> Host;
    internal readonly BlasBuffer? Buffer;
    internal readonly long Offset;

    internal ReadOnlyBlasSpan(ReadOnlySpan<float> host)
    {
        Host = host;
        Length = host.Length;
    }

    internal ReadOnlyBlasSpan(BlasBuffer buffer, long offset, long length)
    {
        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The number of floats.</summary>
    public long Length { get; }

    /// <summary>True when this is a host span rather than a buffer range.</summary>
    public bool IsHostSpan => Buffer is null;

    /// <summary>Wraps a host span.</summary>
    public static implicit operator ReadOnlyBlasSpan(ReadOnlySpan<float> host) => new(host);

    /// <summary>Wraps a host span.</summary>
    public static implicit operator ReadOnlyBlasSpan(Span<float> host) => new(host);

    /// <summary>Wraps a host array.</summary>
    public static implicit operator ReadOnlyBlasSpan(float[] host) => new(host);

    /// <summary>The whole of a buffer.</summary>
    public static implicit operator ReadOnlyBlasSpan(BlasBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return new(buffer, 0, buffer.Length);
    }

    /// <summary>A writable span seen read-only.</summary>
    public static implicit operator ReadOnlyBlasSpan(BlasSpan span) =>
        span.Buffer is null ? new(span.Host) : new(span.Buffer, span.Offset, span.Length);

    /// <summary>Wraps a host span.</summary>
    public static ReadOnlyBlasSpan FromReadOnlySpan(ReadOnlySpan<float> host) => new(host);

    /// <summary>The whole of a buffer.</summary>
    public static ReadOnlyBlasSpan FromBlasBuffer(BlasBuffer buffer) => buffer;

    /// <summary>A writable span seen read-only.</summary>
    public static ReadOnlyBlasSpan FromBlasSpan(BlasSpan span) => span;
}

/// <summary>
/// Writable float memory a backend can compute on: a host span, or a range of a <see cref="BlasBuffer"/>.
/// </summary>
public readonly ref struct BlasSpan
{
    internal readonly Span<float> Host;
    internal readonly BlasBuffer? Buffer;
    internal readonly long Offset;

    internal BlasSpan(Span<float> host)
    {
        Host = host;
        Length = host.Length;
    }

    internal BlasSpan(BlasBuffer buffer, long offset, long length)
    {
        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The number of floats.</summary>
    public long Length { get; }

    /// <summary>True when this is a host span rather than a buffer range.</summary>
    public bool IsHostSpan => Buffer is null;

    /// <summary>Wraps a host span.</summary>
    public static implicit operator BlasSpan(Span<float> host) => new(host);

    /// <summary>Wraps a host array.</summary>
    public static implicit operator BlasSpan(float[] host) => new(host);

    /// <summary>The whole of a buffer.</summary>
    /// <exception cref="InvalidOperationException">The buffer is a weight prepared for inference.</exception>
    public static implicit operator BlasSpan(BlasBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        buffer.ThrowIfPrepared();
        return new(buffer, 0, buffer.Length);
    }

    /// <summary>Wraps a host span.</summary>
    public static BlasSpan FromSpan(Span<float> host) => new(host);

    /// <summary>The whole of a buffer.</summary>
    public static BlasSpan FromBlasBuffer(BlasBuffer buffer) => buffer;
}
