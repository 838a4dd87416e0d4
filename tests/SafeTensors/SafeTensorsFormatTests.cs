using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>One malformed file per rule of the format: each gets <see cref="SafeTensorsFormatException"/> naming the file, the tensor and the rule.</summary>
public sealed class SafeTensorsFormatTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly byte[] s_eightBytes = new byte[8];

    private SafeTensorsFormatException Refused(byte[] file, SafeTensorsFormatRule rule, string? tensor)
    {
        string path = _folder.File($"{rule}.safetensors");
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal(rule, e.Rule);
        Assert.Equal(tensor, e.TensorName);
        Assert.Equal(Path.GetFullPath(path), e.FilePath);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(rule.ToString(), e.Message, StringComparison.Ordinal);
        if (tensor is not null)
        {
            Assert.Contains($"'{tensor[..Math.Min(tensor.Length, 100)]}", e.Message, StringComparison.Ordinal);
        }

        return e;
    }

    private SafeTensorsFormatException Refused(string header, ReadOnlySpan<byte> data, SafeTensorsFormatRule rule, string? tensor) =>
        Refused(RawSafeTensors.Build(header, data), rule, tensor);

    [Fact]
    public void A_file_shorter_than_the_length_field_is_refused()
    {
        Refused([], SafeTensorsFormatRule.FileTooShort, null);
        Refused([1, 0, 0, 0, 0, 0, 0], SafeTensorsFormatRule.FileTooShort, null);
    }

    [Fact]
    public void A_header_length_past_the_end_of_the_file_is_refused()
    {
        byte[] file = RawSafeTensors.Build("{}", []);
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)file.Length - 7);
        Refused(file, SafeTensorsFormatRule.HeaderLengthBeyondFile, null);
        BinaryPrimitives.WriteUInt64LittleEndian(file, ulong.MaxValue);
        Refused(file, SafeTensorsFormatRule.HeaderLengthBeyondFile, null);
    }

    [Fact]
    public void A_header_over_100_MiB_is_refused_even_inside_the_file()
    {
        string path = _folder.File("huge.safetensors");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            // Sparse: the length is set without writing the bytes.
            stream.SetLength(8 + SafeTensorsFile.MaxHeaderBytes + 8);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)SafeTensorsFile.MaxHeaderBytes + 1);
            stream.Write(length);
        }

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal(SafeTensorsFormatRule.HeaderTooLarge, e.Rule);
    }

    [Fact]
    public void A_header_that_is_not_UTF8_is_refused()
    {
        byte[] header = [.. "{\"a"u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"u8];
        Refused(RawSafeTensors.Build(header, []), SafeTensorsFormatRule.HeaderNotUtf8, null);
    }

    [Theory]
    [InlineData("{\"a\":")]
    [InlineData("{} x")]
    [InlineData("{,}")]
    [InlineData("{/*c*/}")]
    [InlineData("")]
    [InlineData("{\"\\uD800\":{}}")]
    public void A_header_that_is_not_JSON_is_refused(string header) =>
        Refused(header, [], SafeTensorsFormatRule.HeaderNotJson, null);

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("7")]
    public void A_header_that_is_not_an_object_is_refused(string header) =>
        Refused(header, [], SafeTensorsFormatRule.HeaderNotObject, null);

    [Fact]
    public void A_tensor_named_twice_is_refused()
    {
        const string entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        Refused($"{{\"a\":{entry},\"a\":{entry}}}", s_eightBytes, SafeTensorsFormatRule.DuplicateName, "a");
        Refused("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", s_eightBytes, SafeTensorsFormatRule.DuplicateName, "a");
        Refused("{\"__metadata__\":{},\"__metadata__\":{}}", [], SafeTensorsFormatRule.DuplicateName, "__metadata__");
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("\"F32\"")]
    [InlineData("null")]
    public void An_entry_that_is_not_an_object_is_refused(string entry) =>
        Refused($"{{\"w\":{entry}}}", [], SafeTensorsFormatRule.EntryNotObject, "w");

    [Theory]
    [InlineData("{\"shape\":[1],\"data_offsets\":[0,4]}")]
    [InlineData("{\"dtype\":\"F32\",\"data_offsets\":[0,4]}")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1]}")]
    public void An_entry_missing_a_field_is_refused(string entry) =>
        Refused($"{{\"w\":{entry}}}", s_eightBytes, SafeTensorsFormatRule.MissingField, "w");

    [Fact]
    public void An_entry_with_an_unknown_field_is_refused() =>
        Refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"stride\":[1]}}", s_eightBytes, SafeTensorsFormatRule.UnknownField, "w");

    [Theory]
    [InlineData("\"F31\"")]
    [InlineData("\"f32\"")]
    [InlineData("\"F\\u0033\\u0032\"")]
    [InlineData("32")]
    public void An_unknown_dtype_is_refused(string dtype) =>
        Refused($"{{\"w\":{{\"dtype\":{dtype},\"shape\":[1],\"data_offsets\":[0,4]}}}}", s_eightBytes, SafeTensorsFormatRule.UnknownDType, "w");

    [Theory]
    [InlineData("[-1]")]
    [InlineData("[1.5]")]
    [InlineData("[1e2]")]
    [InlineData("[\"1\"]")]
    [InlineData("[[1]]")]
    [InlineData("[9223372036854775808]")]
    [InlineData("{}")]
    [InlineData("1")]
    public void An_invalid_shape_is_refused(string shape) =>
        Refused($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,4]}}}}", s_eightBytes, SafeTensorsFormatRule.InvalidShape, "w");

    [Fact]
    public void A_shape_of_more_than_MaxRank_dimensions_is_refused()
    {
        string ones = string.Join(",", Enumerable.Repeat("1", SafeTensorsFile.MaxRank + 1));
        Refused($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":[{ones}],\"data_offsets\":[0,4]}}}}", s_eightBytes, SafeTensorsFormatRule.InvalidShape, "w");
    }

    [Theory]
    [InlineData("[0]")]
    [InlineData("[0,4,8]")]
    [InlineData("[]")]
    [InlineData("[-4,0]")]
    [InlineData("[0,4.0]")]
    [InlineData("[\"0\",4]")]
    [InlineData("{\"begin\":0}")]
    public void Invalid_data_offsets_are_refused(string offsets) =>
        Refused($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{offsets}}}}}", s_eightBytes, SafeTensorsFormatRule.InvalidDataOffsets, "w");

    [Fact]
    public void Data_offsets_that_end_before_they_begin_are_refused() =>
        Refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[16], SafeTensorsFormatRule.OffsetsReversed, "w");

    [Fact]
    public void Data_offsets_past_the_data_section_are_refused()
    {
        Refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", s_eightBytes, SafeTensorsFormatRule.OffsetsBeyondData, "w");
        Refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[9,9]}}", s_eightBytes, SafeTensorsFormatRule.OffsetsBeyondData, "w");
    }

    [Theory]
    [InlineData("[4611686018427387904,4]")]
    [InlineData("[3037000500,3037000500,1]")]
    [InlineData("[9223372036854775807,2]")]
    public void A_size_that_overflows_is_refused(string shape) =>
        Refused($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,8]}}}}", s_eightBytes, SafeTensorsFormatRule.SizeOverflow, "w");

    [Theory]
    [InlineData("F32", "[3]", "[0,8]")]
    [InlineData("BF16", "[2,2]", "[0,4]")]
    [InlineData("F64", "[]", "[0,4]")]
    [InlineData("F32", "[0]", "[0,4]")]
    public void A_byte_range_of_the_wrong_length_is_refused(string dtype, string shape, string offsets) =>
        Refused($"{{\"w\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}}}", new byte[16], SafeTensorsFormatRule.SizeMismatch, "w");

    [Fact]
    public void Overlapping_byte_ranges_are_refused()
    {
        var e = Refused(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            new byte[16], SafeTensorsFormatRule.OverlappingData, "b");
        Assert.Contains("'a'", e.Message, StringComparison.Ordinal);
        Refused(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}",
            new byte[16], SafeTensorsFormatRule.OverlappingData, "b");
    }

    [Fact]
    public void Empty_ranges_may_touch_or_sit_inside_others()
    {
        string path = RawSafeTensors.Write(_folder, "empty.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]}," +
            "\"f\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[8,8]},\"g\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[0,0]}}",
            new byte[8]);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["a", "e", "f", "g"], file.Names);
        Assert.Empty(file.ReadFloat32("e"));
    }

    [Theory]
    [InlineData("[\"a\"]")]
    [InlineData("\"a\"")]
    [InlineData("{\"k\":1}")]
    [InlineData("{\"k\":null}")]
    [InlineData("{\"k\":{\"n\":\"v\"}}")]
    [InlineData("{\"k\":\"v\",\"k\":\"w\"}")]
    public void Metadata_that_is_not_a_map_of_strings_is_refused(string metadata) =>
        Refused($"{{\"__metadata__\":{metadata}}}", [], SafeTensorsFormatRule.InvalidMetadata, "__metadata__");

    [Fact]
    public void A_long_name_in_a_message_is_shortened()
    {
        string name = new('n', 100_000);
        var e = Refused($"{{\"{name}\":[]}}", [], SafeTensorsFormatRule.EntryNotObject, name);
        Assert.True(e.Message.Length < 1000, $"The message has {e.Message.Length} characters.");
    }

    [Fact]
    public void The_header_may_be_exactly_the_rest_of_the_file_and_unpadded()
    {
        byte[] header = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"k\":\"v\"}}");
        var file = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        string path = _folder.File("exact.safetensors");
        File.WriteAllBytes(path, file);
        using var opened = SafeTensorsFile.Open(path);
        Assert.Equal("v", opened.Metadata["k"]);
        Assert.Equal(0, opened.DataLength);
    }
}
