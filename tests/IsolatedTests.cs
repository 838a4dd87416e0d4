using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>Tests that change process-wide state or count process-wide resources run alone, after the rest.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedCollection
{
    public const string Name = "Isolated";
}

/// <summary>TESTING.md cases 13 and 14, and the process-wide thread setting.</summary>
[Collection(IsolatedCollection.Name)]
public class IsolatedTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public void Thread_count_can_be_set_and_read_back()
    {
        var backend = (CpuBackend)TestBackends.Get(TestBackends.Cpu);
        int original = backend.ThreadCount;
        try
        {
            backend.SetThreadCount(1);
            Assert.Equal(1, backend.ThreadCount);
        }
        finally
        {
            backend.SetThreadCount(original);
        }

        Assert.Equal(original, backend.ThreadCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.SetThreadCount(0));
    }

    /// <summary>TESTING.md case 13: create/dispose cycles, forgotten layers, double dispose.</summary>
    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Ten_thousand_create_dispose_cycles_leave_no_live_allocation(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        long before = LiveAllocations(backend);
        float[] x = TestData.Uniform(2 * 8, 1);
        var y = new float[2 * 4];

        for (int i = 0; i < 10_000; i++)
        {
            using LinearLayer layer = LayerFactory.Create(form, 8, 4, bias: i % 2 == 0, backend, seed: i);
            if (i % 100 == 0)
            {
                layer.Forward(x, y);
            }
        }

        Assert.Equal(before, LiveAllocations(backend));
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Thousand_forgotten_layers_are_freed_by_the_collector(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        long before = LiveAllocations(backend);

        CreateAndForget(backend, form, 1000);
        Assert.True(LiveAllocations(backend) > before, "the forgotten layers should hold native memory until collected");
        for (int attempt = 0; attempt < 20 && LiveAllocations(backend) != before; attempt++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.Equal(before, LiveAllocations(backend));
    }

    [SkippableTheory]
    [MemberData(nameof(LayerFactory.BackendsAndForms), MemberType = typeof(LayerFactory))]
    public void Double_dispose_is_a_no_op_and_use_after_dispose_throws(TestBackend backendName, LayerKind form)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        long before = LiveAllocations(backend);
        LinearLayer layer = LayerFactory.Create(form, 8, 4, true, backend);
        BlasBuffer weight = layer.Weight;

        layer.Dispose();
        layer.Dispose();

        Assert.Equal(before, LiveAllocations(backend));
        Assert.True(layer.IsDisposed);
        Assert.True(weight.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => layer.Forward(new float[8], new float[4]));
        Assert.Throws<ObjectDisposedException>(() => layer.Backward(new float[8], new float[4], new float[8]));
        Assert.Throws<ObjectDisposedException>(() => layer.ZeroGrad());
        Assert.Throws<ObjectDisposedException>(() => layer.ResetParameters());
        Assert.Throws<ObjectDisposedException>(() => layer.Bias);
        Assert.Throws<ObjectDisposedException>(() => weight.ToArray());
    }

    /// <summary>
    /// TESTING.md case 14: 8 threads × 300 calls mixing forward and backward of both forms on shared
    /// layers give exactly the single-threaded results; the accumulated gradients match float64.
    /// </summary>
    internal static void EightThreadsMixingForwardAndBackward(BlasBackend backend)
    {
        const int threads = 8, callsPerThread = 300, inFeatures = 67, outFeatures = 33, inputs = 16;
        using LinearLayer linear = LayerFactory.Create(LayerFactory.Linear, inFeatures, outFeatures, true, backend, seed: 1);
        using LinearLayer parameter = LayerFactory.Create(LayerFactory.ParameterLinear, inFeatures, outFeatures, true, backend, seed: 2);
        LinearLayer[] layers = [linear, parameter];
        // Batch sizes 1..16 so that several kernel paths run at once.
        float[][] xs = Enumerable.Range(0, inputs).Select(i => TestData.Uniform((i + 1) * inFeatures, 100 + i)).ToArray();
        float[][] dys = Enumerable.Range(0, inputs).Select(i => TestData.Uniform((i + 1) * outFeatures, 200 + i)).ToArray();

        // The single-threaded answers: forward output and dX per (layer, input).
        var expectedY = new float[2, inputs][];
        var expectedDx = new float[2, inputs][];
        for (int l = 0; l < 2; l++)
        {
            for (int i = 0; i < inputs; i++)
            {
                expectedY[l, i] = layers[l].Forward(xs[i]);
                expectedDx[l, i] = new float[xs[i].Length];
                layers[l].Backward(xs[i], dys[i], expectedDx[l, i]);
            }

            layers[l].ZeroGrad();
        }

        var backwardCounts = new int[2, inputs];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                Work(t);
            }
            catch (Exception e)
            {
                // An exception escaping a thread would end the test process; report it instead.
                failures.Enqueue($"thread {t}: {e}");
            }
        })).ToList();

        void Work(int t)
        {
            var y = new float[inputs * outFeatures];
            var dx = new float[inputs * inFeatures];
            for (int call = 0; call < callsPerThread; call++)
            {
                int l = (t + call) % 2, i = (t * 7 + call * 3) % inputs;
                LinearLayer layer = layers[l];
                if (call % 3 == 2)
                {
                    Span<float> dxs = dx.AsSpan(0, xs[i].Length);
                    layer.Backward(xs[i], dys[i], dxs);
                    Interlocked.Increment(ref backwardCounts[l, i]);
                    if (!dxs.SequenceEqual(expectedDx[l, i]))
                    {
                        failures.Enqueue($"thread {t} call {call}: dX of {layer} input {i} differs");
                    }
                }
                else
                {
                    Span<float> ys = y.AsSpan(0, expectedY[l, i].Length);
                    layer.Forward(xs[i], ys);
                    if (!ys.SequenceEqual(expectedY[l, i]))
                    {
                        failures.Enqueue($"thread {t} call {call}: Y of {layer} input {i} differs");
                    }
                }
            }
        }

        workers.ForEach(w => w.Start());
        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(s_deadline), "a worker did not finish: deadlock?");
        }

        Assert.Empty(failures);
        // The gradients are sums over all backward calls, in an order the threads chose: compare them
        // with float64 over the stacked rows, where the bound's k is the total number of rows.
        for (int l = 0; l < 2; l++)
        {
            var stackedX = new List<float>();
            var stackedDy = new List<float>();
            for (int i = 0; i < inputs; i++)
            {
                for (int c = 0; c < backwardCounts[l, i]; c++)
                {
                    stackedX.AddRange(xs[i]);
                    stackedDy.AddRange(dys[i]);
                }
            }

            int rows = stackedX.Count / inFeatures;
            bool outByIn = layers[l].Layout == WeightLayout.OutByIn;
            var reference = Expected.LayerWeightGradient(outByIn, rows, inFeatures, outFeatures, stackedX.ToArray(), stackedDy.ToArray(), new float[inFeatures * outFeatures]);
            (int wRows, int wCols) = outByIn ? (outFeatures, inFeatures) : (inFeatures, outFeatures);
            Tolerance.AssertWithin($"{layers[l]} accumulated dW", rows, layers[l].WeightGrad.ToArray(), wRows, wCols, reference);
            Tolerance.AssertWithin($"{layers[l]} accumulated db", rows, layers[l].BiasGrad!.ToArray(), 1, outFeatures,
                Expected.BiasGradient(rows, outFeatures, stackedDy.ToArray(), new float[outFeatures]));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public async Task Two_hundred_concurrent_thread_pool_calls_finish_and_are_correct(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer layer = LayerFactory.Create(LayerFactory.Linear, 129, 65, true, backend);
        float[][] xs = Enumerable.Range(0, 10).Select(i => TestData.Uniform((i + 1) * 129, i)).ToArray();
        float[][] expected = xs.Select(x => layer.Forward(x)).ToArray();

        Task<bool>[] calls = Enumerable.Range(0, 200).Select(c => Task.Run(() =>
        {
            float[] x = xs[c % xs.Length];
            return layer.Forward(x).AsSpan().SequenceEqual(expected[c % xs.Length]);
        })).ToArray();

        // WaitAsync throws TimeoutException if the calls deadlock.
        bool[] correct = await Task.WhenAll(calls).WaitAsync(s_deadline);
        Assert.All(correct, Assert.True);
    }

    /// <summary>
    /// Live native allocations of the backend's kind. On CUDA, one forward first creates what the calling
    /// thread keeps for the backend's lifetime (its cuBLAS handle and ones vector), so that only the
    /// layers' own allocations are counted.
    /// </summary>
    private static long LiveAllocations(BlasBackend backend)
    {
        switch (backend.Kind)
        {
            case BackendKind.Cpu:
                return AlignedHostMemoryHandle.LiveCount;
            case BackendKind.Cuda:
                Skip.IfNot(Emulator.InUse, "Live allocations are counted by the CUDA emulator, which is not in use.");
                using (var warmUp = new Linear(8, 4, backend: backend))
                {
                    warmUp.Forward(new float[2 * 8], new float[2 * 4]);
                }

                return Emulator.LiveAllocations;
            default:
                throw new NotSupportedException($"No allocation counter for {backend.Kind}.");
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void CreateAndForget(BlasBackend backend, LayerKind form, int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ = LayerFactory.Create(form, 16, 8, true, backend, seed: i);
        }
    }
}
