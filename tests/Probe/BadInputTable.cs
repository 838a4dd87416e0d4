using BlasLinear.Backends;

namespace BlasLinear.Tests.Probe;

/// <summary>
/// TESTING.md's bad-input table: every row, the exception it must get, and a fragment of the message
/// that shows the rule was named. The tests run it in process (one test per row) and in a child process
/// whose standard output must stay free of native messages.
/// </summary>
public static class BadInputTable
{
    public sealed record Row(string Name, Type Expected, string MessageFragment, Action<BlasBackend> Act);

    public static IReadOnlyList<Row> Cases { get; } = Build();

    private static List<Row> Build()
    {
        float[] a6 = new float[6], b6 = new float[6], c4 = new float[4];
        return
        [
            new("m negative", typeof(ArgumentOutOfRangeException), "m=-1",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, -1, 2, 2, 1, a6, 2, b6, 2, 0, c4, 2)),
            new("n negative", typeof(ArgumentOutOfRangeException), "n=-2",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, -2, 2, 1, a6, 2, b6, 2, 0, c4, 2)),
            new("k negative", typeof(ArgumentOutOfRangeException), "2147483647",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, int.MinValue, 1, a6, 2, b6, 2, 0, c4, 2)),
            new("lda below k (NoTrans)", typeof(ArgumentOutOfRangeException), "lda=1 < k=2 for row-major A (NoTrans)",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 1, b6, 2, 0, c4, 2)),
            new("lda below m (Trans)", typeof(ArgumentOutOfRangeException), "lda=1 < m=2 for row-major A (Trans)",
                b => b.Gemm(Transpose.Trans, Transpose.NoTrans, 2, 2, 2, 1, a6, 1, b6, 2, 0, c4, 2)),
            new("ldb below n", typeof(ArgumentOutOfRangeException), "ldb=1 < n=2 for row-major B (NoTrans)",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, b6, 1, 0, c4, 2)),
            new("ldc below n", typeof(ArgumentOutOfRangeException), "ldc=1 < n=2 for row-major C",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, b6, 2, 0, c4, 1)),
            new("ld zero with an empty dimension", typeof(ArgumentOutOfRangeException), "lda=0 < 1",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 0, 1, a6, 0, b6, 2, 0, c4, 2)),
            new("A too short", typeof(ArgumentException), "A needs 6 elements for 2×3 with lda=3; got 5",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 3, 1, new float[5], 3, b6, 2, 0, c4, 2)),
            new("B too short", typeof(ArgumentException), "B needs 6 elements for 3×2 with ldb=2; got 4",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 3, 1, a6, 3, new float[4], 2, 0, c4, 2)),
            new("C too short", typeof(ArgumentException), "C needs 4 elements for 2×2 with ldc=2; got 3",
                b => b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 3, 1, a6, 3, b6, 2, 0, new float[3], 2)),
            new("C overlaps A", typeof(ArgumentException), "overlaps the input A",
                b =>
                {
                    var shared = new float[8];
                    b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, shared.AsSpan(0, 4), 2, b6, 2, 0, shared.AsSpan(2, 4), 2);
                }),
            new("C overlaps B on buffers", typeof(ArgumentException), "overlaps the input B",
                b =>
                {
                    using BlasBuffer buffer = b.Allocate(8);
                    b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, buffer.Slice(0, 4), 2, 0, buffer.Slice(3, 4), 2);
                }),
            new("undefined transpose", typeof(ArgumentOutOfRangeException), "transA must be NoTrans or Trans",
                b => b.Gemm((Transpose)7, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, b6, 2, 0, c4, 2)),
            new("gemv x too short", typeof(ArgumentException), "x needs 3 elements",
                b => b.Gemv(Transpose.NoTrans, 2, 3, 1, a6, 3, new float[2], 0, new float[2])),
            new("buffer of another backend", typeof(ArgumentException), "is a buffer of the",
                b =>
                {
                    using BlasBackend other = BlasBackend.Create(BackendPreference.Cpu);
                    using BlasBuffer foreign = other.Allocate(4);
                    b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, b6, 2, 0, foreign, 2);
                }),
            new("disposed buffer", typeof(ObjectDisposedException), "BlasBuffer",
                b =>
                {
                    BlasBuffer buffer = b.Allocate(4);
                    buffer.Dispose();
                    b.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a6, 2, b6, 2, 0, buffer, 2);
                }),
            new("layer input not a multiple of in_features", typeof(ArgumentException), "input (18 elements, not a multiple of in_features=5) and weight (7×5) cannot be multiplied",
                b => Layer(b, (l, _) => l.Forward(new float[18], new float[21]))),
            new("layer input shape with the wrong last dimension", typeof(ArgumentException), "input (3×6) and weight (7×5) cannot be multiplied",
                b => Layer(b, (l, _) => l.OutputShape(3, 6))),
            new("forward output of the wrong length", typeof(ArgumentException), "output has 20 elements",
                b => Layer(b, (l, _) => l.Forward(new float[15], new float[20]))),
            new("backward gradOutput of the wrong length", typeof(ArgumentException), "gradOutput has 20 elements",
                b => Layer(b, (l, _) => l.Backward(new float[15], new float[20], new float[15]))),
            new("backward gradInput of the wrong length", typeof(ArgumentException), "gradInput has 14 elements",
                b => Layer(b, (l, _) => l.Backward(new float[15], new float[21], new float[14]))),
            new("backward gradInput overlapping gradOutput", typeof(ArgumentException), "overlaps",
                b => Layer(b, (l, _) =>
                {
                    var shared = new float[40];
                    l.Backward(new float[15], shared.AsSpan(0, 21), shared.AsSpan(10, 15));
                })),
            new("layer buffer batch too large", typeof(ArgumentException), "batch=4 needs (4×5)",
                b => Layer(b, (l, backend) =>
                {
                    using BlasBuffer x = backend.Allocate(3, 5), y = backend.Allocate(4, 7);
                    l.Forward(x, y, 4);
                })),
            new("in_features zero", typeof(ArgumentOutOfRangeException), "inFeatures",
                b => _ = new Linear(0, 3, backend: b)),
            new("out_features negative", typeof(ArgumentOutOfRangeException), "outFeatures",
                b => _ = new ParameterLinear(3, -1, backend: b)),
            new("forward after dispose", typeof(ObjectDisposedException), "Linear",
                b => Disposed(b).Forward(new float[5], new float[7])),
            new("backward after dispose", typeof(ObjectDisposedException), "Linear",
                b => Disposed(b).Backward(new float[5], new float[7], new float[5])),
            new("weight after dispose", typeof(ObjectDisposedException), "Linear",
                b => _ = Disposed(b).Weight),
            new("zero_grad after dispose", typeof(ObjectDisposedException), "Linear",
                b => Disposed(b).ZeroGrad()),
            new("a kept weight buffer after dispose", typeof(ObjectDisposedException), "BlasBuffer",
                b =>
                {
                    var layer = new Linear(5, 7, backend: b);
                    BlasBuffer weight = layer.Weight;
                    layer.Dispose();
                    weight.CopyTo(new float[35]);
                }),
            new("weight of the wrong length", typeof(ArgumentException), "[7, 5] needs 35 elements; got 34",
                b => Layer(b, (l, _) => l.Weight.CopyFrom(new float[34]))),
            new("bias of the wrong length", typeof(ArgumentException), "[7] needs 7 elements; got 5",
                b => Layer(b, (l, _) => l.Bias!.CopyFrom(new float[5]))),
            new("thread count below one", typeof(ArgumentOutOfRangeException), "count",
                _ =>
                {
                    using var cpu = (CpuBackend)BlasBackend.Create(BackendPreference.Cpu);
                    cpu.SetThreadCount(0);
                }),
            new("undefined backend preference", typeof(ArgumentOutOfRangeException), "preference",
                _ => BlasBackend.Create((BackendPreference)9)),
        ];
    }

    private static void Layer(BlasBackend backend, Action<LinearLayer, BlasBackend> act)
    {
        using var layer = new Linear(5, 7, backend: backend);
        act(layer, backend);
    }

    private static Linear Disposed(BlasBackend backend)
    {
        var layer = new Linear(5, 7, backend: backend);
        layer.Dispose();
        return layer;
    }

    /// <summary>Runs one case; null when it threw the expected exception with the expected text.</summary>
    public static string? Check(Row row, BlasBackend backend)
    {
        try
        {
            row.Act(backend);
            return $"{row.Name}: no exception; expected {row.Expected.Name}";
        }
        catch (Exception e) when (e.GetType() == row.Expected)
        {
            return e.Message.Contains(row.MessageFragment, StringComparison.Ordinal)
                ? null
                : $"{row.Name}: message \"{e.Message}\" lacks \"{row.MessageFragment}\"";
        }
        catch (Exception e)
        {
            return $"{row.Name}: {e.GetType().Name} ({e.Message}); expected {row.Expected.Name}";
        }
    }
}
