using System.Text;

namespace BlasLinear.Backends;

/// <summary>What a backend is running on, as name/value pairs, in the order they are best read.</summary>
public sealed class BackendDescription
{
    internal BackendDescription(BackendKind kind, IReadOnlyList<KeyValuePair<string, string>> properties)
    {
        Kind = kind;
        Properties = properties;
    }

    /// <summary>The backend's kind.</summary>
    public BackendKind Kind { get; }

    /// <summary>Name/value pairs: library paths and versions, threads, devices, selection notes.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Properties { get; }

    /// <summary>The value of a property, or null.</summary>
    public string? this[string name] =>
        Properties.FirstOrDefault(p => p.Key == name) is { Key: not null } found ? found.Value : null;

    /// <summary>One "name: value" line per property.</summary>
    public override string ToString()
    {
        int width = Properties.Count == 0 ? 0 : Properties.Max(p => p.Key.Length);
        var text = new StringBuilder();
        foreach (var (name, value) in Properties)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append((name + ":").PadRight(width + 2)).Append(value);
        }

        return text.ToString();
    }
}
