using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using BlasLinear.Reference;
using Xunit;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>Reading and writing: exact round trips, the conversions, the header's layout, atomic replacement.</summary>
public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static float[] SpecialValues() =>
    [
        0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity,
        float.NegativeInfinity, float.NaN, BitConverter.UInt32BitsToSingle(0x7F800001), BitConverter.UInt32BitsToSingle(0xFFC12345),
        1.17549421e-38f, 3.14159274f, 1e-45f, 65504f, 65520f, 1.00390625f, 1.01171875f,
    ];

    [Fact]
    public void F32_round_trips_bit_for_bit_with_shapes_and_metadata()
    {
        float[] values = [.. SpecialValues(), .. TestData.Uniform(1000, 3, -1e6f, 1e6f)];
        string path = _folder.File("round.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcødé \"quoted\" <tag> +" };
        SafeTensorsFile.Save(path,
        [
            new SafeTensor("values", [values.Length], values),
            new SafeTensor("matrix", [4, 5], values.AsMemory(0, 20)),
            new SafeTensor("scalar", Array.Empty<long>(), new[] { 2.5f }),
            new SafeTensor("empty", [0, 7], ReadOnlyMemory<float>.Empty),
        ], metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["empty", "matrix", "scalar", "values"], file.Names);
        Assert.Equal(metadata, file.Metadata);
        AssertBits(values, file.ReadFloat32("values"));
        AssertBits(values.AsSpan(0, 20).ToArray(), file.ReadFloat32("matrix"));
        Assert.Equal([4L, 5L], file.GetInfo("matrix").Shape);
        Assert.Equal([2.5f], file.ReadFloat32("scalar"));
        Assert.Empty(file.GetInfo("scalar").Shape);
        Assert.Equal(1, file.GetInfo("scalar").ElementCount);
        Assert.Equal([0L, 7L], file.GetInfo("empty").Shape);
        Assert.Empty(file.ReadFloat32("empty"));
        Assert.True(file.TryGetFloat32Span("values", out ReadOnlySpan<float> inPlace));
        AssertBits(values, inPlace.ToArray());
        Assert.Equal(values.Length * 4, file.GetBytes("values").Length);
    }

    [Fact]
    public void The_header_is_padded_with_spaces_to_8_bytes_and_keys_are_in_ordinal_order()
    {
        string path = _folder.File("layout.safetensors");
        // Names chosen so that ordinal order differs from culture-aware order.
        SafeTensorsFile.Save(path,
        [
            new SafeTensor("b", [1], new[] { 1f }, SafeTensorDType.BF16),
            new SafeTensor("a", [3], new[] { 1f, 2f, 3f }),
            new SafeTensor("B", [1], new[] { 1f }, SafeTensorDType.F16),
            new SafeTensor("_x", [1], new[] { 1f }, SafeTensorDType.F64),
        ], new Dictionary<string, string> { ["z"] = "1", ["A"] = "2" });

        byte[] bytes = File.ReadAllBytes(path);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + length) % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)length);
        Assert.Equal(header.TrimEnd(' '), header.TrimEnd());
        Assert.EndsWith("}", header.TrimEnd(' '), StringComparison.Ordinal);
        using JsonDocument json = JsonDocument.Parse(header);
        string[] keys = json.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["__metadata__", "B", "_x", "a", "b"], keys);
        Assert.Equal(["A", "z"], json.RootElement.GetProperty("__metadata__").EnumerateObject().Select(p => p.Name));
        Assert.Equal("F16", json.RootElement.GetProperty("B").GetProperty("dtype").GetString());
        Assert.Equal("[0,2]", json.RootElement.GetProperty("B").GetProperty("data_offsets").GetRawText());
        Assert.Equal("[2,10]", json.RootElement.GetProperty("_x").GetProperty("data_offsets").GetRawText());
        Assert.Equal("[22,24]", json.RootElement.GetProperty("b").GetProperty("data_offsets").GetRawText());
        Assert.Equal(8 + (long)length + 24, bytes.Length);
    }

    [Fact]
    public void Every_BF16_and_F16_bit_pattern_widens_exactly()
    {
        var bf16 = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bf16.AsSpan(2 * i), (ushort)i);
        }

        string path = RawSafeTensors.Write(_folder, "all.safetensors",
            "{\"bf\":{\"dtype\":\"BF16\",\"shape\":[65536],\"data_offsets\":[0,131072]},\"h\":{\"dtype\":\"F16\",\"shape\":[256,256],\"data_offsets\":[131072,262144]}}",
            [.. bf16, .. bf16]);
        using var file = SafeTensorsFile.Open(path);
        float[] widenedBf16 = file.ReadFloat32("bf");
        float[] widenedF16 = file.ReadFloat32("h");
        for (int i = 0; i < 65536; i++)
        {
            Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(widenedBf16[i]));
            double expected = HalfByHand((ushort)i);
            if (double.IsNaN(expected))
            {
                Assert.True(float.IsNaN(widenedF16[i]), $"F16 0x{i:X4} should widen to NaN.");
            }
            else
            {
                Assert.True(expected.Equals(widenedF16[i]), $"F16 0x{i:X4}: {widenedF16[i]:R}, expected {expected:R}.");
            }
        }
    }

    [Fact]
    public void F64_rounds_to_the_nearest_float32_ties_to_even()
    {
        double[] values =
        [
            1 + Math.Pow(2, -24), 1 + 3 * Math.Pow(2, -24), 1 + Math.Pow(2, -24) + Math.Pow(2, -50), 1e300, -1e300,
            Math.Pow(2, -150), 3 * Math.Pow(2, -151), double.NaN, -0.0, 0.1,
        ];
        float[] expected =
        [
            1f, 1 + 2 * (float)Math.Pow(2, -23), 1 + (float)Math.Pow(2, -23), float.PositiveInfinity, float.NegativeInfinity,
            0f, float.Epsilon, float.NaN, -0f, 0.1f,
        ];
        byte[] data = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * i), values[i]);
        }

        string path = RawSafeTensors.Write(_folder, "f64.safetensors",
            $"{{\"d\":{{\"dtype\":\"F64\",\"shape\":[{values.Length}],\"data_offsets\":[0,{data.Length}]}}}}", data);
        using var file = SafeTensorsFile.Open(path);
        AssertBits(expected, file.ReadFloat32("d"));
    }

    [Fact]
    public void Writing_BF16_and_F16_rounds_to_nearest_even_and_keeps_NaN()
    {
        float[] values = [.. SpecialValues(), .. TestData.Uniform(20_000, 9, -70000f, 70000f), .. TestData.Uniform(2000, 10, -1e-6f, 1e-6f)];
        string path = _folder.File("narrow.safetensors");
        SafeTensorsFile.Save(path,
        [
            new SafeTensor("bf", [values.Length], values, SafeTensorDType.BF16),
            new SafeTensor("h", [values.Length], values, SafeTensorDType.F16),
            new SafeTensor("d", [values.Length], values, SafeTensorDType.F64),
        ]);
        using var file = SafeTensorsFile.Open(path);
        float[] bf = file.ReadFloat32("bf"), h = file.ReadFloat32("h"), d = file.ReadFloat32("d");
        AssertBits(values, d);
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsNaN(v))
            {
                Assert.True(float.IsNaN(bf[i]) && float.IsNaN(h[i]), $"NaN 0x{BitConverter.SingleToUInt32Bits(v):X8} must stay NaN.");
                continue;
            }

            Assert.True(NearestEven(v, BFloat16Neighbours(v), Math.Pow(2, 128)).Equals(bf[i]), $"BF16 of {v:R}: {bf[i]:R}");
            Assert.True(NearestEven(v, HalfNeighbours(v), 65536).Equals(h[i]), $"F16 of {v:R}: {h[i]:R}");
        }

        // Golden ties: halfway cases go to the even neighbour.
        Assert.Equal(1f, bf[Array.IndexOf(values, 1.00390625f)]);
        Assert.Equal(1.015625f, bf[Array.IndexOf(values, 1.01171875f)]);
        Assert.Equal(float.PositiveInfinity, h[Array.IndexOf(values, 65520f)]);
        Assert.Equal(65504f, h[Array.IndexOf(values, 65504f)]);
    }

    [Fact]
    public void Unaligned_F32_data_is_read_correctly_and_not_viewed_in_place()
    {
        float[] values = TestData.Uniform(9, 4);
        var data = new byte[2 + 36];
        BinaryPrimitives.WriteUInt16LittleEndian(data, 0x3F80);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(2 + 4 * i), values[i]);
        }

        string path = RawSafeTensors.Write(_folder, "unaligned.safetensors",
            "{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]},\"w\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[2,38]}}", data);
        using var file = SafeTensorsFile.Open(path);
        Assert.False(file.TryGetFloat32Span("w", out ReadOnlySpan<float> none));
        Assert.True(none.IsEmpty);
        AssertBits(values, file.ReadFloat32("w"));
        Assert.Equal([1f], file.ReadFloat32("a"));
        Assert.False(file.TryGetFloat32Span("a", out _));
    }

    [Fact]
    public void Other_dtypes_open_but_are_not_read_as_float32()
    {
        string path = RawSafeTensors.Write(_folder, "ints.safetensors",
            "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[8,9]},\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[9,10]}}",
            [1, 0, 0, 0, 2, 0, 0, 0, 1, 0x38]);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(SafeTensorDType.I32, file.GetInfo("i").DType);
        Assert.Equal(SafeTensorDType.Bool, file.GetInfo("b").DType);
        Assert.Equal(SafeTensorDType.F8E4M3, file.GetInfo("e").DType);
        Assert.Throws<NotSupportedException>(() => file.ReadFloat32("i"));
        Assert.Throws<NotSupportedException>(() => file.ReadFloat32("b", new float[1]));
        Assert.Equal(new byte[] { 1, 0, 0, 0, 2, 0, 0, 0 }, file.GetBytes("i").ToArray());
    }

    [Fact]
    public void Misuse_gets_its_exception()
    {
        string path = _folder.File("misuse.safetensors");
        SafeTensorsFile.Save(path, [new SafeTensor("w", [2, 2], new float[4])]);
        var file = SafeTensorsFile.Open(path);
        Assert.Throws<KeyNotFoundException>(() => file.ReadFloat32("nope"));
        Assert.Throws<ArgumentException>(() => file.ReadFloat32("w", new float[3]));
        Assert.Throws<ArgumentNullException>(() => file.Contains(null!));
        Assert.False(file.Contains("nope"));
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.ReadFloat32("w"));
        Assert.Throws<ObjectDisposedException>(() => file.GetBytes("w"));
        Assert.Throws<FileNotFoundException>(() => SafeTensorsFile.Open(_folder.File("missing.safetensors")));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Open(""));
    }

    [Fact]
    public void Save_refuses_bad_tensors_before_touching_the_file()
    {
        string path = _folder.File("bad.safetensors");
        Assert.Throws<ArgumentException>(() => new SafeTensor("w", [2, 3], new float[5]));
        Assert.Throws<ArgumentException>(() => new SafeTensor("w", [-1], Array.Empty<float>()));
        Assert.Throws<ArgumentException>(() => new SafeTensor("__metadata__", [1], new float[1]));
        Assert.Throws<NotSupportedException>(() => new SafeTensor("w", [1], new float[1], SafeTensorDType.I32));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("w", [1], new float[1]), new SafeTensor("w", [1], new float[1])]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [null!]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [], new Dictionary<string, string> { ["k"] = null! }));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Save_replaces_the_file_atomically_and_a_failed_save_leaves_the_old_one()
    {
        string path = _folder.File("model.safetensors");
        SafeTensorsFile.Save(path, [new SafeTensor("w", [2], new[] { 1f, 2f })]);
        using var before = SafeTensorsFile.Open(path);

        // A reader that has the old file open keeps reading it after the replacement.
        SafeTensorsFile.Save(path, [new SafeTensor("w", [3], new[] { 7f, 8f, 9f })]);
        Assert.Equal([1f, 2f], before.ReadFloat32("w"));
        using (var after = SafeTensorsFile.Open(path))
        {
            Assert.Equal([7f, 8f, 9f], after.ReadFloat32("w"));
        }

        // The data fails while it is being written, after the header: the old file stays, no temporary is left.
        byte[] old = File.ReadAllBytes(path);
        var failing = new FailingMemory(4);
        Assert.Throws<IOException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [1], new[] { 1f }), new SafeTensor("b", [4], failing.Memory)]));
        Assert.True(failing.WasRead);
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Reads_from_many_threads_agree()
    {
        float[] values = TestData.Uniform(4096, 5);
        string path = _folder.File("threads.safetensors");
        SafeTensorsFile.Save(path, [new SafeTensor("w", [64, 64], values), new SafeTensor("h", [64, 64], values, SafeTensorDType.BF16)]);
        using var file = SafeTensorsFile.Open(path);
        float[] h = file.ReadFloat32("h");
        Parallel.For(0, 64, _ =>
        {
            AssertBits(values, file.ReadFloat32("w"));
            AssertBits(h, file.ReadFloat32("h"));
        });
    }

    internal static void AssertBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                Assert.Fail($"Element {i}: 0x{BitConverter.SingleToUInt32Bits(actual[i]):X8}, expected 0x{BitConverter.SingleToUInt32Bits(expected[i]):X8}.");
            }
        }
    }

    /// <summary>IEEE binary16 decoded from its fields, independently of <see cref="Half"/>.</summary>
    private static double HalfByHand(ushort bits)
    {
        int sign = bits >> 15, exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
        double magnitude = exponent switch
        {
            0 => Math.ScaleB(mantissa, -24),
            31 => mantissa == 0 ? double.PositiveInfinity : double.NaN,
            _ => Math.ScaleB(1024 + mantissa, exponent - 25),
        };
        return sign == 1 ? -magnitude : magnitude;
    }

    /// <summary>The two bfloat16 values around v (truncation and the next one up in magnitude), as floats.</summary>
    private static (double Low, double High, bool LowIsEven) BFloat16Neighbours(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v) & 0xFFFF0000;
        double low = BitConverter.UInt32BitsToSingle(bits), high = BitConverter.UInt32BitsToSingle(bits + 0x10000);
        if (double.IsInfinity(high))
        {
            // Past the largest finite value the rounding treats 2^128 as the next step: it overflows to infinity there.
            high = Math.CopySign(Math.Pow(2, 128), low);
        }

        return (low, high, (bits & 0x10000) == 0);
    }

    /// <summary>The two binary16 values around v, found by bisection over the patterns of v's sign.</summary>
    private static (double Low, double High, bool LowIsEven) HalfNeighbours(float v)
    {
        ushort sign = (ushort)(v < 0 || (v == 0 && float.IsNegative(v)) ? 0x8000 : 0);
        double magnitude = Math.Abs((double)v);
        // Positive binary16 patterns are ordered like their values: find the largest one not above |v|.
        int lo = 0, hi = 0x7C00;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (HalfByHand((ushort)mid) <= magnitude)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        ushort lowBits = (ushort)lo;
        double low = HalfByHand(lowBits), high = lowBits == 0x7C00 ? double.PositiveInfinity : HalfByHand((ushort)(lowBits + 1));
        if (lowBits == 0x7BFF)
        {
            // Past the largest finite value the rounding treats 2^16 as the next step: it overflows to infinity there.
            high = 65536;
        }

        return sign == 0 ? (low, high, (lowBits & 1) == 0) : (-low, -high, (lowBits & 1) == 0);
    }

    /// <summary>The neighbour nearer to v, the even one on a tie; <paramref name="overflow"/>, the step past the largest finite value, stands for infinity.</summary>
    private static float NearestEven(float v, (double Low, double High, bool LowIsEven) n, double overflow)
    {
        if (float.IsInfinity(v) || n.Low == v)
        {
            return v == 0 ? v : (float)n.Low;
        }

        double toLow = Math.Abs(v - n.Low), toHigh = Math.Abs(n.High - v);
        double chosen = toLow < toHigh || (toLow == toHigh && n.LowIsEven) ? n.Low : n.High;
        return Math.Abs(chosen) == overflow ? (v < 0 ? float.NegativeInfinity : float.PositiveInfinity) : (float)chosen;
    }

    /// <summary>Memory whose span cannot be taken: stands for data that fails while a file is being written.</summary>
    private sealed class FailingMemory(int length) : MemoryManager<float>
    {
        public bool WasRead { get; private set; }

        public override Span<float> GetSpan()
        {
            WasRead = true;
            throw new IOException("The data could not be read.");
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }

        public new Memory<float> Memory => CreateMemory(length);
    }
}
