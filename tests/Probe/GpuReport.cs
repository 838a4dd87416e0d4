using System.Globalization;
using System.Text;
using System.Text.Json;

namespace BlasLinear.Tests.Probe;

/// <summary>
/// The GPU check's report: report.json, written by the check, then completed by scripts/gpu_check.py's
/// pytorch.json when PyTorch is there; report.md is rendered from both. JSON is written and read without
/// reflection, so a trimmed publish keeps working.
/// </summary>
internal sealed class GpuReport
{
    public sealed record Check(string Name, double WorstOverBound)
    {
        public bool Passed => WorstOverBound <= 1;
    }

    public sealed record Timing(string Layer, string Direction, int Batch, int In, int Out, string Math, double MedianMs, double Gflops);

    public List<(string Name, string Value)> Description { get; } = [];

    public List<Check> Checks { get; } = [];

    public List<Timing> Timings { get; } = [];

    public (int M, int K, int N) Export { get; set; }

    public void WriteJson(string path)
    {
        using FileStream file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("blaslinear");
        foreach ((string name, string value) in Description)
        {
            json.WriteString(name, value);
        }

        json.WriteEndObject();
        json.WriteStartArray("checks");
        foreach (Check check in Checks)
        {
            json.WriteStartObject();
            json.WriteString("name", check.Name);
            WriteNumber(json, "worst_over_bound", check.WorstOverBound);
            json.WriteBoolean("passed", check.Passed);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("timings");
        foreach (Timing t in Timings)
        {
            json.WriteStartObject();
            json.WriteString("layer", t.Layer);
            json.WriteString("direction", t.Direction);
            json.WriteNumber("batch", t.Batch);
            json.WriteNumber("in", t.In);
            json.WriteNumber("out", t.Out);
            json.WriteString("math", t.Math);
            json.WriteNumber("median_ms", t.MedianMs);
            json.WriteNumber("gflops", t.Gflops);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("export");
        json.WriteNumber("m", Export.M);
        json.WriteNumber("k", Export.K);
        json.WriteNumber("n", Export.N);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Writes report.md from report.json and, when present, pytorch.json.</summary>
    public static int Render(string folder)
    {
        using JsonDocument ours = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "report.json")));
        string torchPath = Path.Combine(folder, "pytorch.json");
        using JsonDocument? torch = File.Exists(torchPath) ? JsonDocument.Parse(File.ReadAllBytes(torchPath)) : null;
        var md = new StringBuilder();
        md.AppendLine("# BlasLinear GPU check").AppendLine();
        md.AppendLine("| | |").AppendLine("|---|---|");
        foreach (JsonProperty p in ours.RootElement.GetProperty("blaslinear").EnumerateObject())
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Name} | {Cell(p.Value.GetString())} |");
        }

        if (torch is not null)
        {
            foreach (JsonProperty p in torch.RootElement.GetProperty("environment").EnumerateObject())
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| PyTorch {p.Name} | {Cell(p.Value.ToString())} |");
            }
        }

        md.AppendLine().AppendLine("## Correctness (worst |error| / bound; passes at ≤ 1)").AppendLine();
        md.AppendLine("| check | worst / bound | result |").AppendLine("|---|---:|---|");
        int failed = 0;
        IEnumerable<JsonElement> checks = ours.RootElement.GetProperty("checks").EnumerateArray();
        if (torch is not null)
        {
            checks = checks.Concat(torch.RootElement.GetProperty("checks").EnumerateArray());
        }

        foreach (JsonElement c in checks)
        {
            bool passed = c.GetProperty("passed").GetBoolean();
            failed += passed ? 0 : 1;
            md.AppendLine(CultureInfo.InvariantCulture, $"| {Cell(c.GetProperty("name").GetString())} | {Ratio(c.GetProperty("worst_over_bound"))} | {(passed ? "ok" : "FAILED")} |");
        }

        md.AppendLine().AppendLine("## Speed: median ms per call on device buffers, against PyTorch `F.linear`").AppendLine();
        md.AppendLine("| layer | direction | shape | math | BlasLinear ms | GFLOP/s | PyTorch ms | PyTorch / BlasLinear |");
        md.AppendLine("|---|---|---|---|---:|---:|---:|---:|");
        foreach (JsonElement t in ours.RootElement.GetProperty("timings").EnumerateArray())
        {
            double ms = t.GetProperty("median_ms").GetDouble();
            string shape = $"{t.GetProperty("batch")}×{t.GetProperty("in")}→{t.GetProperty("out")}";
            double? theirs = torch is null ? null : TorchMs(torch.RootElement, t);
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {t.GetProperty("layer").GetString()} | {t.GetProperty("direction").GetString()} | {shape} | {t.GetProperty("math").GetString()} | {ms:0.0000} | {t.GetProperty("gflops").GetDouble():0.0} | {(theirs is double a ? a.ToString("0.0000", CultureInfo.InvariantCulture) : "–")} | {(theirs is double b ? (b / ms).ToString("0.00", CultureInfo.InvariantCulture) : "–")} |");
        }

        if (torch is null)
        {
            md.AppendLine().AppendLine("PyTorch with CUDA was not available: no comparison.");
        }

        File.WriteAllText(Path.Combine(folder, "report.md"), md.ToString());
        Console.WriteLine($"gpu-check: wrote {Path.Combine(folder, "report.md")}");
        return failed == 0 ? 0 : 1;
    }

    private static double? TorchMs(JsonElement torch, JsonElement ours)
    {
        foreach (JsonElement t in torch.GetProperty("timings").EnumerateArray())
        {
            if (t.GetProperty("layer").GetString() == ours.GetProperty("layer").GetString()
                && t.GetProperty("direction").GetString() == ours.GetProperty("direction").GetString()
                && t.GetProperty("math").GetString() == ours.GetProperty("math").GetString()
                && t.GetProperty("batch").GetInt32() == ours.GetProperty("batch").GetInt32()
                && t.GetProperty("in").GetInt32() == ours.GetProperty("in").GetInt32()
                && t.GetProperty("out").GetInt32() == ours.GetProperty("out").GetInt32())
            {
                return t.GetProperty("median_ms").GetDouble();
            }
        }

        return null;
    }

    /// <summary>JSON has no infinity: a failed exact check is written as a string.</summary>
    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static string Ratio(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.000", CultureInfo.InvariantCulture) : value.ToString();

    private static string Cell(string? text) => (text ?? string.Empty).Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
