using System.Diagnostics;
using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>
/// The floor of a backend whose memory is its own (CUDA): the floor's operations (native/floor's
/// <c>run_once</c>, call for call) as raw <see cref="BlasBackend.Gemm"/> calls on the backend's buffers, with
/// no layer in between. The CPU's floor is OpenBLAS reading host memory; set beside a GPU's layer it would
/// only say how much faster the GPU is than the host, not what the layer costs over its own library.
/// </summary>
internal sealed class DeviceFloorWorkload : ITimedWorkload
{
    private readonly BlasBackend _backend;
    private readonly FloorOp _op;
    private readonly int _m, _n, _k;
    private readonly List<BlasBuffer> _owned = [];
    private readonly BlasBuffer _x, _w;
    private readonly BlasBuffer? _y, _dy, _dx, _dw;

    private DeviceFloorWorkload(FloorOp op, BlasBackend backend, int m, int n, int k, ulong seed)
    {
        _backend = backend;
        _op = op;
        (_m, _n, _k) = (m, n, k);
        bool square = op == FloorOp.Square, backward = op is FloorOp.LinearBackward or FloorOp.ParameterBackward;
        try
        {
            // The floor's buffers, filled in its order from the same generator (SeededData).
            var data = new SeededData(seed);
            _x = Own(backend.Allocate(square ? m * m : m * k));
            _x.CopyFrom(data.Next(_x.Length));
            _w = Own(backend.Allocate(square ? m * m : n * k));
            _w.CopyFrom(data.Next(_w.Length));
            if (backward)
            {
                _dy = Own(backend.Allocate(m * n));
                _dy.CopyFrom(data.Next(_dy.Length));
                _dx = Own(backend.Allocate(m * k));
                _dw = Own(backend.Allocate(n * k));
            }
            else
            {
                _y = Own(backend.Allocate(square ? m * m : m * n));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The point's floor on <paramref name="backend"/>: m = batch, n = out_features, k = in_features.</summary>
    public static DeviceFloorWorkload Create(SweepPoint point, BlasBackend backend, ulong seed) =>
        new(point.FloorOp, backend, point.Batch, point.Shape.Out, point.Shape.In, seed);

    /// <summary>The square n×n·n×n product the backend's peak is measured with.</summary>
    public static DeviceFloorWorkload Square(BlasBackend backend, int size, ulong seed) =>
        new(FloorOp.Square, backend, size, size, size, seed);

    public double Time(int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            RunOnce();
        }

        _backend.Synchronize();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>What the last run wrote, back on the host: Y, or dX then dW (tests check the floor's calls with it).</summary>
    internal float[] Output() => _y is not null ? _y.ToArray() : [.. _dx!.ToArray(), .. _dw!.ToArray()];

    public void Dispose()
    {
        foreach (BlasBuffer buffer in _owned)
        {
            buffer.Dispose();
        }
    }

    private BlasBuffer Own(BlasBuffer buffer)
    {
        _owned.Add(buffer);
        return buffer;
    }

    private void RunOnce()
    {
        const Transpose NT = Transpose.NoTrans, T = Transpose.Trans;
        int m = _m, n = _n, k = _k;
        switch (_op)
        {
            case FloorOp.LinearForward: // Y[m,n] = X[m,k]·W[n,k]ᵀ
                _backend.Gemm(NT, T, m, n, k, 1f, _x, k, _w, k, 0f, _y!, n);
                break;
            case FloorOp.ParameterForward: // Y[m,n] = X[m,k]·W[k,n]
                _backend.Gemm(NT, NT, m, n, k, 1f, _x, k, _w, n, 0f, _y!, n);
                break;
            case FloorOp.LinearBackward: // dX[m,k] = dY[m,n]·W[n,k]; dW[n,k] += dY[m,n]ᵀ·X[m,k]
                _backend.Gemm(NT, NT, m, k, n, 1f, _dy!, n, _w, k, 0f, _dx!, k);
                _backend.Gemm(T, NT, n, k, m, 1f, _dy!, n, _x, k, 1f, _dw!, k);
                break;
            case FloorOp.ParameterBackward: // dX[m,k] = dY[m,n]·W[k,n]ᵀ; dW[k,n] += X[m,k]ᵀ·dY[m,n]
                _backend.Gemm(NT, T, m, k, n, 1f, _dy!, n, _w, n, 0f, _dx!, k);
                _backend.Gemm(T, NT, k, n, m, 1f, _x, k, _dy!, n, 1f, _dw!, n);
                break;
            case FloorOp.Square: // C[m,m] = A[m,m]·B[m,m]
                _backend.Gemm(NT, NT, m, m, m, 1f, _x, m, _w, m, 0f, _y!, m);
                break;
            default:
                throw new InvalidOperationException($"Unknown floor operation {_op}.");
        }
    }
}

/// <summary>
/// The ceilings of a backend with its own memory, measured on it: the peak of its square sgemm on its own
/// buffers, and the rate at which one of its sgemv calls reads a matrix of each footprint.
/// </summary>
internal static class DeviceMeasurements
{
    /// <summary>Columns of the matrix the bandwidth's sgemv reads: rows of 16 KiB.</summary>
    private const int ReadColumns = 4096;

    /// <summary>A timed repetition moves at least this much, as the host's read loop does.</summary>
    private const long MinBytesPerRepetition = 256L << 20;

    /// <summary>The best GFLOP/s of <paramref name="repetitions"/> square products on the backend's buffers after two untimed ones.</summary>
    public static PeakMeasurement MeasurePeak(BlasBackend backend, int size, int repetitions, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        using DeviceFloorWorkload square = DeviceFloorWorkload.Square(backend, size, seed);
        return PeakMeasurement.Measure(square, size, repetitions);
    }

    /// <summary>
    /// At each distinct footprint, one sample: the best of <paramref name="repetitions"/> timed repetitions
    /// (after an untimed one) of y = A·x over a row-major A of at least that many bytes, each repetition
    /// enough calls to move 256 MiB. One call per read, its launch included: at small footprints the launch,
    /// not the memory, sets the figure, as it sets the layer's time there.
    /// </summary>
    public static BandwidthMeasurement MeasureBandwidth(BlasBackend backend, IEnumerable<long> footprints, int repetitions)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        return BandwidthMeasurement.Measure(footprints, threads: 1, repetitions, bytes => ReadRate(backend, bytes, repetitions));
    }

    private static double ReadRate(BlasBackend backend, long bytes, int repetitions)
    {
        long rowBytes = ReadColumns * sizeof(float);
        int rows = (int)Math.Max(1, (bytes + rowBytes - 1) / rowBytes);
        long read = rows * rowBytes;
        int calls = (int)Math.Clamp(MinBytesPerRepetition / read, 1, 4096);
        using BlasBuffer a = backend.Allocate(rows, ReadColumns), x = backend.Allocate(ReadColumns), y = backend.Allocate(rows);
        a.CopyFrom(new SeededData(1).Next(a.Length));
        x.CopyFrom(new SeededData(2).Next(x.Length));
        double best = 0;
        for (int r = -1; r < repetitions; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
                backend.Gemv(Transpose.NoTrans, rows, ReadColumns, 1f, a, ReadColumns, x, 0f, y);
            }

            backend.Synchronize();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (r >= 0)
            {
                best = Math.Max(best, read * (double)calls / seconds);
            }
        }

        return best;
    }
}
