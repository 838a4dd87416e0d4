using System.Diagnostics;
using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Probe;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// Lifetime and resource faults: disposal racing a copy, memory that is not there, rejected calls that
/// must write nothing, and the thread-count limits. What could end the process runs in a child.
/// </summary>
[Collection(IsolatedCollection.Name)]
public class LifetimeTests
{
    /// <summary>Every buffer operation of the dispose race, on each backend (CUDA: the emulator unless BLASLINEAR_TEST_CUDA=real).</summary>
    public static TheoryData<string, string> BufferOperationsOnBackends()
    {
        var data = new TheoryData<string, string>();
        foreach (string backend in new[] { "cpu", "cuda" })
        {
            foreach (string operation in LifetimeScenarios.BufferOperations)
            {
                data.Add(backend, operation);
            }
        }

        return data;
    }

    /// <summary>Each buffer operation racing the layer's Dispose: ObjectDisposedException, never a crash.</summary>
    [Theory]
    [MemberData(nameof(BufferOperationsOnBackends))]
    public void Disposing_a_layer_while_another_thread_copies_its_buffer_throws_ObjectDisposedException(string backend, string operation) =>
        AssertEveryRunEndsInObjectDisposed(["dispose-during-copy", operation, backend], runs: 2);

    /// <summary>
    /// Two threads inside the backend's calls (raw products on host arrays, or layers) while the main thread
    /// disposes it: both end with ObjectDisposedException, the process lives, and nothing is used after it
    /// was freed (on CUDA no destroyed stream or handle is reached, and no CUDA error is raised).
    /// </summary>
    [Theory]
    [InlineData("cpu", "gemm")]
    [InlineData("cpu", "layers")]
    [InlineData("cuda", "gemm")]
    [InlineData("cuda", "layers")]
    public void Disposing_a_backend_with_calls_in_flight_ends_them_with_ObjectDisposedException(string backend, string workload) =>
        AssertEveryRunEndsInObjectDisposed(["dispose-backend-during-calls", workload, backend], runs: 3);

    /// <summary>
    /// Preparing, unpreparing and reloading a layer while other threads forward through it is a documented
    /// race, but never a crash: forwards succeed or throw ObjectDisposedException, nothing else.
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    public void Changing_the_preparation_while_other_threads_forward_never_ends_the_process(string backend)
    {
        ChildProcess.Result result = ChildProcess.RunProbe(["preparation-race", backend]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0 other exceptions", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>An overflowing size is the documented ArgumentOutOfRangeException, before any allocation.</summary>
    [Fact]
    public void A_layer_whose_size_overflows_is_refused_with_ArgumentOutOfRangeException()
    {
        BlasBackend backend = TestBackends.Get(TestBackends.Cpu);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(int.MaxValue, int.MaxValue, backend: backend));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Allocate(int.MaxValue, int.MaxValue, 8));
    }

