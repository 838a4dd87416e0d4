namespace BlasLinear.Backends;

/// <summary>
/// Which CPU provider computes the products of an <see cref="CpuBackend"/>. <see cref="Auto"/> is
/// the default and the fastest; the others pin one provider, to measure it or to rule it out.
/// </summary>
public enum CpuRouting
{
    /// <summary>Per product shape, the fastest correct route available here (CpuRouteTable.cs; docs/cpu-routes.md):
    /// BlasLinear's kernels for small batches, oneDNN where it is installed and wins, OpenBLAS otherwise.</summary>
    Auto = 0,

    /// <summary>Every product on OpenBLAS's <c>cblas_sgemm</c>, as the raw-BLAS floor calls it.</summary>
    OpenBlas = 1,

    /// <summary>BlasLinear's kernels for every product they implement (op(A)·B and A·Bᵀ), OpenBLAS for
    /// the rest. Needs AVX2 and FMA; runs the AVX-512 path where the CPU has it (<see cref="CpuKernelIsa"/>).</summary>
    Kernels = 2,

    /// <summary>oneDNN's <c>dnnl_sgemm</c> for every product. Needs oneDNN.</summary>
    OneDnn = 3,
}
