using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests.SafeTensors;

/// <summary>State dicts of both layer forms on every backend: exact round trips, strictness, all or nothing.</summary>
[EmulatorChecked]
public sealed class LayerStateDictTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsFormsAndBias), MemberType = typeof(LayerFactory))]
    public void A_save_and_load_round_trip_is_bit_exact(TestBackend backendName, LayerKind form, bool bias)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer source = LayerFactory.Create(form, 13, 5, bias, backend, seed: 1);
        using LinearLayer target = LayerFactory.Create(form, 13, 5, bias, backend, seed: 2);
        string path = _folder.File("layer.safetensors");
        SafeTensorsFile.Save(path, source.StateDict("fc1"));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(bias ? ["fc1.bias", "fc1.weight"] : ["fc1.weight"], file.Names);
        Assert.Equal(source.Layout == WeightLayout.OutByIn ? [5L, 13L] : [13L, 5L], file.GetInfo("fc1.weight").Shape);
        target.LoadStateDict(file, "fc1");
        SafeTensorsFileTests.AssertBits(source.Weight.ToArray(), target.Weight.ToArray());
        if (bias)
        {
            SafeTensorsFileTests.AssertBits(source.Bias!.ToArray(), target.Bias!.ToArray());
        }

        float[] x = TestData.Uniform(7 * 13, 3);
        SafeTensorsFileTests.AssertBits(source.Forward(x), target.Forward(x));
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void Several_layers_share_one_file_under_their_prefixes(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using var fc1 = new Linear(13, 7, backend: backend, seed: 1);
        using var fc2 = new ParameterLinear(7, 3, bias: false, backend: backend, seed: 2);
        using var head = new Linear(3, 2, backend: backend, seed: 3);
        string path = _folder.File("model.safetensors");
        SafeTensorsFile.Save(path, [.. fc1.StateDict("encoder.fc1"), .. fc2.StateDict("encoder.fc2"), .. head.StateDict()]);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["bias", "encoder.fc1.bias", "encoder.fc1.weight", "encoder.fc2.weight", "weight"], file.Names);
        using var fc1Copy = new Linear(13, 7, backend: backend, seed: 11);
        using var fc2Copy = new ParameterLinear(7, 3, bias: false, backend: backend, seed: 12);
        using var headCopy = new Linear(3, 2, backend: backend, seed: 13);
        fc1Copy.LoadStateDict(file, "encoder.fc1");
        fc2Copy.LoadStateDict(file, "encoder.fc2");
        headCopy.LoadStateDict(file);
        SafeTensorsFileTests.AssertBits(fc1.Weight.ToArray(), fc1Copy.Weight.ToArray());
        SafeTensorsFileTests.AssertBits(fc2.Weight.ToArray(), fc2Copy.Weight.ToArray());
        SafeTensorsFileTests.AssertBits(head.Bias!.ToArray(), headCopy.Bias!.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void BF16_F16_and_F64_load_as_the_values_they_hold(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer source = LayerFactory.Create(form, 9, 4, true, backend, seed: 4);
        foreach (SafeTensorDType dtype in new[] { SafeTensorDType.BF16, SafeTensorDType.F16, SafeTensorDType.F64 })
        {
            string path = _folder.File($"{dtype}.safetensors");
            SafeTensorsFile.Save(path, source.StateDict().Select(t => t.As(dtype)));
            using var file = SafeTensorsFile.Open(path);
            using LinearLayer target = LayerFactory.Create(form, 9, 4, true, backend, seed: 5);
            target.LoadStateDict(file);
            SafeTensorsFileTests.AssertBits(file.ReadFloat32("weight"), target.Weight.ToArray());
            SafeTensorsFileTests.AssertBits(file.ReadFloat32("bias"), target.Bias!.ToArray());
        }
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Every_mismatch_is_refused_by_name_and_leaves_the_layer_unchanged(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 6, 4, true, backend, seed: 6);
        using LinearLayer noBias = LayerFactory.Create(form, 6, 4, false, backend, seed: 7);
        long[] weightShape = layer.Layout == WeightLayout.OutByIn ? [4, 6] : [6, 4];
        long[] transposed = [weightShape[1], weightShape[0]];
        float[] w = TestData.Uniform(24, 8), b = TestData.Uniform(4, 9);

        void Refused(LinearLayer target, IEnumerable<SafeTensor> tensors, string prefix, params string[] words)
        {
            string path = _folder.File("bad.safetensors");
            SafeTensorsFile.Save(path, tensors);
            using var file = SafeTensorsFile.Open(path);
            float[] weightBefore = target.Weight.ToArray();
            float[]? biasBefore = target.Bias?.ToArray();
            var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(file, prefix));
            foreach (string word in words)
            {
                Assert.Contains(word, e.Message, StringComparison.Ordinal);
            }

            SafeTensorsFileTests.AssertBits(weightBefore, target.Weight.ToArray());
            if (biasBefore is not null)
            {
                SafeTensorsFileTests.AssertBits(biasBefore, target.Bias!.ToArray());
            }
        }

        string expected = $"[{weightShape[0]}, {weightShape[1]}]";
        Refused(layer, [new SafeTensor("fc.bias", [4], b)], "fc", "Missing key 'fc.weight'", expected);
        Refused(layer, [new SafeTensor("fc.weight", weightShape, w)], "fc", "Missing key 'fc.bias'", "[4]");
        Refused(layer, [new SafeTensor("fc.weight", transposed, w), new SafeTensor("fc.bias", [4], b)], "fc",
            "'fc.weight' has shape", $"[{transposed[0]}, {transposed[1]}]", $"expects {expected}");
        Refused(layer, [new SafeTensor("fc.weight", [24], w), new SafeTensor("fc.bias", [4], b)], "fc", "'fc.weight' has shape [24]");
        // A valid weight with a wrong bias: nothing is written, not even the weight.
        Refused(layer, [new SafeTensor("fc.weight", weightShape, w), new SafeTensor("fc.bias", [1, 4], b)], "fc", "'fc.bias' has shape [1, 4]", "[4]");
        Refused(noBias, [new SafeTensor("weight", weightShape, w), new SafeTensor("bias", [4], b)], "", "Unexpected key 'bias'");
        Refused(layer, [new SafeTensor("fc.weight", weightShape, w), new SafeTensor("fc.bias", [4], b)], "other", "Missing key 'other.weight'");

        // A dtype that is not a float: NotSupportedException, still before any write.
        string path = RawSafeTensors.Write(_folder, "int.safetensors",
            $"{{\"weight\":{{\"dtype\":\"F32\",\"shape\":[{weightShape[0]},{weightShape[1]}],\"data_offsets\":[0,96]}},\"bias\":{{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[96,112]}}}}",
            new byte[112]);
        using var ints = SafeTensorsFile.Open(path);
        float[] before = layer.Weight.ToArray();
        Assert.Throws<NotSupportedException>(() => layer.LoadStateDict(ints));
        SafeTensorsFileTests.AssertBits(before, layer.Weight.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Non_strict_keeps_a_missing_bias_and_ignores_an_unexpected_one(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(form, 6, 4, true, backend, seed: 6);
        using LinearLayer noBias = LayerFactory.Create(form, 6, 4, false, backend, seed: 7);
        long[] weightShape = layer.Layout == WeightLayout.OutByIn ? [4, 6] : [6, 4];
        float[] w = TestData.Uniform(24, 8), b = TestData.Uniform(4, 9);

        string weightOnly = _folder.File("weight.safetensors");
        SafeTensorsFile.Save(weightOnly, [new SafeTensor("weight", weightShape, w)]);
        using (var file = SafeTensorsFile.Open(weightOnly))
        {
            float[] biasBefore = layer.Bias!.ToArray();
            layer.LoadStateDict(file, strict: false);
            SafeTensorsFileTests.AssertBits(w, layer.Weight.ToArray());
            SafeTensorsFileTests.AssertBits(biasBefore, layer.Bias!.ToArray());
        }

        string both = _folder.File("both.safetensors");
        SafeTensorsFile.Save(both, [new SafeTensor("weight", weightShape, w), new SafeTensor("bias", [4], b)]);
        using (var file = SafeTensorsFile.Open(both))
        {
            noBias.LoadStateDict(file, strict: false);
            SafeTensorsFileTests.AssertBits(w, noBias.Weight.ToArray());
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void A_disposed_file_or_layer_is_refused(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        var layer = new Linear(3, 2, backend: backend);
        string path = _folder.File("small.safetensors");
        SafeTensorsFile.Save(path, layer.StateDict());
        var file = SafeTensorsFile.Open(path);
        file.Dispose();
        float[] before = layer.Weight.ToArray();
        Assert.Throws<ObjectDisposedException>(() => layer.LoadStateDict(file));
        SafeTensorsFileTests.AssertBits(before, layer.Weight.ToArray());
        layer.Dispose();
        using var reopened = SafeTensorsFile.Open(path);
        Assert.Throws<ObjectDisposedException>(() => layer.LoadStateDict(reopened));
        Assert.Throws<ObjectDisposedException>(() => layer.StateDict());
        using var alive = new Linear(2, 3, backend: layer.Backend);
        Assert.Throws<ArgumentNullException>(() => alive.LoadStateDict(null!));
    }
}
