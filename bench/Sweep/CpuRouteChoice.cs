using BlasLinear.Backends;

namespace BlasLinear.Bench.Sweep;

/// <summary>
/// One item of --cpu-routes: a routing, and optionally the kernels' instruction set (<c>kernels:avx2</c>,
/// <c>auto:avx512</c>), so that both paths are measured side by side in one run.
/// </summary>
/// <param name="Routing">The CPU routing.</param>
/// <param name="Isa">The kernels' path; null takes BLASLINEAR_KERNELS_ISA's (the widest when unset).</param>
internal readonly record struct CpuRouteChoice(CpuRouting Routing, CpuKernelIsa? Isa = null)
{
    /// <summary>The backend's name in results.csv: cpu-ROUTING, with -ISA when one was given (cpu-kernels-avx2).</summary>
    public string BackendName =>
        "cpu-" + Routing.ToString().ToLowerInvariant() + (Isa is CpuKernelIsa isa ? "-" + isa.ToString().ToLowerInvariant() : "");

    /// <summary>ROUTING or ROUTING:ISA, each read as its BLASLINEAR_ variable would be; null when either is not one.</summary>
    public static CpuRouteChoice? Parse(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string routing = colon < 0 ? text : text[..colon];
        if (routing.Trim().Length == 0 || !CpuBackend.TryParseRouting(routing, out CpuRouting routes))
        {
            return null;
        }

        if (colon < 0)
        {
            return new CpuRouteChoice(routes);
        }

        string isaText = text[(colon + 1)..];
        return isaText.Trim().Length > 0 && CpuBackend.TryParseKernelIsa(isaText, out CpuKernelIsa isa)
            ? new CpuRouteChoice(routes, isa)
            : null;
    }

    /// <summary>The backend this choice names.</summary>
    public CpuBackend Create() => Isa is CpuKernelIsa isa ? CpuBackend.Create(Routing, isa) : CpuBackend.Create(Routing);

    public override string ToString() => Isa is null ? Routing.ToString() : $"{Routing}:{Isa}";
}
