using System.Diagnostics;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>
/// The managed side of a point: a layer and its operands in buffers of the backend, so that the
/// calls below are exactly what an application chaining layers makes, with no host round trip.
/// </summary>
internal sealed class ManagedWorkload : ITimedWorkload
{
    private readonly BlasBackend _backend;
    private readonly LinearLayer _layer;
    private readonly BlasBuffer _input;
    private readonly BlasBuffer _output;
    private readonly BlasBuffer? _gradInput;
    private readonly int _batch;
    private readonly bool _backward;

    private ManagedWorkload(SweepPoint point, BlasBackend backend, ulong seed)
    {
        if (point.Pass == Pass.Backward && point.Precision != WeightPrecision.Float32)
        {
            throw new ArgumentException($"{point}: a backward runs on the float32 weight; Backward on a {point.PrecisionName}-prepared layer is refused.", nameof(point));
        }

        _backend = backend;
        _batch = point.Batch;
        _backward = point.Pass == Pass.Backward;
        int m = point.Batch, k = point.Shape.In, n = point.Shape.Out;
        bool bias = point.HasBias;
        _layer = point.Layer == LayerForm.Linear
            ? new Linear(k, n, bias, backend)
            : new ParameterLinear(k, n, bias, backend);
        try
        {
            // The floor fills X, then W, then dY from one stream; drawing in the same order gives the
            // managed side the very same operands.
            var data = new SeededData(seed);
            _input = backend.Allocate(m, k);
            _input.CopyFrom(data.Next((long)m * k));
            _layer.Weight.CopyFrom(data.Next((long)n * k));
            _output = backend.Allocate(m, n);
            if (_backward)
            {
                _output.CopyFrom(data.Next((long)m * n));
                _gradInput = backend.Allocate(m, k);
            }

            _layer.Bias?.CopyFrom(data.Next(n));
            if (!_backward)
            {
                // Inference as an application runs it: the weight in the form the backend multiplies fastest,
                // in the point's precision; the row must say what the layer really held.
                _layer.PrepareForInference(point.Precision);
                if (_layer.PreparedPrecision != point.Precision)
                {
                    throw new InvalidOperationException($"{point}: the layer was prepared as {_layer.PreparedPrecision?.ToString() ?? "nothing"}, not {point.PrecisionName}.");
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <exception cref="ArgumentException">A backward point with a precision other than float32.</exception>
    /// <exception cref="NotSupportedException">The backend holds no weights of the point's precision (CUDA and bfloat16).</exception>
    public static ManagedWorkload Create(SweepPoint point, BlasBackend backend, ulong seed) => new(point, backend, seed);

    /// <summary>What the layer holds for its forward: the point's precision for a forward, null for a backward (never prepared).</summary>
    public WeightPrecision? PreparedPrecision => _layer.PreparedPrecision;

    public double Time(int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        if (_backward)
        {
            for (int i = 0; i < iterations; i++)
            {
                _layer.Backward(_input, _output, _gradInput, _batch);
            }
        }
        else
        {
            for (int i = 0; i < iterations; i++)
            {
                _layer.Forward(_input, _output, _batch);
            }
        }

        _backend.Synchronize();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public void Dispose()
    {
        _layer.Dispose();
        _input?.Dispose();
        _output?.Dispose();
        _gradInput?.Dispose();
    }
}
