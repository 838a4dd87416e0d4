namespace BlasLinear;

/// <summary>The rule of the safetensors format that a file breaks.</summary>
public enum SafeTensorsFormatRule
{
    /// <summary>The file is shorter than the 8-byte header length.</summary>
    FileTooShort,

    /// <summary>The header length runs past the end of the file.</summary>
    HeaderLengthBeyondFile,

    /// <summary>The header length exceeds <see cref="SafeTensorsFile.MaxHeaderBytes"/>.</summary>
    HeaderTooLarge,

    /// <summary>The header is not valid UTF-8.</summary>
    HeaderNotUtf8,

    /// <summary>The header is not well-formed JSON (or is nested too deeply).</summary>
    HeaderNotJson,

    /// <summary>The header's JSON is not an object.</summary>
    HeaderNotObject,

    /// <summary>The header names the same tensor (or the same field of a tensor) twice.</summary>
    DuplicateName,

    /// <summary>A tensor's entry is not an object.</summary>
    EntryNotObject,

    /// <summary>A tensor's entry lacks <c>dtype</c>, <c>shape</c> or <c>data_offsets</c>.</summary>
    MissingField,

    /// <summary>A tensor's entry has a field other than <c>dtype</c>, <c>shape</c> and <c>data_offsets</c>.</summary>
    UnknownField,

    /// <summary>The dtype is not a string the format defines.</summary>
    UnknownDType,

    /// <summary>The shape is not an array of non-negative integers, or has more than <see cref="SafeTensorsFile.MaxRank"/> dimensions.</summary>
    InvalidShape,

    /// <summary><c>data_offsets</c> is not an array of two non-negative integers.</summary>
    InvalidDataOffsets,

    /// <summary>The data offsets' end comes before their begin.</summary>
    OffsetsReversed,

    /// <summary>The byte range runs past the end of the data section.</summary>
    OffsetsBeyondData,

    /// <summary>The element count times the element size overflows a 64-bit integer.</summary>
    SizeOverflow,

    /// <summary>The byte range's length is not the element count times the element size.</summary>
    SizeMismatch,

    /// <summary>Two tensors' byte ranges overlap.</summary>
    OverlappingData,

    /// <summary><c>__metadata__</c> is not an object whose values are all strings.</summary>
    InvalidMetadata,
}

/// <summary>
/// A file that breaks the safetensors format: thrown by <see cref="SafeTensorsFile.Open"/> before anything
/// sized by the file's numbers is allocated. The message names the file, the tensor when there is one, and
/// the rule broken.
/// </summary>
/// <remarks>
/// A <see cref="FormatException"/>: the file was read, and its contents break the format (the framework's
/// <see cref="InvalidDataException"/> is sealed). Failures to read the file at all stay <see cref="IOException"/>s.
/// </remarks>
public sealed class SafeTensorsFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException()
        : this("The file is not a valid safetensors file.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public SafeTensorsFormatException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, or null.</param>
    public SafeTensorsFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception for a rule broken by a file.</summary>
    /// <param name="filePath">The file that was opened.</param>
    /// <param name="tensorName">The tensor whose entry breaks the rule, or null.</param>
    /// <param name="rule">The rule broken.</param>
    /// <param name="detail">What was found, in words.</param>
    /// <param name="innerException">The cause (the JSON reader's error), or null.</param>
    public SafeTensorsFormatException(
        string filePath, string? tensorName, SafeTensorsFormatRule rule, string detail, Exception? innerException = null)
        : base(Compose(filePath, tensorName, rule, detail), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Rule = rule;
    }

    /// <summary>The file that was opened.</summary>
    public string FilePath { get; }

    /// <summary>The tensor whose entry breaks the rule (<c>__metadata__</c> for the metadata), or null when the rule concerns the whole file.</summary>
    public string? TensorName { get; }

    /// <summary>The rule broken; null only when the exception was created from a bare message.</summary>
    public SafeTensorsFormatRule? Rule { get; }

    private static string Compose(string filePath, string? tensorName, SafeTensorsFormatRule rule, string detail)
    {
        // The name comes from an untrusted header: the message shows enough of it to find it.
        const int Shown = 200;
        return tensorName is null
            ? $"'{filePath}' is not a valid safetensors file ({rule}): {detail}"
            : $"'{filePath}' is not a valid safetensors file ({rule}): tensor '{(tensorName.Length <= Shown ? tensorName : tensorName[..Shown] + "…")}': {detail}";
    }
}
