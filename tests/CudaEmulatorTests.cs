using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// TESTING.md case 16: the CUDA backend against the emulator's fault injection, counters and device
/// modes. The emulator's state is process-wide, so these run alone, and each leaves it as it found it.
/// </summary>
[Collection(IsolatedCollection.Name)]
public sealed class CudaEmulatorTests : IDisposable
{
    private const int CublasInternalError = 14;
    private const int CudaInvalidValue = 1;
    private const int CudaMemoryAllocation = 2;
    private const int CudaIllegalAddress = 700;

    public CudaEmulatorTests() => Skip.IfNot(Emulator.InUse, "These tests steer the CUDA emulator; the real CUDA libraries are in use.");

    public void Dispose()
    {
        Emulator.blemu_fail_nth_allocation(0, 0);
        Emulator.blemu_set_device_mode(0);
        Emulator.blemu_set_memory_capacity(16L << 30);
        Emulator.blemu_reset();
    }

    /// <summary>A layer's whole life on host spans: construction, forward, backward, parameter download.</summary>
    private static void Workload(BlasBackend backend, LayerKind form, int batch = 5)
    {
        using LinearLayer layer = LayerFactory.Create(form, 33, 17, true, backend);
        float[] x = TestData.Uniform(batch * 33, 1), dy = TestData.Uniform(batch * 17, 2);
        float[] y = layer.Forward(x);
        var dx = new float[x.Length];
        layer.Backward(x, dy, dx);
        _ = layer.WeightGrad.ToArray();
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        // k = 0 scales C by β: cublasSscal_v2 for β ∉ {0, 1}, a memset for β = 0.
        float[] c = TestData.Uniform(12, 5);
        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 3, 4, 0, 1f, Array.Empty<float>(), 1, Array.Empty<float>(), 4, 1.3f, c, 4);
        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 3, 4, 0, 1f, Array.Empty<float>(), 1, Array.Empty<float>(), 4, 0f, c, 4);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [SkippableTheory]
    [InlineData(LayerFactory.Linear)]
    [InlineData(LayerFactory.ParameterLinear)]
    public void A_failure_at_each_allocation_is_typed_leaks_nothing_and_leaves_the_backend_usable(LayerKind form)
    {
        using BlasBackend backend = CudaBackend.Create();
        Workload(backend, form);
        long live = Emulator.LiveAllocations, violations = Emulator.blemu_violations();
        long total = Emulator.TotalAllocations;
        Workload(backend, form);
        long allocations = Emulator.TotalAllocations - total;
        Assert.True(allocations >= 8, $"the workload should allocate parameters, gradients and staging; it made {allocations}");

        for (int n = 1; n <= allocations; n++)
        {
            Emulator.blemu_fail_nth_allocation(n, CudaMemoryAllocation);
            var e = Assert.Throws<CudaOutOfMemoryException>(() => Workload(backend, form));
            Emulator.blemu_fail_nth_allocation(0, 0);

            Assert.True(e.RequestedBytes > 0, e.Message);
            Assert.Equal(live, Emulator.LiveAllocations);
            Workload(backend, form);
        }

        Assert.Equal(violations, Emulator.blemu_violations());
    }

    [SkippableTheory]
    [InlineData("cublasSgemm_v2", CublasInternalError, typeof(CublasException), "CUBLAS_STATUS_INTERNAL_ERROR")]
    [InlineData("cublasSgemv_v2", CublasInternalError, typeof(CublasException), "CUBLAS_STATUS_INTERNAL_ERROR")]
    [InlineData("cublasSscal_v2", CublasInternalError, typeof(CublasException), "CUBLAS_STATUS_INTERNAL_ERROR")]
    [InlineData("cudaMemcpyAsync", CudaInvalidValue, typeof(CudaException), "cudaErrorInvalidValue")]
    [InlineData("cudaMemsetAsync", CudaInvalidValue, typeof(CudaException), "cudaErrorInvalidValue")]
    [InlineData("cudaStreamSynchronize", CudaInvalidValue, typeof(CudaException), "cudaErrorInvalidValue")]
    public void A_failure_at_each_call_is_typed_leaks_nothing_and_leaves_the_backend_usable(string function, int status, Type expected, string statusName)
    {
        using BlasBackend backend = CudaBackend.Create();
        Workload(backend, LayerFactory.Linear);
        long live = Emulator.LiveAllocations;
        int failures = 0;

        for (int n = 1; n < 1000; n++)
        {
            Emulator.blemu_fail_nth_call(function, n, status);
            Exception? e = Record.Exception(() => Workload(backend, LayerFactory.Linear));
            Emulator.blemu_fail_nth_call(function, 0, 0);
            if (e is null)
            {
                break; // the workload makes fewer than n such calls: every one has failed once
            }

            failures++;
            Assert.IsType(expected, e);
            var cuda = (CudaException)e;
            Assert.Equal(status, cuda.Status);
            Assert.Equal(statusName, cuda.StatusName);
            Assert.Contains(function, e.Message, StringComparison.Ordinal);
            Assert.False(cuda.IsSticky);
            Assert.Equal(live, Emulator.LiveAllocations);
            Workload(backend, LayerFactory.Linear);
        }

        Assert.True(failures > 0, $"the workload never called {function}");
    }

    [SkippableFact]
    public void A_thread_whose_cuBLAS_handle_cannot_be_made_gets_a_typed_error_and_can_retry()
    {
        using BlasBackend backend = CudaBackend.Create();
        long handles = Emulator.blemu_live_handles();
        Exception? first = null, retry = null;
        long handlesAfterFailure = -1;

        // A fresh thread, so that the workload has to make a handle; failures are carried out of it.
        var thread = new Thread(() =>
        {
            Emulator.blemu_fail_nth_call("cublasCreate_v2", 1, CublasInternalError);
            first = Record.Exception(() => Workload(backend, LayerFactory.Linear));
            Emulator.blemu_fail_nth_call("cublasCreate_v2", 0, 0);
            handlesAfterFailure = Emulator.blemu_live_handles();
            retry = Record.Exception(() => Workload(backend, LayerFactory.Linear));
        });
        thread.Start();
        thread.Join();

        var e = Assert.IsType<CublasException>(first);
        Assert.Equal("CUBLAS_STATUS_INTERNAL_ERROR", e.StatusName);
        Assert.Equal(handles, handlesAfterFailure);
        Assert.Null(retry);
        Assert.Equal(handles + 1, Emulator.blemu_live_handles());
    }

    [SkippableFact]
    public void A_sticky_error_makes_every_later_call_fail_and_says_to_restart()
    {
        long live = Emulator.LiveAllocations;
        var backend = CudaBackend.Create();
        var layer = new Linear(16, 8, backend: backend);
        float[] x = TestData.Uniform(4 * 16, 1);
        layer.Forward(x);

        Emulator.blemu_fail_nth_call("cublasSgemm_v2", 1, CudaIllegalAddress);
        var first = Assert.Throws<CublasException>(() => layer.Forward(x));
        var later = Assert.Throws<CudaException>(() => layer.Forward(x));
        var describe = Assert.Throws<CudaException>(() => backend.Describe());

        Assert.True(first.IsSticky);
        Assert.Contains("restart the process", first.Message, StringComparison.Ordinal);
        Assert.Contains("unusable", later.Message, StringComparison.Ordinal);
        Assert.Contains("restart the process", describe.Message, StringComparison.Ordinal);

        // Only the emulator can be reset; a real GPU needs a new process.
        Emulator.blemu_reset();
        layer.Dispose();
        backend.Dispose();
        Assert.Equal(live, Emulator.LiveAllocations);
    }

    [SkippableFact]
    public void Device_out_of_memory_gives_requested_and_free_bytes_and_the_backend_stays_usable()
    {
        using BlasBackend backend = CudaBackend.Create();
        Emulator.blemu_set_memory_capacity(64L << 20);

        var e = Assert.Throws<CudaOutOfMemoryException>(() => backend.Allocate(8192, 8192));

        Assert.Equal(8192L * 8192 * sizeof(float), e.RequestedBytes);
        Assert.InRange(e.FreeBytes, 0, 64L << 20);
        Assert.Equal(64L << 20, e.TotalBytes);
        Assert.Contains($"{e.RequestedBytes} bytes", e.Message, StringComparison.Ordinal);
        Emulator.blemu_set_memory_capacity(16L << 30);
        Workload(backend, LayerFactory.ParameterLinear);
    }

    [SkippableTheory]
    [InlineData(LayerFactory.Linear)]
    [InlineData(LayerFactory.ParameterLinear)]
    public void Host_span_calls_allocate_nothing_after_the_first_call_of_a_batch_size(LayerKind form)
    {
        using BlasBackend backend = CudaBackend.Create();
        using LinearLayer layer = LayerFactory.Create(form, 65, 31, true, backend);
        float[] x = TestData.Uniform(32 * 65, 1), dy = TestData.Uniform(32 * 31, 2);
        var y = new float[32 * 31];
        var dx = new float[32 * 65];
        layer.Forward(x, y);
        layer.Backward(x, dy, dx);
        long total = Emulator.TotalAllocations;

        for (int i = 0; i < 20; i++)
        {
            layer.Forward(x, y);
            layer.Backward(x, dy, dx);
            // A smaller batch reuses the larger staging buffers.
            layer.Forward(x.AsSpan(0, 7 * 65), y.AsSpan(0, 7 * 31));
        }

        Assert.Equal(total, Emulator.TotalAllocations);
        layer.Forward(TestData.Uniform(64 * 65, 3), new float[64 * 31]);
        Assert.True(Emulator.TotalAllocations > total, "a larger batch should grow the staging buffers");
    }

    [SkippableTheory]
    [InlineData(1, "cudaGetDeviceCount found 0 devices")]
    [InlineData(2, "cudaErrorNoDevice (100): no CUDA-capable device")]
    [InlineData(3, "cudaErrorInsufficientDriver (35): the driver is older than the runtime")]
    public void No_usable_device_makes_auto_take_OpenBlas_and_cuda_throw_the_reason(int mode, string reason)
    {
        Emulator.blemu_set_device_mode(mode);

        var e = Assert.Throws<BackendUnavailableException>(() => CudaBackend.Create());
        using BlasBackend fallback = BlasBackend.Create(BackendPreference.Auto);

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(BackendKind.Cpu, fallback.Kind);
    }

    [SkippableFact]
    public void Description_names_the_device_versions_libraries_and_math_mode()
    {
        using CudaBackend backend = CudaBackend.Create(CudaMathMode.Tf32);

        BackendDescription description = backend.Describe();

        Assert.Equal(CudaMathMode.Tf32, backend.MathMode);
        Assert.True(backend.IsEmulator);
        Assert.Contains("BlasLinear CUDA emulator", description["device"], StringComparison.Ordinal);
        Assert.Contains("GiB total", description["memory"], StringComparison.Ordinal);
        Assert.Contains("13.0", description["runtime"], StringComparison.Ordinal);
        Assert.Contains(Emulator.LibraryFile, description["cuBLAS library"], StringComparison.Ordinal);
        Assert.Contains("TF32", description["math mode"], StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Disposing_the_backend_frees_its_stream_and_every_pooled_handle()
    {
        long handles = Emulator.blemu_live_handles(), streams = Emulator.blemu_live_streams(), live = Emulator.LiveAllocations;
        var backend = CudaBackend.Create();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        Thread[] threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            if (Record.Exception(() => Workload(backend, LayerFactory.Linear)) is Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToArray();
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => t.Join());
        Assert.Empty(failures);
        // Handles are pooled: one for each call that ran beside others, at most one per thread here.
        Assert.InRange(Emulator.blemu_live_handles() - handles, 1, 4);

        backend.Dispose();

        Assert.Equal(handles, Emulator.blemu_live_handles());
        Assert.Equal(streams, Emulator.blemu_live_streams());
        Assert.Equal(live, Emulator.LiveAllocations);
    }
}
