using System.Collections.Concurrent;
using System.Diagnostics;
using BlasLinear.Backends;
using BlasLinear.Reference;

namespace BlasLinear.Bench.Soak;

/// <summary>What one soak run does.</summary>
/// <param name="Duration">How long to run after the warm-up.</param>
/// <param name="Backends">The backends to spread the work over.</param>
/// <param name="Threads">Worker threads calling at once.</param>
/// <param name="CheckEvery">Every n-th call of a thread is checked against float64.</param>
/// <param name="Seed">Seeds every random choice.</param>
/// <param name="WarmUp">Calls before this are not counted in the memory baseline.</param>
public sealed record SoakOptions(
    TimeSpan Duration,
    IReadOnlyList<BlasBackend> Backends,
    int Threads,
    int CheckEvery = 16,
    int Seed = 1,
    TimeSpan? WarmUp = null);

/// <summary>Process memory at one moment, after a full collection.</summary>
/// <param name="At">Time since the soak started.</param>
/// <param name="WorkingSetBytes">Resident set size of the process.</param>
/// <param name="ManagedHeapBytes">Live managed heap.</param>
public sealed record MemorySample(TimeSpan At, long WorkingSetBytes, long ManagedHeapBytes);

/// <summary>What a soak run saw.</summary>
public sealed record SoakReport(
    long Calls,
    long Checked,
    long LayersCreated,
    long Errors,
    IReadOnlyList<string> FirstErrors,
    MemorySample Start,
    MemorySample Middle,
    MemorySample End,
    TimeSpan Elapsed)
{
    /// <summary>Growth of the resident set from the end of the warm-up to the end.</summary>
    public long WorkingSetGrowthBytes => End.WorkingSetBytes - Start.WorkingSetBytes;
}

/// <summary>
/// A randomized, mixed, concurrent workload for long runs: both layer forms, many shapes, forward and
/// backward on shared long-lived layers, layers created and disposed as it goes, spread over the given
/// backends. A sample of the calls is checked against float64 within TESTING.md's bound; every exception
/// and every mismatch counts as an error. Memory is sampled after the warm-up, half way and at the end.
/// </summary>
public static class SoakRunner
{
    private static readonly int[] s_features = [1, 7, 33, 64, 129, 256];
    private static readonly int[] s_batches = [0, 1, 5, 32, 65];

    public static SoakReport Run(SoakOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1);
        if (options.Backends.Count == 0)
        {
            throw new ArgumentException("The soak needs at least one backend.", nameof(options));
        }

        TimeSpan warmUp = options.WarmUp ?? TimeSpan.FromSeconds(Math.Min(10, options.Duration.TotalSeconds / 5));
        // Long-lived layers that every thread shares, per backend: the service case.
        var random = new Random(options.Seed);
        var shared = options.Backends.SelectMany(backend => Enumerable.Range(0, 6).Select(i =>
            Create(backend, random, i % 2 == 0 ? LayerForm.Linear : LayerForm.Parameter))).ToArray();
        // One of each form prepared for inference, as a service would; backward runs on both kinds.
        for (int i = 0; i < shared.Length; i += 3)
        {
            shared[i].PrepareForInference();
        }

        var state = new RunState();
        var clock = Stopwatch.StartNew();
        TimeSpan end = warmUp + options.Duration;
        MemorySample? start = null, middle = null;

        try
        {
            var workers = Enumerable.Range(0, options.Threads).Select(t => new Thread(() =>
                Work(options, shared, state, clock, end, options.Seed * 7919 + t))).ToList();
            workers.ForEach(w => w.Start());
            while (workers.Any(w => w.IsAlive))
            {
                Thread.Sleep(100);
                if (start is null && clock.Elapsed >= warmUp)
                {
                    start = Sample(clock);
                    progress?.Invoke($"warm-up done: {Describe(start)}");
                }
                else if (middle is null && clock.Elapsed >= warmUp + options.Duration / 2)
                {
                    middle = Sample(clock);
                    progress?.Invoke($"half way: {Interlocked.Read(ref state.Calls)} calls, {Interlocked.Read(ref state.Errors)} errors, {Describe(middle)}");
                }
            }

            workers.ForEach(w => w.Join());
        }
        finally
        {
            foreach (LinearLayer layer in shared)
            {
                layer.Dispose();
            }
        }

