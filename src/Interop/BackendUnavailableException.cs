namespace BlasLinear.Backends;

/// <summary>
/// A backend was asked for and cannot be used on this machine. The message carries the reason and
/// every loader attempt with the loader's own text.
/// </summary>
public sealed class BackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException()
        : this("The backend is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    internal BackendUnavailableException(BackendKind kind, string reason)
        : base($"The {kind} backend is unavailable: {reason}")
    {
        Kind = kind;
        Reason = reason;
    }

    /// <summary>The backend that could not be created.</summary>
    public BackendKind? Kind { get; }

    /// <summary>Why, with the loader trace where a library did not load.</summary>
    public string Reason { get; }
}
