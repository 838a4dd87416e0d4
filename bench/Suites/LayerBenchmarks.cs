using BenchmarkDotNet.Attributes;
using BlasLinear.Bench.Sweep;

namespace BlasLinear.Bench.Suites;

/// <summary>
/// One layer's Forward and Backward on host spans, the API most callers use, without and with a bias
/// (the bias adds a broadcast in forward and row sums in backward, each its own code path). Everything
/// is allocated and seeded in <see cref="Setup"/>, so the measured methods are the calls alone and the
/// allocation column shows what one call allocates in steady state.
/// </summary>
public abstract class LayerBenchmarks
{
    private LinearLayer? _layer;
    private float[] _input = [];
    private float[] _output = [];
    private float[] _gradOutput = [];
    private float[] _gradInput = [];

    // 129 is one past a power of two, where GEMM kernels leave a remainder row.
    [Params(1, 32, 129)]
    public int Batch { get; set; }

    [Params(false, true)]
    public bool Bias { get; set; }

    [ParamsSource(nameof(AllFeatures))]
    public Features Features { get; set; } = new(1024, 1024);

    // 1000→1001 is not a multiple of any SIMD width or blocking factor.
    public static IEnumerable<Features> AllFeatures => [new(1024, 1024), new(1000, 1001)];

    [GlobalSetup]
    public void Setup()
    {
        _layer = CreateLayer(Features.In, Features.Out, Bias);
        var data = new SeededData(42);
        _input = data.Next((long)Batch * Features.In);
        _layer.Weight.CopyFrom(data.Next((long)Features.In * Features.Out));
        _layer.Bias?.CopyFrom(data.Next(Features.Out));
        // The forward runs as inference does; the backward does not use the prepared weight.
        _layer.PrepareForInference();
        _gradOutput = data.Next((long)Batch * Features.Out);
        _output = new float[(long)Batch * Features.Out];
        _gradInput = new float[(long)Batch * Features.In];
    }

    [GlobalCleanup]
    public void Cleanup() => _layer?.Dispose();

    /// <summary>Y = X·op(W) + b for one batch.</summary>
    [Benchmark]
    public void Forward() => _layer!.Forward(_input, _output);

    /// <summary>dX, and dW and db accumulated, for one batch.</summary>
    [Benchmark]
    public void Backward() => _layer!.Backward(_input, _gradOutput, _gradInput);

    private protected abstract LinearLayer CreateLayer(int inFeatures, int outFeatures, bool bias);
}

/// <summary><see cref="Linear"/>: Y = X·Wᵀ + b, W stored [out, in].</summary>
[MemoryDiagnoser]
public class LinearBenchmarks : LayerBenchmarks
{
    private protected override LinearLayer CreateLayer(int inFeatures, int outFeatures, bool bias) => new Linear(inFeatures, outFeatures, bias, seed: 1);
}

/// <summary><see cref="ParameterLinear"/>: Y = X·W + b, W stored [in, out].</summary>
[MemoryDiagnoser]
public class ParameterLinearBenchmarks : LayerBenchmarks
{
    private protected override LinearLayer CreateLayer(int inFeatures, int outFeatures, bool bias) => new ParameterLinear(inFeatures, outFeatures, bias, seed: 1);
}