        MemorySample last = Sample(clock);
        start ??= last;
        middle ??= last;
        return new SoakReport(state.Calls, state.Checked, state.Created, state.Errors, [.. state.FirstErrors], start, middle, last, clock.Elapsed);
    }

    public static string Describe(MemorySample sample) =>
        $"working set {sample.WorkingSetBytes / (1024.0 * 1024):0.0} MiB, managed heap {sample.ManagedHeapBytes / (1024.0 * 1024):0.0} MiB";

    private static void Work(SoakOptions options, LinearLayer[] shared, RunState state, Stopwatch clock, TimeSpan end, int seed)
    {
        var random = new Random(seed);
        long calls = 0;
        while (clock.Elapsed < end)
        {
            calls++;
            bool check = calls % options.CheckEvery == 0;
            try
            {
                int choice = random.Next(100);
                if (choice < 10)
                {
                    // A short-lived layer: created, used once, disposed.
                    BlasBackend backend = options.Backends[random.Next(options.Backends.Count)];
                    using LinearLayer layer = Create(backend, random, random.Next(2) == 0 ? LayerForm.Linear : LayerForm.Parameter);
                    Interlocked.Increment(ref state.Created);
                    Call(layer, random, backward: false, check, state);
                }
                else
                {
                    LinearLayer layer = shared[random.Next(shared.Length)];
                    Call(layer, random, backward: choice >= 70, check, state);
                    if (choice == 99)
                    {
                        layer.ZeroGrad();
                    }
                }

                Interlocked.Increment(ref state.Calls);
            }
            catch (Exception e)
            {
                state.Fail($"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    private static void Call(LinearLayer layer, Random random, bool backward, bool check, RunState state)
    {
        int m = s_batches[random.Next(s_batches.Length)];
        int k = layer.InFeatures, n = layer.OutFeatures;
        float[] x = TestData.Uniform(m * k, random.Next());
        bool outByIn = layer.Layout == WeightLayout.OutByIn;
        if (!backward)
        {
            var y = new float[m * n];
            layer.Forward(x, y);
            if (check)
            {
                Interlocked.Increment(ref state.Checked);
                float[] w = layer.Weight.ToArray(), b = layer.Bias?.ToArray() ?? [];
                Compare(layer, "Y", y, k, Expected.LayerForward(outByIn, m, k, n, x, w, b), state);
            }

            return;
        }

        float[] dy = TestData.Uniform(m * n, random.Next());
        var dx = new float[m * k];
        layer.Backward(x, dy, dx);
        if (check)
        {
            Interlocked.Increment(ref state.Checked);
            Compare(layer, "dX", dx, n, Expected.LayerInputGradient(outByIn, m, k, n, dy, layer.Weight.ToArray()), state);
        }
    }

    private static void Compare(LinearLayer layer, string what, float[] actual, int k, (double[] Value, double[] G) reference, RunState state)
    {
        for (int i = 0; i < actual.Length; i++)
        {
            double bound = (k + 2) * (1.0 / (1 << 23)) * reference.G[i] + 1e-30;
            if (!(Math.Abs(actual[i] - reference.Value[i]) <= bound))
            {
                state.Fail($"{layer} on {layer.Backend.Kind}: {what}[{i}] = {actual[i]}, float64 {reference.Value[i]}, bound {bound:E3}");
                return;
            }
        }
    }

    private enum LayerForm
    {
        Linear,
        Parameter,
    }

    private static LinearLayer Create(BlasBackend backend, Random random, LayerForm form)
    {
        int k = s_features[random.Next(s_features.Length)], n = s_features[random.Next(s_features.Length)];
        bool bias = random.Next(2) == 0;
        return form == LayerForm.Linear
            ? new Linear(k, n, bias, backend, seed: random.Next())
            : new ParameterLinear(k, n, bias, backend, seed: random.Next());
    }

    private static MemorySample Sample(Stopwatch clock)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return new MemorySample(clock.Elapsed, process.WorkingSet64, GC.GetTotalMemory(forceFullCollection: false));
    }

    private sealed class RunState
    {
        public long Calls;
        public long Checked;
        public long Created;
        public long Errors;
        public readonly ConcurrentQueue<string> FirstErrors = new();

        public void Fail(string message)
        {
            if (Interlocked.Increment(ref Errors) <= 10)
            {
                FirstErrors.Enqueue(message);
            }
        }
    }
}
