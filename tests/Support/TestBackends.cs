using BlasLinear.Backends;
using Xunit;

namespace BlasLinear.Tests.Support;

/// <summary>A backend the shared tests run on: the CPU (routes on auto), CUDA, or the CPU with one provider pinned.</summary>
public enum TestBackend
{
    Cpu,
    Cuda,
    CpuOpenBlasOnly,
    CpuKernels,
    CpuOneDnn,
    CpuAvx2,
    CpuKernelsAvx2,
}

/// <summary>
/// The backends every shared test runs on, by name: OpenBLAS, and CUDA (the emulator unless
/// BLASLINEAR_TEST_CUDA=real). Each is created once per test process and shared, as an application
/// would share one. A backend that cannot be created here makes its tests report skipped, with the reason.
/// </summary>
public static class TestBackends
{
    public const TestBackend Cpu = TestBackend.Cpu;
    public const TestBackend Cuda = TestBackend.Cuda;

    /// <summary>CPU backends with one provider pinned (<see cref="CpuRouting"/>): the GEMM suite runs on each.</summary>
    public const TestBackend CpuOpenBlasOnly = TestBackend.CpuOpenBlasOnly;
    public const TestBackend CpuKernels = TestBackend.CpuKernels;
    public const TestBackend CpuOneDnn = TestBackend.CpuOneDnn;

    /// <summary>The CPU with the kernels' AVX2 path forced (<see cref="CpuKernelIsa.Avx2"/>): routes on auto, with the AVX2 table.</summary>
    public const TestBackend CpuAvx2 = TestBackend.CpuAvx2;

    /// <summary>The kernels pinned (<see cref="CpuRouting.Kernels"/>) on their AVX2 path: the GEMM suite runs on it.</summary>
    public const TestBackend CpuKernelsAvx2 = TestBackend.CpuKernelsAvx2;

    private static readonly Dictionary<TestBackend, Lazy<(BlasBackend? Backend, string Reason)>> s_pinned = new()
    {
        [CpuOpenBlasOnly] = new(() => CreatePinned(CpuRouting.OpenBlas)),
        [CpuKernels] = new(() => CreatePinned(CpuRouting.Kernels)),
        [CpuOneDnn] = new(() => CreatePinned(CpuRouting.OneDnn)),
        [CpuAvx2] = new(() => CreatePinned(CpuRouting.Auto, CpuKernelIsa.Avx2)),
        [CpuKernelsAvx2] = new(() => CreatePinned(CpuRouting.Kernels, CpuKernelIsa.Avx2)),
    };

    private static readonly Lazy<BlasBackend> s_cpu = new(() => BlasBackend.Create(BackendPreference.Cpu));
    private static readonly Lazy<(BlasBackend? Backend, string Reason)> s_cuda = new(CreateCuda);

    /// <summary>xunit member data: one row per backend name.</summary>
    public static TheoryData<TestBackend> Names => new() { Cpu, Cuda };

    public static IEnumerable<TestBackend> All => [Cpu, Cuda];

    /// <summary>xunit member data: the backends and the pinned CPU routes, the kernels on both their paths.</summary>
    public static TheoryData<TestBackend> NamesWithRoutes => new(AllWithRoutes);

    public static IEnumerable<TestBackend> AllWithRoutes => [Cpu, Cuda, CpuOpenBlasOnly, CpuKernels, CpuOneDnn, CpuKernelsAvx2];

    /// <summary>xunit member data: the backends and the CPU with the kernels' AVX2 path forced (the layer tests).</summary>
    public static TheoryData<TestBackend> NamesWithAvx2 => new(AllWithAvx2);

    public static IEnumerable<TestBackend> AllWithAvx2 => [Cpu, Cuda, CpuAvx2];

    public static BlasBackend Get(TestBackend name)
    {
        switch (name)
        {
            case Cpu:
                return s_cpu.Value;
            case Cuda:
                (BlasBackend? backend, string reason) = s_cuda.Value;
                Skip.If(backend is null, $"No CUDA backend here: {reason}");
                return backend!;
            case CpuOpenBlasOnly or CpuKernels or CpuOneDnn or CpuAvx2 or CpuKernelsAvx2:
                (BlasBackend? pinned, string why) = s_pinned[name].Value;
                Skip.If(pinned is null, why);
                return pinned!;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown backend.");
        }
    }

    /// <summary>
    /// A pinned provider or forced path missing here (no oneDNN installed, no AVX2) skips with the reason;
    /// scripts/setup.sh installs oneDNN, so on a machine set up by it only a CPU without AVX2 and FMA skips
    /// the kernels' rows. Without an ISA the kernels take BLASLINEAR_KERNELS_ISA's path.
    /// </summary>
    private static (BlasBackend?, string) CreatePinned(CpuRouting routes, CpuKernelIsa? isa = null)
    {
        try
        {
            return (isa is CpuKernelIsa path ? CpuBackend.Create(routes, path) : CpuBackend.Create(routes), string.Empty);
        }
        catch (BackendUnavailableException e)
        {
            return (null, e.Reason);
        }
    }

    private static (BlasBackend?, string) CreateCuda()
    {
        try
        {
            return (CudaBackend.Create(), string.Empty);
        }
        catch (BackendUnavailableException e)
        {
            if (Emulator.InUse)
            {
                // The emulator is built with the tests; failing to load it is a build fault, not a skip.
                throw;
            }

            return (null, e.Reason);
        }
    }
}