    /// <summary>
    /// A 1 GiB weight in a process limited to 512 MiB by a memory cgroup: OutOfMemoryException with the
    /// requested and available sizes, not a kill. Needs a writable cgroup v1 memory hierarchy or cgroup v2 (root).
    /// </summary>
    [SkippableFact]
    public void A_layer_larger_than_the_memory_limit_is_an_OutOfMemoryException_not_a_kill()
    {
        string? cgroup = MemoryCgroup.TryCreate(512L << 20, out string why);
        Skip.If(cgroup is null, $"no memory cgroup can be made here: {why}");
        try
        {
            string probe = Path.Combine(AppContext.BaseDirectory, "BlasLinear.Tests.Probe.dll");
            string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
            var start = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"echo $$ > '{cgroup}/cgroup.procs' && exec '{host}' '{probe}' larger-than-memory 16384");
            using Process process = Process.Start(start)!;
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the child did not finish");
            string report = $"exit {process.ExitCode}\n{stdout.Result}\n{stderr.Result}";
            Assert.True(process.ExitCode == 0, report);
            Assert.Contains("Cannot allocate 1073741824 bytes", stderr.Result, StringComparison.Ordinal);
            Assert.Contains("this process can get", stderr.Result, StringComparison.Ordinal);
        }
        finally
        {
            MemoryCgroup.Remove(cgroup!);
        }
    }

    /// <summary>Construction holds the weight and its gradient, and no host array as large as the weight.</summary>
    [Fact]
    public void Constructing_a_layer_peaks_at_about_twice_its_weight()
    {
        ChildProcess.Result result = ChildProcess.RunProbe(["construction-peak", "4096"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        double weights = double.Parse(result.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(weights < 2.25, $"construction raised the peak by {weights:0.00} weights (weight + gradient is 2)");
    }

    /// <summary>Every rejected call leaves every buffer it was given, and the layer's own, bit-identical.</summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void A_rejected_call_writes_nothing(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        using var layer = new Linear(16, 16, bias: true, backend, seed: 3);
        using BlasBuffer s = backend.Allocate(4, 16), x = backend.Allocate(4, 16), dy = backend.Allocate(4, 16);
        s.CopyFrom(TestData.Uniform(64, 1));
        x.CopyFrom(TestData.Uniform(64, 2));
        dy.CopyFrom(TestData.Uniform(64, 3));
        BlasBuffer[] all = [s, x, dy, layer.Weight, layer.Bias!, layer.WeightGrad, layer.BiasGrad!];
        float[][] before = all.Select(b => b.ToArray()).ToArray();

        Assert.Throws<ArgumentException>(() => layer.Forward(s, s, 4));
        Assert.Throws<ArgumentException>(() => layer.Forward(x, layer.Weight, 4));
        Assert.Throws<ArgumentException>(() => layer.Forward(x, layer.Bias!, 1));
        Assert.Throws<ArgumentException>(() => layer.Forward(x, layer.WeightGrad, 4));
        Assert.Throws<ArgumentException>(() => layer.Backward(x, dy, dy, 4));
        Assert.Throws<ArgumentException>(() => layer.Backward(x, dy, x, 4));
        Assert.Throws<ArgumentException>(() => layer.Backward(x, dy, layer.Weight, 4));

        float[] host = TestData.Uniform(64, 4);
        float[] hostBefore = (float[])host.Clone();
        Assert.Throws<ArgumentException>(() => layer.Forward(host, host));
        Assert.Throws<ArgumentException>(() => layer.Forward(host.AsSpan(0, 48), host.AsSpan(16, 48)));
        Assert.Equal(hostBefore, host);
        for (int i = 0; i < all.Length; i++)
        {
            Assert.Equal(before[i], all[i].ToArray());
        }
    }

    /// <summary>More threads than processors are refused, with the reason; the limit itself is accepted.</summary>
    [Fact]
    public void Thread_counts_above_the_processor_count_are_refused()
    {
        var backend = (CpuBackend)TestBackends.Get(TestBackends.Cpu);
        int before = backend.ThreadCount;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => backend.SetThreadCount(Environment.ProcessorCount + 1));
        Assert.Contains("one per processor", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.SetThreadCount(1000));
        Assert.Equal(before, backend.ThreadCount);
        backend.SetThreadCount(Environment.ProcessorCount);
        Assert.Equal(Environment.ProcessorCount, backend.ThreadCount);
        backend.SetThreadCount(before);
    }

    /// <summary>Runs a dispose-race scenario in child processes: each run must live and end the racing calls with ObjectDisposedException.</summary>
    private static void AssertEveryRunEndsInObjectDisposed(string[] scenario, int runs)
    {
        for (int run = 0; run < runs; run++)
        {
            ChildProcess.Result result = ChildProcess.RunProbe(scenario);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("ObjectDisposedException", result.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("destroyed", result.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("CudaException", result.StandardError, StringComparison.Ordinal);
        }
    }
}

/// <summary>A memory cgroup for one child process (cgroup v2, or v1's memory hierarchy), made and removed by the test.</summary>
internal static class MemoryCgroup
{
    public static string? TryCreate(long limitBytes, out string why)
    {
        string name = $"blaslinear-test-{Environment.ProcessId}-{Environment.TickCount64}";
        (string Root, string LimitFile)[] hierarchies =
        [
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
            ("/sys/fs/cgroup", "memory.max"),
        ];
        why = "neither /sys/fs/cgroup/memory nor a cgroup v2 memory controller is writable";
        foreach ((string root, string limitFile) in hierarchies)
        {
            if (!File.Exists(Path.Combine(root, "cgroup.procs")) || !File.Exists(Path.Combine(root, limitFile)) && root.EndsWith("memory", StringComparison.Ordinal))
            {
                continue;
            }

            string folder = Path.Combine(root, name);
            try
            {
                Directory.CreateDirectory(folder);
                string limit = Path.Combine(folder, limitFile);
                if (!File.Exists(limit))
                {
                    Directory.Delete(folder);
                    continue;
                }

                File.WriteAllText(limit, limitBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return folder;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = $"{folder}: {e.Message}";
                Remove(folder);
            }
        }

        return null;
    }

    public static void Remove(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder);
            }
        }
        catch (IOException)
        {
            // A cgroup folder can be removed only once its process has gone; the kernel reaps it then.
        }
    }
}
