using BlasLinear.Interop;
using Xunit;

namespace BlasLinear.Tests.Support;

/// <summary>
/// The backends every shared test runs on, by name: OpenBLAS, and CUDA (the emulator unless
/// BLASLINEAR_TEST_CUDA=real). Each is created once per test process and shared, as an application
/// would share one. A backend that cannot be created here makes its tests report skipped, with the reason.
/// </summary>
public static class Backends
{
    public const string OpenBlas = "openblas";
    public const string Cuda = "cuda";

    /// <summary>CPU backends with one provider pinned (<see cref="CpuRoutes"/>): the GEMM suite runs on each.</summary>
    public const string CpuOpenBlasOnly = "cpu-openblas";
    public const string CpuKernels = "cpu-kernels";
    public const string CpuOneDnn = "cpu-onednn";

    private static readonly Dictionary<string, Lazy<(BlasBackend? Backend, string Reason)>> s_pinned = new()
    {
        [CpuOpenBlasOnly] = new(() => CreatePinned(CpuRoutes.OpenBlas)),
        [CpuKernels] = new(() => CreatePinned(CpuRoutes.Kernels)),
        [CpuOneDnn] = new(() => CreatePinned(CpuRoutes.OneDnn)),
    };

    private static readonly Lazy<BlasBackend> s_openBlas = new(() => BlasBackend.Create(BackendPreference.Cpu));
    private static readonly Lazy<(BlasBackend? Backend, string Reason)> s_cuda = new(CreateCuda);

    /// <summary>xunit member data: one row per backend name.</summary>
    public static TheoryData<string> Names => new() { OpenBlas, Cuda };

    public static IEnumerable<string> All => [OpenBlas, Cuda];

    /// <summary>xunit member data: the backends and the pinned CPU routes.</summary>
    public static TheoryData<string> NamesWithRoutes => new(AllWithRoutes);

    public static IEnumerable<string> AllWithRoutes => [OpenBlas, Cuda, CpuOpenBlasOnly, CpuKernels, CpuOneDnn];

    public static BlasBackend Get(string name)
    {
        switch (name)
        {
            case OpenBlas:
                return s_openBlas.Value;
            case Cuda:
                (BlasBackend? backend, string reason) = s_cuda.Value;
                Skip.If(backend is null, $"No CUDA backend here: {reason}");
                return backend!;
            case CpuOpenBlasOnly or CpuKernels or CpuOneDnn:
                (BlasBackend? pinned, string why) = s_pinned[name].Value;
                Skip.If(pinned is null, why);
                return pinned!;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown backend.");
        }
    }

    /// <summary>
    /// A pinned provider missing here (no oneDNN installed, no AVX-512) skips with the reason; scripts/setup.sh
    /// installs oneDNN, so on a machine set up by it only a CPU without AVX-512 skips the kernels' rows.
    /// </summary>
    private static (BlasBackend?, string) CreatePinned(CpuRoutes routes)
    {
        try
        {
            return (OpenBlasBackend.Create(routes), string.Empty);
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
