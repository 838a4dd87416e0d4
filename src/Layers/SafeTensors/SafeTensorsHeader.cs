using System.Text.Json;
using System.Text.Unicode;

namespace BlasLinear;

/// <summary>
/// Parses and validates a safetensors header in place, with <see cref="Utf8JsonReader"/> over the mapped
/// bytes: nothing is allocated but the names, shapes and metadata strings the header spells out, and the
/// numbers in it size nothing.
/// </summary>
internal static class SafeTensorsHeader
{
    public const string MetadataKey = "__metadata__";

    // The entry objects sit at depth 2 and their arrays at depth 3; anything deeper is refused by the reader.
    private const int MaxJsonDepth = 4;

    public static (List<SafeTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        string filePath, ReadOnlySpan<byte> header, long dataLength)
    {
        if (!Utf8.IsValid(header))
        {
            throw Fail(filePath, null, SafeTensorsFormatRule.HeaderNotUtf8, "the header is not valid UTF-8.");
        }

        var tensors = new List<SafeTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        var reader = new Utf8JsonReader(header, new JsonReaderOptions
        {
            MaxDepth = MaxJsonDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Fail(filePath, null, SafeTensorsFormatRule.HeaderNotObject, $"the header's JSON is a {Describe(reader.TokenType)}, not an object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name == MetadataKey)
                {
                    if (sawMetadata)
                    {
                        throw Fail(filePath, name, SafeTensorsFormatRule.DuplicateName, "the header has two metadata entries.");
                    }

                    sawMetadata = true;
                    ReadMetadata(filePath, ref reader, metadata);
                    continue;
                }

                if (!names.Add(name))
                {
                    throw Fail(filePath, name, SafeTensorsFormatRule.DuplicateName, "the header names this tensor twice.");
                }

                tensors.Add(ReadEntry(filePath, name, ref reader, dataLength));
            }

            // Reading past the root object makes the reader refuse anything but trailing whitespace.
            reader.Read();
        }
        catch (JsonException e)
        {
            throw Fail(filePath, null, SafeTensorsFormatRule.HeaderNotJson, $"the header is not well-formed JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // GetString refuses a string whose escapes decode to invalid UTF-16 (a lone surrogate).
            throw Fail(filePath, null, SafeTensorsFormatRule.HeaderNotJson, $"the header holds a string that is not valid text: {e.Message}", e);
        }

        CheckNoOverlap(filePath, tensors);
        return (tensors, metadata);
    }

    private static void ReadMetadata(string filePath, ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(filePath, MetadataKey, SafeTensorsFormatRule.InvalidMetadata, $"the metadata is a {Describe(reader.TokenType)}, not an object of strings.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail(filePath, MetadataKey, SafeTensorsFormatRule.InvalidMetadata, $"the value of '{key}' is a {Describe(reader.TokenType)}, not a string.");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(filePath, MetadataKey, SafeTensorsFormatRule.InvalidMetadata, $"the key '{key}' appears twice.");
            }
        }
    }

    private static SafeTensorInfo ReadEntry(string filePath, string name, ref Utf8JsonReader reader, long dataLength)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.EntryNotObject, $"the entry is a {Describe(reader.TokenType)}, not an object.");
        }

        SafeTensorDType? dtype = null;
        List<long>? shape = null;
        (long Begin, long End)? offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("dtype"u8))
            {
                CheckFirst(filePath, name, dtype is null, "dtype");
                reader.Read();
                dtype = ReadDType(filePath, name, ref reader);
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                CheckFirst(filePath, name, shape is null, "shape");
                reader.Read();
                shape = ReadShape(filePath, name, ref reader);
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                CheckFirst(filePath, name, offsets is null, "data_offsets");
                reader.Read();
                offsets = ReadOffsets(filePath, name, ref reader);
            }
            else
            {
                throw Fail(filePath, name, SafeTensorsFormatRule.UnknownField,
                    $"the entry has a field {Token(ref reader)}; only dtype, shape and data_offsets are defined.");
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail(filePath, name, SafeTensorsFormatRule.MissingField, $"the entry has no '{missing}'.");
        }

        (long begin, long end) = offsets.Value;
        string shapeText = "[" + string.Join(", ", shape) + "]";
        if (end < begin)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.OffsetsReversed, $"data_offsets [{begin}, {end}] end before they begin.");
        }

        if (end > dataLength)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.OffsetsBeyondData,
                $"data_offsets [{begin}, {end}] run past the data section of {dataLength} bytes.");
        }

        int elementSize = SafeTensorDTypes.SizeOf(dtype.Value);
        if (!TryByteLength(shape, elementSize, out long byteLength))
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.SizeOverflow,
                $"shape {shapeText} of {SafeTensorDTypes.HeaderName(dtype.Value)} has more bytes than a 64-bit integer counts.");
        }

        if (byteLength != end - begin)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.SizeMismatch,
                $"shape {shapeText} of {SafeTensorDTypes.HeaderName(dtype.Value)} needs {byteLength} bytes; data_offsets [{begin}, {end}] hold {end - begin}.");
        }

        return new SafeTensorInfo(name, dtype.Value, shape.AsReadOnly(), (begin, end));
    }

    private static void CheckFirst(string filePath, string name, bool first, string field)
    {
        if (!first)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.DuplicateName, $"the entry has two '{field}' fields.");
        }
    }

    private static SafeTensorDType ReadDType(string filePath, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.UnknownDType, $"dtype is a {Describe(reader.TokenType)}, not a string.");
        }

        if (reader.ValueIsEscaped || !SafeTensorDTypes.TryParse(reader.ValueSpan, out SafeTensorDType dtype))
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.UnknownDType, $"dtype {Token(ref reader)} is not one the format defines.");
        }

        return dtype;
    }

    private static List<long> ReadShape(string filePath, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.InvalidShape, $"shape is a {Describe(reader.TokenType)}, not an array.");
        }

        var shape = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long dimension) || dimension < 0)
            {
                throw Fail(filePath, name, SafeTensorsFormatRule.InvalidShape,
                    $"shape holds {Token(ref reader)}, not a non-negative 64-bit integer.");
            }

            if (shape.Count == SafeTensorsFile.MaxRank)
            {
                throw Fail(filePath, name, SafeTensorsFormatRule.InvalidShape, $"shape has more than {SafeTensorsFile.MaxRank} dimensions.");
            }

            shape.Add(dimension);
        }

        return shape;
    }

    private static (long, long) ReadOffsets(string filePath, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.InvalidDataOffsets, $"data_offsets is a {Describe(reader.TokenType)}, not an array.");
        }

        Span<long> values = stackalloc long[2];
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
            {
                throw Fail(filePath, name, SafeTensorsFormatRule.InvalidDataOffsets,
                    $"data_offsets holds {Token(ref reader)}, not a non-negative 64-bit integer.");
            }

            if (count == 2)
            {
                throw Fail(filePath, name, SafeTensorsFormatRule.InvalidDataOffsets, "data_offsets has more than two numbers.");
            }

            values[count++] = value;
        }

        if (count != 2)
        {
            throw Fail(filePath, name, SafeTensorsFormatRule.InvalidDataOffsets, $"data_offsets has {count} numbers, not two.");
        }

        return (values[0], values[1]);
    }

    private static bool TryByteLength(List<long> shape, int elementSize, out long byteLength)
    {
        byteLength = elementSize;
        if (shape.Contains(0))
        {
            byteLength = 0;
            return true;
        }

        foreach (long dimension in shape)
        {
            if (byteLength > long.MaxValue / dimension)
            {
                return false;
            }

            byteLength *= dimension;
        }

        return true;
    }

    /// <summary>Refuses two non-empty byte ranges that share a byte; empty ranges hold no bytes and may sit anywhere.</summary>
    private static void CheckNoOverlap(string filePath, List<SafeTensorInfo> tensors)
    {
        var ranges = tensors.Where(t => t.ByteLength > 0).ToArray();
        Array.Sort(ranges, (a, b) => a.DataOffsets.Begin.CompareTo(b.DataOffsets.Begin));
        for (int i = 1; i < ranges.Length; i++)
        {
            SafeTensorInfo previous = ranges[i - 1], current = ranges[i];
            if (current.DataOffsets.Begin < previous.DataOffsets.End)
            {
                throw Fail(filePath, current.Name, SafeTensorsFormatRule.OverlappingData,
                    $"data_offsets [{current.DataOffsets.Begin}, {current.DataOffsets.End}] overlap those of '{previous.Name}' " +
                    $"[{previous.DataOffsets.Begin}, {previous.DataOffsets.End}].");
            }
        }
    }

    /// <summary>The current token for a message, its text cut to a few dozen bytes.</summary>
    private static string Token(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String or JsonTokenType.PropertyName))
        {
            return $"a {Describe(reader.TokenType)}";
        }

        const int Shown = 40;
        ReadOnlySpan<byte> text = reader.ValueSpan;
        string shown = System.Text.Encoding.UTF8.GetString(text[..Math.Min(text.Length, Shown)]);
        return $"{Describe(reader.TokenType)} \"{shown}{(text.Length > Shown ? "…" : "")}\"";
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String or JsonTokenType.PropertyName => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };

    private static SafeTensorsFormatException Fail(
        string filePath, string? name, SafeTensorsFormatRule rule, string detail, Exception? inner = null) =>
        new(filePath, name, rule, detail, inner);
}
