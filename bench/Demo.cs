using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Bench;

/// <summary>Builds both layer forms on the selected backend, runs forward and backward, prints the results.</summary>
internal static class Demo
{
    public static int Run(TextWriter output)
    {
        BlasBackend backend = BlasBackend.Default;
        output.WriteLine("Backend");
        output.WriteLine(Indent(backend.Describe().ToString()));

        // Two rows of three features, to four outputs: small enough to check by hand.
        float[] input = [1, 2, 3, 4, 5, 6];
        float[] gradOutput = [1, 0, -1, 2, 0.5f, 0.5f, 0.5f, 0.5f];
        using var linear = new Linear(3, 4, backend: backend, seed: 1);
        using var parameter = new ParameterLinear(3, 4, backend: backend, seed: 1);
        foreach (LinearLayer layer in new LinearLayer[] { linear, parameter })
        {
            output.WriteLine();
            output.WriteLine(layer);
            output.WriteLine($"  weight {layer.Weight.ShapeText}: {Format(layer.Weight.ToArray())}");
            output.WriteLine($"  bias   {layer.Bias!.ShapeText}: {Format(layer.Bias.ToArray())}");
            output.WriteLine($"  input  [2, 3]: {Format(input)}");
            output.WriteLine($"  output [2, 4]: {Format(layer.Forward(input))}");
            var gradInput = new float[input.Length];
            layer.ZeroGrad();
            layer.Backward(input, gradOutput, gradInput);
            output.WriteLine($"  dY     [2, 4]: {Format(gradOutput)}");
            output.WriteLine($"  dX     [2, 3]: {Format(gradInput)}");
            output.WriteLine($"  dW {layer.WeightGrad.ShapeText}: {Format(layer.WeightGrad.ToArray())}");
            output.WriteLine($"  db     [4]: {Format(layer.BiasGrad!.ToArray())}");
        }

        return 0;
    }

    private static string Format(float[] values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("0.0000", CultureInfo.InvariantCulture))) + "]";

    private static string Indent(string text) => "  " + text.Replace("\n", "\n  ", StringComparison.Ordinal);
}
