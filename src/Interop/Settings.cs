namespace BlasLinear.Backends;

/// <summary>
/// The one reader of BlasLinear's <c>BLASLINEAR_*</c> environment variables: their names, and the rule by
/// which a choice is read (case-insensitive, surrounding spaces ignored, unset or empty means the default,
/// anything else is an error that lists the accepted values).
/// </summary>
internal static class Settings
{
    public const string Backend = "BLASLINEAR_BACKEND";
    public const string CpuRouting = "BLASLINEAR_CPU_ROUTES";
    public const string CudaMath = "BLASLINEAR_CUDA_MATH";
    public const string KernelsIsa = "BLASLINEAR_KERNELS_ISA";

    /// <summary>The value of <paramref name="variable"/> among <paramref name="choices"/>; the first choice when unset.</summary>
    /// <exception cref="InvalidOperationException">The variable holds none of the choices.</exception>
    public static T Read<T>(string variable, ReadOnlySpan<(string Name, T Value)> choices) =>
        Parse(variable, Environment.GetEnvironmentVariable(variable), choices);

    /// <summary><paramref name="value"/> read as <paramref name="variable"/> would be.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="value"/> is none of the choices.</exception>
    public static T Parse<T>(string variable, string? value, ReadOnlySpan<(string Name, T Value)> choices) =>
        TryParse(value, choices, out T parsed)
            ? parsed
            : throw new InvalidOperationException($"{variable}='{value}' is not one of {Names(choices)}.");

    /// <summary>False, with the first choice, when <paramref name="value"/> is none of them.</summary>
    public static bool TryParse<T>(string? value, ReadOnlySpan<(string Name, T Value)> choices, out T parsed)
    {
        string text = value?.Trim() ?? string.Empty;
        parsed = choices[0].Value;
        if (text.Length == 0)
        {
            return true;
        }

        foreach ((string name, T choice) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                parsed = choice;
                return true;
            }
        }

        return false;
    }

    private static string Names<T>(ReadOnlySpan<(string Name, T Value)> choices)
    {
        var names = new string[choices.Length];
        for (int i = 0; i < choices.Length; i++)
        {
            names[i] = choices[i].Name;
        }

        return string.Join(", ", names);
    }
}
