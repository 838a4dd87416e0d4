using System.Globalization;
using System.Numerics.Tensors;
using BlasLinear;

// Loads the MLP that make_mlp.py built in PyTorch (Linear(20, 32), ReLU, Linear(32, 3)) from safetensors and
// checks that BlasLinear reproduces PyTorch's output for the saved input. Usage: PyTorchToDotNet [FILE].
string path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "mlp.safetensors");
using SafeTensorsFile file = SafeTensorsFile.Open(path);
Console.WriteLine($"{file.FilePath}: {string.Join(", ", file.Tensors.Select(t => $"{t.Name} {t.DType} {t.ShapeText}"))}");

// nn.Linear stores its weight as [out_features, in_features], as BlasLinear's Linear does.
IReadOnlyList<long> firstShape = file.GetInfo("0.weight").Shape, secondShape = file.GetInfo("2.weight").Shape;
using var fc1 = new Linear((int)firstShape[1], (int)firstShape[0]);
using var fc2 = new Linear((int)secondShape[1], (int)secondShape[0]);
fc1.LoadStateDict(file, "0");
fc2.LoadStateDict(file, "2");
// Inference only: the weights in the form the backend multiplies fastest.
fc1.PrepareForInference();
fc2.PrepareForInference();

float[] input = file.ReadFloat32("input");
float[] expected = file.ReadFloat32("output");
float[] hidden = fc1.Forward(input);
TensorPrimitives.Max(hidden, 0f, hidden);
float[] output = fc2.Forward(hidden);

// The tolerance of BlasLinear's tests (docs/safetensors.md): a float32 dot product of length k lies within
// (k + 2)·2⁻²³·G of the exact one, G = Σ|aₚbₚ| + |b|. BlasLinear's and PyTorch's outputs each lie within it, so
// they differ by at most twice it; the hidden activations they start from differ by a few ulps at most.
float[] w2 = fc2.Weight.ToArray();
float[] b2 = fc2.Bias!.ToArray();
int rows = input.Length / fc1.InFeatures, k = fc2.InFeatures;
double worstDifference = 0, worstRatio = 0;
for (int i = 0; i < rows; i++)
{
    for (int j = 0; j < fc2.OutFeatures; j++)
    {
        double g = Math.Abs(b2[j]);
        for (int p = 0; p < k; p++)
        {
            g += Math.Abs((double)hidden[i * k + p] * w2[j * k + p]);
        }

        double bound = 2 * (k + 2) * Math.Pow(2, -23) * g + 1e-30;
        double difference = Math.Abs(output[i * fc2.OutFeatures + j] - (double)expected[i * fc2.OutFeatures + j]);
        worstDifference = Math.Max(worstDifference, difference);
        worstRatio = Math.Max(worstRatio, difference / bound);
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"max |BlasLinear − PyTorch| = {worstDifference:E3} ({worstRatio:F3} of the bound) over {rows}×{fc2.OutFeatures} outputs"));
return worstRatio <= 1 ? 0 : 1;
