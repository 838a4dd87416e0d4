using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using BlasLinear.Reference;
using CsCheck;
using Xunit;
using Xunit.Abstractions;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>
/// Valid files mutated at random (bit flips, byte overwrites, truncation, appended bytes, a changed header
/// length, and header edits: numbers changed, keys removed, entries duplicated, offsets swapped, dtypes
/// changed, text cut out): every one either opens and reads consistently, or is refused with
/// <see cref="SafeTensorsFormatException"/>. Nothing else: no other exception, no crash, no hang.
/// </summary>
public sealed partial class SafeTensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 5000;

    private readonly TempFolder _folder = new();
    private int _fileNumber;

    public void Dispose() => _folder.Dispose();

    private enum Mutation
    {
        FlipBits,
        OverwriteBytes,
        Truncate,
        Append,
        HeaderLength,
        HeaderNumber,
        RemoveField,
        DuplicateEntry,
        SwapOffsets,
        ChangeDType,
        CutHeaderText,
    }

    [Fact]
    public void Mutated_files_open_consistently_or_are_refused_with_the_format_exception()
    {
        byte[][] bases = BaseFiles();
        var outcomes = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        Gen.Select(Gen.Int[0, bases.Length - 1], Gen.Int[0, Enum.GetValues<Mutation>().Length - 1], Gen.Int)
            .Sample((baseIndex, mutation, seed) =>
            {
                byte[] mutated = Mutate(bases[baseIndex], (Mutation)mutation, new Random(seed));
                string outcome = OpenAndCheck(mutated);
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }, iter: Iterations);

        output.WriteLine($"{Iterations} mutated files in {clock.Elapsed.TotalSeconds:F1} s:");
        foreach ((string outcome, int count) in outcomes.OrderByDescending(o => o.Value))
        {
            output.WriteLine($"  {count,5}  {outcome}");
        }

        Assert.True(outcomes.GetValueOrDefault("opened") > 0, "No mutated file opened: the mutations are too coarse to test reading.");
        Assert.True(outcomes.Count > 8, "Too few rules were reached.");
    }

    /// <summary>Opens the bytes as a file; returns "opened" or the rule that refused it. Any other exception fails the test.</summary>
    private string OpenAndCheck(byte[] bytes)
    {
        string path = _folder.File($"{Interlocked.Increment(ref _fileNumber)}.safetensors");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var file = SafeTensorsFile.Open(path);
            CheckConsistent(file, bytes);
            return "opened";
        }
        catch (SafeTensorsFormatException e)
        {
            Assert.Equal(Path.GetFullPath(path), e.FilePath);
            Assert.NotNull(e.Rule);
            return $"refused: {e.Rule}";
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Re-checks the format's rules on what was accepted, then reads every tensor.</summary>
    private static void CheckConsistent(SafeTensorsFile file, byte[] bytes)
    {
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(bytes.Length - 8 - headerLength, file.DataLength);
        Assert.Equal(file.Tensors.Count, file.Names.Distinct().Count());
        var nonEmpty = new List<(long Begin, long End)>();
        foreach (SafeTensorInfo info in file.Tensors)
        {
            (long begin, long end) = info.DataOffsets;
            Assert.InRange(begin, 0, end);
            Assert.InRange(end, begin, file.DataLength);
            Assert.All(info.Shape, d => Assert.True(d >= 0));
            Assert.Equal(info.ElementCount * SafeTensorDTypes.SizeOf(info.DType), info.ByteLength);
            if (info.ByteLength > 0)
            {
                nonEmpty.Add((begin, end));
            }

            ReadOnlySpan<byte> raw = file.GetBytes(info.Name);
            Assert.True(raw.SequenceEqual(bytes.AsSpan((int)(8 + headerLength + begin), (int)info.ByteLength)));
            if (SafeTensorDTypes.IsReadableAsFloat32(info.DType))
            {
                float[] values = file.ReadFloat32(info.Name);
                Assert.Equal(info.ElementCount, values.Length);
                if (info.DType == SafeTensorDType.F32)
                {
                    for (int i = 0; i < values.Length; i++)
                    {
                        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * i)..]), BitConverter.SingleToUInt32Bits(values[i]));
                    }
                }
            }
            else
            {
                Assert.Throws<NotSupportedException>(() => file.ReadFloat32(info.Name));
            }
        }

        nonEmpty.Sort();
        for (int i = 1; i < nonEmpty.Count; i++)
        {
            Assert.True(nonEmpty[i].Begin >= nonEmpty[i - 1].End, "Two accepted byte ranges overlap.");
        }
    }

    private byte[][] BaseFiles()
    {
        string written = _folder.File("base.safetensors");
        float[] values = TestData.Uniform(40, 17);
        SafeTensorsFile.Save(written,
        [
            new SafeTensor("fc1.weight", [5, 3], values.AsMemory(0, 15)),
            new SafeTensor("fc1.bias", [5], values.AsMemory(15, 5), SafeTensorDType.BF16),
            new SafeTensor("fc2.weight", [3, 2], values.AsMemory(20, 6), SafeTensorDType.F16),
            new SafeTensor("fc2.bias", [3], values.AsMemory(26, 3), SafeTensorDType.F64),
            new SafeTensor("empty", [0, 4], ReadOnlyMemory<float>.Empty),
            new SafeTensor("scalar", Array.Empty<long>(), values.AsMemory(29, 1)),
        ], new Dictionary<string, string> { ["format"] = "pt", ["n"] = "6" });
        byte[] ours = File.ReadAllBytes(written);
        File.Delete(written);

        byte[] mixed = RawSafeTensors.Build(
            "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[8,11]}," +
            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[11,27]},\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[27,27]}}",
            [.. Enumerable.Range(1, 27).Select(i => (byte)(i * 37))]);
        byte[] metadataOnly = RawSafeTensors.Build("{\"__metadata__\":{\"a\":\"b\"}}", []);
        return [ours, mixed, metadataOnly];
    }

    private static byte[] Mutate(byte[] original, Mutation mutation, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (mutation)
        {
            case Mutation.FlipBits:
                for (int n = random.Next(1, 5); n > 0; n--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }

                return bytes;
            case Mutation.OverwriteBytes:
                for (int n = random.Next(1, 9), at = random.Next(bytes.Length); n > 0 && at < bytes.Length; n--, at++)
                {
                    bytes[at] = (byte)random.Next(256);
                }

                return bytes;
            case Mutation.Truncate:
                return bytes.AsSpan(0, random.Next(bytes.Length)).ToArray();
            case Mutation.Append:
                var tail = new byte[random.Next(1, 32)];
                random.NextBytes(tail);
                return [.. bytes, .. tail];
            case Mutation.HeaderLength:
                ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                ulong[] choices = [0, 1, length - 1, length + 1, length + 8, (ulong)bytes.Length - 8, (ulong)bytes.Length, ulong.MaxValue, 1UL << 63, (ulong)random.NextInt64()];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, choices[random.Next(choices.Length)]);
                return bytes;
            default:
                return EditHeader(bytes, mutation, random);
        }
    }

    /// <summary>Edits the header as text and writes the new length, so the edit reaches the header's rules.</summary>
    private static byte[] EditHeader(byte[] bytes, Mutation mutation, Random random)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, length);
        byte[] data = bytes[(8 + length)..];
        string edited = mutation switch
        {
            Mutation.HeaderNumber => ReplaceOne(header, NumberPattern(), random, _ => Pick(random,
                ["0", "1", "-1", "2", "7", "8", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616",
                 "1.5", "1e3", "-0", $"{data.Length}", $"{data.Length + 1}", $"{random.Next(64)}"])),
            Mutation.RemoveField => ReplaceOne(header, FieldPattern(), random, _ => ""),
            Mutation.DuplicateEntry => ReplaceOne(header, EntryPattern(), random, m => $"{m.Value},{m.Value}"),
            Mutation.SwapOffsets => SwapOffsets(header, random),
            Mutation.ChangeDType => ReplaceOne(header, DTypePattern(), random, _ => $"\"dtype\":\"{Pick(random,
                ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E5M2", "f32", "X", ""])}\""),
            _ => CutText(header, random),
        };
        return RawSafeTensors.Build(edited, data);
    }

    private static string ReplaceOne(string text, Regex pattern, Random random, Func<Match, string> replacement)
    {
        MatchCollection matches = pattern.Matches(text);
        if (matches.Count == 0)
        {
            return text;
        }

        Match chosen = matches[random.Next(matches.Count)];
        return string.Concat(text.AsSpan(0, chosen.Index), replacement(chosen), text.AsSpan(chosen.Index + chosen.Length));
    }

    private static string SwapOffsets(string header, Random random)
    {
        MatchCollection matches = OffsetsPattern().Matches(header);
        if (matches.Count == 0)
        {
            return header;
        }

        if (random.Next(2) == 0 || matches.Count == 1)
        {
            // Begin and end of one tensor exchanged.
            return ReplaceOne(header, OffsetsPattern(), random, m => $"[{m.Groups[2].Value},{m.Groups[1].Value}]");
        }

        // The offsets of two tensors exchanged.
        Match a = matches[random.Next(matches.Count)], b = matches[random.Next(matches.Count)];
        if (a.Index > b.Index)
        {
            (a, b) = (b, a);
        }

        return a.Index == b.Index
            ? header
            : string.Concat(header[..a.Index], b.Value, header[(a.Index + a.Length)..b.Index], a.Value, header[(b.Index + b.Length)..]);
    }

    private static string CutText(string header, Random random)
    {
        int start = random.Next(header.Length + 1);
        int count = Math.Min(random.Next(1, 24), header.Length - start);
        return header.Remove(start, count);
    }

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];

    [GeneratedRegex("-?[0-9]+")]
    private static partial Regex NumberPattern();

    [GeneratedRegex("\"(dtype|shape|data_offsets)\":(\"[^\"]*\"|\\[[^\\]]*\\]),?")]
    private static partial Regex FieldPattern();

    [GeneratedRegex("\"[^\"]+\":\\{[^{}]*\\}")]
    private static partial Regex EntryPattern();

    [GeneratedRegex("\\[([0-9]+),([0-9]+)\\]")]
    private static partial Regex OffsetsPattern();

    [GeneratedRegex("\"dtype\":\"[^\"]*\"")]
    private static partial Regex DTypePattern();
}
