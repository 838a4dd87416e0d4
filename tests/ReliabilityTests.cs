using BlasLinear.Bench.Soak;
using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// Concurrency, long runs and crash isolation: the OpenBLAS gate in both of its modes, the soak on both
/// backends, and the workloads that could take a process down, run in child processes.
/// </summary>
[Collection(IsolatedCollection.Name)]
public class ReliabilityTests
{
    public static TheoryData<TestBackend, int> BackendsAndOpenBlasThreads()
    {
        var data = new TheoryData<TestBackend, int>
        {
            { TestBackends.Cpu, 1 },
            { TestBackends.Cpu, Environment.ProcessorCount },
            { TestBackends.Cuda, 0 },
        };
        return data;
    }

    /// <summary>8 threads × 300 mixed calls, bitwise equal to one thread, with OpenBLAS at 1 thread and at the core count.</summary>
    [SkippableTheory]
    [MemberData(nameof(BackendsAndOpenBlasThreads))]
    public void Eight_threads_mixing_calls_match_one_thread_in_each_gate_mode(TestBackend backendName, int openBlasThreads)
    {
        using var threads = new OpenBlasThreads(backendName, openBlasThreads);
        IsolatedTests.EightThreadsMixingForwardAndBackward(TestBackends.Get(backendName));
    }

    [SkippableTheory]
    [MemberData(nameof(BackendsAndOpenBlasThreads))]
    public async Task Five_hundred_concurrent_thread_pool_calls_finish_in_time_and_are_correct(TestBackend backendName, int openBlasThreads)
    {
        using var threads = new OpenBlasThreads(backendName, openBlasThreads);
        BlasBackend backend = TestBackends.Get(backendName);
        using LinearLayer linear = LayerFactory.Create(LayerFactory.Linear, 129, 65, true, backend);
        using LinearLayer parameter = LayerFactory.Create(LayerFactory.ParameterLinear, 129, 65, true, backend);
        float[][] xs = Enumerable.Range(0, 10).Select(i => TestData.Uniform((i + 1) * 129, i)).ToArray();
        float[][] dys = Enumerable.Range(0, 10).Select(i => TestData.Uniform((i + 1) * 65, 100 + i)).ToArray();
        float[][] expectedDx = xs.Select((x, i) =>
        {
            var dx = new float[x.Length];
            parameter.Backward(x, dys[i], dx);
            return dx;
        }).ToArray();
        float[][] expectedY = xs.Select(x => linear.Forward(x)).ToArray();

        Task<bool>[] calls = Enumerable.Range(0, 500).Select(c => Task.Run(() =>
        {
            int i = c % xs.Length;
            if (c % 2 == 0)
            {
                return linear.Forward(xs[i]).AsSpan().SequenceEqual(expectedY[i]);
            }

            var dx = new float[xs[i].Length];
            parameter.Backward(xs[i], dys[i], dx);
            return dx.AsSpan().SequenceEqual(expectedDx[i]);
        })).ToArray();

        // WaitAsync throws TimeoutException if the calls deadlock.
        bool[] correct = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.All(correct, Assert.True);
    }

    /// <summary>The soak for 20 seconds on both backends: no error, and memory flat after the warm-up.</summary>
    [SkippableFact]
    public void Twenty_second_soak_on_both_backends_has_no_error_and_no_memory_growth()
    {
        BlasBackend[] backends = [TestBackends.Get(TestBackends.Cpu), TestBackends.Get(TestBackends.Cuda)];
        long emulatorLive = Emulator.InUse ? Emulator.LiveAllocations : 0;

        SoakReport report = SoakRunner.Run(new SoakOptions(
            TimeSpan.FromSeconds(15), backends, Threads: 2 * Environment.ProcessorCount, Seed: 3, WarmUp: TimeSpan.FromSeconds(5)));

        Assert.True(report.Errors == 0, string.Join("\n", report.FirstErrors));
        Assert.True(report.Calls > 1000, $"only {report.Calls} calls in 20 s");
        Assert.True(report.Checked > 50, $"only {report.Checked} calls checked");
        Assert.True(report.LayersCreated > 50, $"only {report.LayersCreated} layers created");
        // The resident set may move by a few pages and allocator caches; a leak of per-call or per-layer
        // memory over thousands of calls would be far larger.
        Assert.True(report.WorkingSetGrowthBytes < 32L << 20,
            $"working set grew {report.WorkingSetGrowthBytes / (1024.0 * 1024):0.0} MiB after warm-up: {SoakRunner.Describe(report.Start)} → {SoakRunner.Describe(report.End)}");
        Assert.True(report.End.ManagedHeapBytes < report.Start.ManagedHeapBytes + (8L << 20), "the managed heap grew");
        if (Emulator.InUse)
        {
            Assert.True(Emulator.LiveAllocations <= emulatorLive + 16, "device allocations outlived the soak's layers");
        }
    }

    /// <summary>
    /// 500 threads released at once into OpenBLAS-backed layers, in a child process: it must not crash
    /// and must print nothing from the native library, with OpenBLAS multithreaded and single-threaded.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("1")]
    public void Five_hundred_threads_at_once_do_not_crash_and_print_nothing(string? openBlasThreads)
    {
        ChildProcess.Result result = ChildProcess.RunProbe("wide 500".Split(' '), new Dictionary<string, string?>
        {
            ["BLASLINEAR_BACKEND"] = "cpu",
            ["OPENBLAS_NUM_THREADS"] = openBlasThreads,
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("wide: 500 threads × 4 forward+backward", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("0 wrong, 0 failed", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.StandardOutput);
    }

    /// <summary>OPENBLAS_CORETYPE takes effect at load: the sweep holds with OpenBLAS's own choice and with Haswell.</summary>
    [Theory]
    [InlineData(null, null)]
    [InlineData("Haswell", "Haswell")]
    public void Correctness_sweep_holds_with_each_core_type(string? coreType, string? expectedCore)
    {
        ChildProcess.Result result = ChildProcess.RunProbe(["sweep"], new Dictionary<string, string?>
        {
            ["OPENBLAS_CORETYPE"] = coreType,
            ["OPENBLAS_L2_SIZE"] = null,
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("5324 products, 0 outside the bound", result.StandardError, StringComparison.Ordinal);
        if (expectedCore is not null)
        {
            Assert.Contains($"core {expectedCore}", result.StandardError, StringComparison.Ordinal);
        }
    }

    /// <summary>Sets OpenBLAS's threads for one test and puts them back.</summary>
    private sealed class OpenBlasThreads : IDisposable
    {
        private readonly CpuBackend? _backend;
        private readonly int _original;

        public OpenBlasThreads(TestBackend backendName, int threads)
        {
            if (backendName == TestBackends.Cpu)
            {
                _backend = (CpuBackend)TestBackends.Get(backendName);
                _original = _backend.ThreadCount;
                _backend.SetThreadCount(threads);
            }
        }

        public void Dispose() => _backend?.SetThreadCount(_original);
    }
}
