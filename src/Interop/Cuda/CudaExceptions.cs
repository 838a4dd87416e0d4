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
