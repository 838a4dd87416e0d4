namespace BlasLinear.Backends;

/// <summary>The reading of <c>BLASLINEAR_KERNELS_ISA</c>, which forces the kernels' instruction set.</summary>
public sealed partial class CpuBackend
{
    /// <summary>
    /// The environment variable that sets <see cref="KernelIsa"/> for backends created without one:
    /// <c>auto</c> (also when unset: the widest this CPU runs), <c>avx512</c> or <c>avx2</c>.
    /// </summary>
    public const string KernelIsaVariable = Settings.KernelsIsa;

    /// <summary>Reads <c>BLASLINEAR_KERNELS_ISA</c>: <c>auto</c> (also when unset), <c>avx512</c> or <c>avx2</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable holds another value.</exception>
    public static CpuKernelIsa KernelIsaFromEnvironment() => Settings.Read(Settings.KernelsIsa, KernelIsaChoices);

    /// <summary>
    /// Reads an instruction-set name as <c>BLASLINEAR_KERNELS_ISA</c> takes it: <c>auto</c> (also null or
    /// empty), <c>avx512</c> or <c>avx2</c>, in any case, surrounding spaces ignored.
    /// </summary>
    /// <returns>False, with <see cref="CpuKernelIsa.Auto"/>, when <paramref name="value"/> is none of them.</returns>
    public static bool TryParseKernelIsa(string? value, out CpuKernelIsa isa) => Settings.TryParse(value, KernelIsaChoices, out isa);

    internal static CpuKernelIsa ParseKernelIsa(string? value) => Settings.Parse(Settings.KernelsIsa, value, KernelIsaChoices);

    /// <summary>The values of <c>BLASLINEAR_KERNELS_ISA</c>; the first is the default.</summary>
    private static ReadOnlySpan<(string Name, CpuKernelIsa Value)> KernelIsaChoices => s_kernelIsaChoices;

    private static readonly (string, CpuKernelIsa)[] s_kernelIsaChoices =
        [("auto", CpuKernelIsa.Auto), ("avx512", CpuKernelIsa.Avx512), ("avx2", CpuKernelIsa.Avx2)];
}
