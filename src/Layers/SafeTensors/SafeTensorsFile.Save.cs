using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BlasLinear;

public sealed partial class SafeTensorsFile
{
    private const int ChunkElements = 16 * 1024;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> as a
    /// safetensors file, atomically: the file is written beside the target under a temporary name, flushed
    /// to disk, then renamed over <paramref name="path"/>, so a reader sees the old file or the new one,
    /// never a torn one. Keys are in ordinal order (<c>__metadata__</c> first), the data follows in the
    /// same order with no gaps, and the header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">The tensors, each stored as its <see cref="SafeTensor.DType"/>.</param>
    /// <param name="metadata">The <c>__metadata__</c> string map, or null for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> or <paramref name="tensors"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="path"/> is empty, a tensor is null, two tensors share a name, a metadata value is null,
    /// or the header would exceed <see cref="MaxHeaderBytes"/>.
    /// </exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or file cannot be written.</exception>
    /// <exception cref="IOException">Writing, flushing or renaming failed; <paramref name="path"/> is left as it was.</exception>
    public static void Save(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        string fullPath = Path.GetFullPath(path);
        SafeTensor[] ordered = Order(tensors);
        byte[] header = BuildHeader(ordered, metadata);

        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{fullPath}' names no file.", nameof(path));
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                WriteData(stream, ordered);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static SafeTensor[] Order(IEnumerable<SafeTensor> tensors)
    {
        SafeTensor[] ordered = tensors.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SafeTensor? tensor in ordered)
        {
            if (tensor is null)
            {
                throw new ArgumentException("A tensor is null.", nameof(tensors));
            }

            if (!names.Add(tensor.Name))
            {
                throw new ArgumentException($"Two tensors are named '{tensor.Name}'.", nameof(tensors));
            }
        }

        Array.Sort(ordered, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return ordered;
    }

    private static byte[] BuildHeader(SafeTensor[] tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        // Only the JSON string escapes that the format needs; the header is never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (KeyValuePair<string, string> entry in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (entry.Value is null)
                    {
                        throw new ArgumentException($"The metadata value of '{entry.Key}' is null.", nameof(metadata));
                    }

                    json.WriteString(entry.Key, entry.Value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (SafeTensor tensor in tensors)
            {
                long end = checked(offset + (long)tensor.Data.Length * SafeTensorDTypes.SizeOf(tensor.DType));
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", SafeTensorDTypes.HeaderName(tensor.DType));
                json.WriteStartArray("shape");
                foreach (long dimension in tensor.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + 7) & ~7;
        if (padded > MaxHeaderBytes)
        {
            throw new ArgumentException($"The header would take {padded} bytes; the format's readers accept at most {MaxHeaderBytes}.", nameof(tensors));
        }

        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(FileStream stream, SafeTensor[] tensors)
    {
        byte[]? chunk = null;
        foreach (SafeTensor tensor in tensors)
        {
            ReadOnlySpan<float> values = tensor.Data.Span;
            if (tensor.DType == SafeTensorDType.F32 && BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(values));
                continue;
            }

            int size = SafeTensorDTypes.SizeOf(tensor.DType);
            chunk ??= new byte[ChunkElements * 8];
            for (int start = 0; start < values.Length; start += ChunkElements)
            {
                ReadOnlySpan<float> part = values.Slice(start, Math.Min(ChunkElements, values.Length - start));
                Span<byte> bytes = chunk.AsSpan(0, part.Length * size);
                Float32Conversions.FromFloat32(tensor.DType, part, bytes);
                stream.Write(bytes);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The write already failed; that failure is the one to report.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
