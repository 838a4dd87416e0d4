namespace BlasLinear.Backends;

/// <summary>
/// The instruction set BlasLinear's own CPU kernels run with (<see cref="CpuBackend.KernelIsa"/>). Each is a
/// code path of its own in <c>libblaslinear_kernels.so</c>, with a route table measured for it
/// (docs/cpu-routes.md). <see cref="Auto"/> takes the widest this CPU runs; the others force one path, to
/// test or measure it, and are refused where this CPU lacks it.
/// </summary>
public enum CpuKernelIsa
{
    /// <summary>The widest path this CPU runs: AVX-512 where it has AVX-512 F/VL/BW/DQ, AVX2 where it has AVX2 and FMA.</summary>
    Auto = 0,

    /// <summary>The AVX-512 path (AVX-512 F/VL/BW/DQ and FMA): 32 registers of 16 floats.</summary>
    Avx512 = 1,

    /// <summary>The AVX2 path (AVX2 and FMA): 16 registers of 8 floats. Runs on AVX-512 CPUs too.</summary>
    Avx2 = 2,
}
