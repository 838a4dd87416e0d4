using BlasLinear;
using BlasLinear.Backends;

// A layer like PyTorch's nn.Linear(4, 3): weight (3, 4), bias (3), seeded so the run is reproducible.
using var layer = new Linear(inFeatures: 4, outFeatures: 3, seed: 1);
Console.WriteLine(layer);

// A batch of two rows of four features.
float[] input = [1, 2, 3, 4, 0.5f, -1, 0, 2];

// Inference: the backend keeps the weight in the form its forward multiplies fastest.
layer.PrepareForInference();
float[] output = layer.Forward(input);
Console.WriteLine($"forward:  [{string.Join(", ", output.Select(v => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}]");

// Training step: the gradient of sum(output) is all ones; dX comes back, dW and db accumulate.
float[] gradOutput = Enumerable.Repeat(1f, output.Length).ToArray();
float[] gradInput = new float[input.Length];
layer.ZeroGrad();
layer.Backward(input, gradOutput, gradInput);
Console.WriteLine($"backward: dX = [{string.Join(", ", gradInput.Select(v => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}]");
Console.WriteLine($"          db = [{string.Join(", ", layer.BiasGrad!.ToArray())}]");

// What computes the products on this machine, and why.
Console.WriteLine();
Console.WriteLine(BlasBackend.Default.Describe());
