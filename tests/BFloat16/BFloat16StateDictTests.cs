using System.Buffers.Binary;
using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.SafeTensors;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests.BFloat16;

/// <summary>LoadStateDict into a layer that dropped its float32 weights: BF16 bits copied as they are, other types rounded.</summary>
public class BFloat16StateDictTests
{
    [Fact]
    public void A_BF16_file_is_copied_bit_for_bit_into_a_dropped_layer()
    {
        const int outFeatures = 3, inFeatures = 5;
        // Every bit pattern is kept, even a signalling NaN (0x7F81), which a float32 round trip turns quiet (0x7FC1).
        ushort[] weightBits = [0x3F80, 0xBF80, 0x7F81, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7F7F, 0x4049, 0x3EAB, 0xC2F7, 0x0080, 0x3C00, 0x4000, 0xC000];
        float[] bias = [0.5f, -1.25f, 2f];
        var data = new byte[weightBits.Length * 2 + bias.Length * 4];
        for (int i = 0; i < weightBits.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), weightBits[i]);
        }

        for (int i = 0; i < bias.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(weightBits.Length * 2 + 4 * i), bias[i]);
        }

        using var folder = new TempFolder();
        string path = RawSafeTensors.Write(folder, "bf16.safetensors",
            $"{{\"fc.weight\":{{\"dtype\":\"BF16\",\"shape\":[{outFeatures},{inFeatures}],\"data_offsets\":[0,30]}},"
            + "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[30,42]}}", data);

        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, inFeatures, outFeatures, bias: true, TestBackends.Get(TestBackends.Cpu));
        layer.PrepareForInference(WeightPrecision.BFloat16, dropFloat32Weights: true);
        using (SafeTensorsFile file = SafeTensorsFile.Open(path))
        {
            layer.LoadStateDict(file, "fc");
        }

        Assert.Equal(weightBits, BFloat16LayerTests.PreparedBits(layer));
        Assert.Equal(bias, layer.Bias!.ToArray());
        Assert.Equal(0x7FC1, Float32Conversions.SingleToBFloat16(Float32Conversions.BFloat16ToSingle(0x7F81)));
    }

    [Fact]
    public void An_F32_file_is_rounded_into_a_dropped_layer_and_the_forward_uses_it()
    {
        using LinearLayer source = LayerFactory.Create(LayerFactory.ParameterLinear, 40, 24, bias: true, TestBackends.Get(TestBackends.Cpu), seed: 5);
        using var folder = new TempFolder();
        string path = folder.File("f32.safetensors");
        SafeTensorsFile.Save(path, source.StateDict());

        using LinearLayer layer = LayerFactory.Create(LayerFactory.ParameterLinear, 40, 24, bias: true, TestBackends.Get(TestBackends.Cpu), seed: 6);
        layer.PrepareForInference(WeightPrecision.BFloat16, dropFloat32Weights: true);
        using (SafeTensorsFile file = SafeTensorsFile.Open(path))
        {
            layer.LoadStateDict(file);
        }

        float[] weight = source.Weight.ToArray();
        var expected = new ushort[weight.Length];
        BFloat16Bits.Round(weight, expected);
        Assert.Equal(expected, BFloat16LayerTests.PreparedBits(layer));
        float[] x = TestData.Uniform(7 * 40, 8);
        Tolerance.AssertWithin($"{layer} loaded", 40, layer.Forward(x), 7, 24,
            Expected.LayerForward(false, 7, 40, 24, x, BFloat16LayerTests.Rounded(weight), source.Bias!.ToArray()));
    }

    [Fact]
    public void LoadStateDict_into_a_bfloat16_layer_that_kept_its_float32_weights_rounds_them_again()
    {
        using LinearLayer source = LayerFactory.Create(LayerFactory.Linear, 33, 17, bias: false, TestBackends.Get(TestBackends.Cpu), seed: 9);
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        SafeTensorsFile.Save(path, source.StateDict());
        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, 33, 17, bias: false, TestBackends.Get(TestBackends.Cpu), seed: 10);
        layer.PrepareForInference(WeightPrecision.BFloat16);
        using (SafeTensorsFile file = SafeTensorsFile.Open(path))
        {
            layer.LoadStateDict(file);
        }

        Assert.Equal(source.Weight.ToArray(), layer.Weight.ToArray());
        var expected = new ushort[33 * 17];
        BFloat16Bits.Round(source.Weight.ToArray(), expected);
        Assert.Equal(expected, BFloat16LayerTests.PreparedBits(layer));
    }
}
