using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace BlasLinear;

/// <summary>
/// A safetensors file (Hugging Face's format: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the raw little-endian data), opened read-only and
/// memory-mapped. The header is validated completely by <see cref="Open"/>; tensors are read on demand,
/// straight from the mapping.
/// </summary>
/// <remarks>
/// <para>The file is untrusted input: every rule of the format is checked before anything the header's
/// numbers would size is allocated, and every violation throws <see cref="SafeTensorsFormatException"/>.
/// The header may be at most <see cref="MaxHeaderBytes"/> bytes and a shape at most <see cref="MaxRank"/>
/// dimensions. Byte ranges may leave gaps between them but may not overlap.</para>
/// <para>Reads may run on many threads at once. The mapping stays valid until <see cref="Dispose"/>; spans
/// handed out by <see cref="GetBytes"/> and <see cref="TryGetFloat32Span"/> must not be used after it.
/// Another process truncating the file while it is mapped is outside what any mapping can guard against.</para>
/// </remarks>
public sealed unsafe partial class SafeTensorsFile : IDisposable
{
    /// <summary>The largest header accepted, in bytes (100 MiB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>The most dimensions a shape may have.</summary>
    public const int MaxRank = 64;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private int _disposed;

    private SafeTensorsFile(
        string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data, long dataLength,
        List<SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _data = data;
        DataLength = dataLength;
        Tensors = tensors.AsReadOnly();
        Names = tensors.Select(t => t.Name).ToArray();
        Metadata = metadata.AsReadOnly();
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The tensors' names, in the header's order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Every tensor's entry, in the header's order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The size of the data section, the bytes after the header.</summary>
    public long DataLength { get; }

    /// <summary>
    /// Opens <paramref name="path"/> read-only, maps it and validates its header.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The open file; dispose it to unmap.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or not a valid path.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">A folder on the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    /// <exception cref="IOException">The file cannot be opened or mapped.</exception>
    /// <exception cref="SafeTensorsFormatException">The file breaks a rule of the format; <see cref="SafeTensorsFormatException.Rule"/> says which.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        FileStream? stream = null;
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            long fileLength = stream.Length;
            if (fileLength < 8)
            {
                throw new SafeTensorsFormatException(fullPath, null, SafeTensorsFormatRule.FileTooShort,
                    $"the file has {fileLength} bytes; the header length alone takes 8.");
            }

            map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            stream = null;
            view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            acquired = true;
            pointer += view.PointerOffset;

            ulong headerLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer, 8));
            if (headerLength > (ulong)(fileLength - 8))
            {
                throw new SafeTensorsFormatException(fullPath, null, SafeTensorsFormatRule.HeaderLengthBeyondFile,
                    $"the header length {headerLength} runs past the {fileLength - 8} bytes that follow it.");
            }

            if (headerLength > MaxHeaderBytes)
            {
                throw new SafeTensorsFormatException(fullPath, null, SafeTensorsFormatRule.HeaderTooLarge,
                    $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
            }

            var header = new ReadOnlySpan<byte>(pointer + 8, (int)headerLength);
            long dataLength = fileLength - 8 - (long)headerLength;
            (List<SafeTensorInfo> tensors, Dictionary<string, string> metadata) = SafeTensorsHeader.Parse(fullPath, header, dataLength);
            return new SafeTensorsFile(fullPath, map, view, pointer + 8 + headerLength, dataLength, tensors, metadata);
        }
        catch
        {
            if (acquired)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            map?.Dispose();
            stream?.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.ContainsKey(name);
    }

    /// <summary>The entry of the tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    public SafeTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out SafeTensorInfo? info)
            ? info
            : throw new KeyNotFoundException($"'{FilePath}' holds no tensor named '{name}'.");
    }

    /// <summary>Looks up the entry of the tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public bool TryGetInfo(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeTensorInfo? info)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out info);
    }

    /// <summary>
    /// Reads the tensor named <paramref name="name"/> as float32 into <paramref name="destination"/>, which
    /// must have exactly its element count. F32 is copied, BF16 and F16 widen exactly, F64 rounds to the
    /// nearest float32 (ties to even; beyond float32's range, ±∞).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor's dtype is not F32, F16, BF16 or F64, or its data exceeds 2 GiB.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/>'s length is not the tensor's element count.</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public void ReadFloat32(string name, Span<float> destination)
    {
        SafeTensorInfo info = GetInfo(name);
        CheckReadable(info);
        if (info.ElementCount != destination.Length)
        {
            throw new ArgumentException(
                $"Tensor '{name}' of shape {info.ShapeText} has {info.ElementCount} elements; the destination has {destination.Length}.",
                nameof(destination));
        }

        AddRef();
        try
        {
            Float32Conversions.ToFloat32(info.DType, DataOf(info), destination);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>The tensor named <paramref name="name"/> as float32, in a new array (see <see cref="ReadFloat32(string, Span{float})"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor's dtype is not F32, F16, BF16 or F64, or it has more elements than an array holds.</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public float[] ReadFloat32(string name)
    {
        SafeTensorInfo info = GetInfo(name);
        CheckReadable(info);
        var values = new float[info.ElementCount];
        ReadFloat32(name, values);
        return values;
    }

    /// <summary>
    /// The stored bytes of the tensor named <paramref name="name"/>, any dtype, little-endian, without a
    /// copy. The span reads the mapping and is valid until <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is larger than a span holds (2 GiB).</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        SafeTensorInfo info = GetInfo(name);
        ThrowIfDisposed();
        return DataOf(info);
    }

    /// <summary>
    /// The F32 tensor named <paramref name="name"/> as float32 values read in place from the mapping, without
    /// a copy: possible when its data is 4-byte aligned (safetensors does not require it) on a little-endian
    /// machine. The span is valid until <see cref="Dispose"/>.
    /// </summary>
    /// <returns>False, with an empty span, when the tensor is not F32 or its data is not aligned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The file holds no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is larger than a span holds (2 GiB).</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public bool TryGetFloat32Span(string name, out ReadOnlySpan<float> values)
    {
        SafeTensorInfo info = GetInfo(name);
        ThrowIfDisposed();
        return TryViewFloat32(info, out values);
    }

    /// <summary>Unmaps the file; a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Readers inside AddRef/Release keep the mapping alive until they finish.
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    /// <summary>Keeps the mapping alive across a read; pair with <see cref="Release"/>.</summary>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    internal void AddRef()
    {
        ThrowIfDisposed();
        byte* unused = null;
        try
        {
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref unused);
        }
        catch (ObjectDisposedException)
        {
            ThrowDisposed();
        }
    }

    internal void Release() => _view.SafeMemoryMappedViewHandle.ReleasePointer();

    /// <summary>The tensor's bytes in the mapping; call between <see cref="AddRef"/> and <see cref="Release"/>.</summary>
    internal ReadOnlySpan<byte> DataOf(SafeTensorInfo info)
    {
        if (info.ByteLength > int.MaxValue)
        {
            throw new NotSupportedException(
                $"Tensor '{info.Name}' of shape {info.ShapeText} has {info.ByteLength} bytes, more than a span holds.");
        }

        return new ReadOnlySpan<byte>(_data + info.DataOffsets.Begin, (int)info.ByteLength);
    }

    /// <summary>The F32 tensor's values in place when aligned on a little-endian machine; call between <see cref="AddRef"/> and <see cref="Release"/>.</summary>
    internal bool TryViewFloat32(SafeTensorInfo info, out ReadOnlySpan<float> values)
    {
        ReadOnlySpan<byte> bytes = DataOf(info);
        bool inPlace = info.DType == SafeTensorDType.F32 && BitConverter.IsLittleEndian
            && ((nuint)(_data + info.DataOffsets.Begin) & 3) == 0;
        values = inPlace ? MemoryMarshal.Cast<byte, float>(bytes) : default;
        return inPlace;
    }

    /// <exception cref="NotSupportedException">The tensor's dtype is not F32, F16, BF16 or F64, or it has more elements than an array holds.</exception>
    internal static void CheckReadable(SafeTensorInfo info)
    {
        if (!SafeTensorDTypes.IsReadableAsFloat32(info.DType))
        {
            throw new NotSupportedException(
                $"Tensor '{info.Name}' is {SafeTensorDTypes.HeaderName(info.DType)}; only F32, F16, BF16 and F64 can be read as float32.");
        }

        if (info.ElementCount > Array.MaxLength)
        {
            throw new NotSupportedException(
                $"Tensor '{info.Name}' of shape {info.ShapeText} has {info.ElementCount} elements, more than an array holds.");
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThrowDisposed();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException($"SafeTensorsFile '{FilePath}'");
}
