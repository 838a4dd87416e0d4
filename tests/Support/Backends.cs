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

    private static readonly Lazy<BlasBackend> s_openBlas = new(() => BlasBackend.Create(BackendPreference.Cpu));
    private static readonly Lazy<(BlasBackend? Backend, string Reason)> s_cuda = new(CreateCuda);

    /// <summary>xunit member data: one row per backend name.</summary>
    public static TheoryData<string> Names => new() { OpenBlas, Cuda };

    public static IEnumerable<string> All => [OpenBlas, Cuda];

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
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown backend.");
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
