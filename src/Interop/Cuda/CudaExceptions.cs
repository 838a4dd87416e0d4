using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>A CUDA runtime call failed. The message names the call, the error name and the runtime's text.</summary>
public class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CudaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CudaException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal CudaException(string message, string call, int status, string statusName, bool isSticky)
        : base(message)
    {
        Call = call;
        Status = status;
        StatusName = statusName;
        IsSticky = isSticky;
    }

    /// <summary>The call that failed, as written in the source.</summary>
    public string? Call { get; }

    /// <summary>The numeric <c>cudaError_t</c> (or <c>cublasStatus_t</c> for <see cref="CublasException"/>).</summary>
    public int Status { get; }

    /// <summary>The status's name, e.g. <c>cudaErrorIllegalAddress</c>.</summary>
    public string? StatusName { get; }

    /// <summary>
    /// True for errors that leave the CUDA context unusable (an illegal address, a launch failure):
    /// every later call on the backend fails at once, and only a new process recovers.
    /// </summary>
    public bool IsSticky { get; }

    /// <summary>
    /// Throws for a failed CUDA runtime call (any status but success), naming the call, the status and the
    /// runtime's text; a sticky error marks <paramref name="backend"/> lost, so that every later call fails at once.
    /// </summary>
    internal static void ThrowIfFailed(int status, CudaBackend? backend, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != 0)
        {
            Throw(status, backend, call);
        }
    }

    [DoesNotReturn]
    private static void Throw(int status, CudaBackend? backend, string call)
    {
        string function = CudaStatus.Shorten(call);
        bool sticky = CudaStatus.IsSticky(status);
        string name = CudaStatus.ErrorName(status);
        if (sticky)
        {
            backend?.MarkLost($"{function} failed with {name}");
        }

        throw new CudaException(
            $"{function} failed: {name} ({status}): {CudaStatus.ErrorText(status)}.{(sticky ? CudaStatus.StickyAdvice : string.Empty)}",
            function, status, name, sticky);
    }
}

/// <summary>A cuBLAS call failed. The message names the call, the status name and cuBLAS's text.</summary>
public sealed class CublasException : CudaException
{
    /// <summary>Creates the exception.</summary>
    public CublasException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CublasException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CublasException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal CublasException(string message, string call, int status, string statusName, bool isSticky)
        : base(message, call, status, statusName, isSticky)
    {
    }

    /// <summary>
    /// Throws for a failed cuBLAS call. An execution failure can hide a sticky runtime error, so the
    /// backend's stream is asked; a sticky one marks <paramref name="backend"/> lost.
    /// </summary>
    internal static new void ThrowIfFailed(int status, CudaBackend backend, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != 0)
        {
            Throw(status, backend, call);
        }
    }

    [DoesNotReturn]
    private static void Throw(int status, CudaBackend backend, string call)
    {
        string function = CudaStatus.Shorten(call);
        int underlying = CudaRuntime.cudaStreamSynchronize(backend.Stream);
        bool sticky = CudaStatus.IsSticky(underlying);
        string name = CudaStatus.CublasName(status);
        if (sticky)
        {
            backend.MarkLost($"{function} failed with {name} over {CudaStatus.ErrorName(underlying)}");
        }

        string cause = underlying != 0 ? $" (the stream reports {CudaStatus.ErrorName(underlying)} ({underlying}))" : string.Empty;
        throw new CublasException(
            $"{function} failed: {name} ({status}): {CudaStatus.CublasText(status)}{cause}.{(sticky ? CudaStatus.StickyAdvice : string.Empty)}",
            function, status, name, sticky);
    }
}

/// <summary>
/// Device (or page-locked host) memory ran out. The CUDA context stays usable: free something and retry.
/// </summary>
public sealed class CudaOutOfMemoryException : OutOfMemoryException
{
    /// <summary>Creates the exception.</summary>
    public CudaOutOfMemoryException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CudaOutOfMemoryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CudaOutOfMemoryException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal CudaOutOfMemoryException(string message, long requestedBytes, long freeBytes, long totalBytes)
        : base(message)
    {
        RequestedBytes = requestedBytes;
        FreeBytes = freeBytes;
        TotalBytes = totalBytes;
    }

    /// <summary>The size of the allocation that failed.</summary>
    public long RequestedBytes { get; }

    /// <summary>Free device memory when it failed (-1 when it could not be read).</summary>
    public long FreeBytes { get; }

    /// <summary>Total device memory (-1 when it could not be read).</summary>
    public long TotalBytes { get; }
}
