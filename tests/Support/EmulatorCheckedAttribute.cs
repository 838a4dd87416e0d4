using System.Reflection;
using Xunit.Sdk;

namespace BlasLinear.Tests.Support;

/// <summary>
/// Fails a test during which the CUDA emulator saw a memory-model violation (a host pointer used as
/// device memory, a copy past an allocation, …) or an argument cuBLAS would reject: managed code must
/// never let either through. Tests that provoke faults on purpose run in the isolated collection,
/// never beside these.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class EmulatorCheckedAttribute : BeforeAfterTestAttribute
{
    private static readonly AsyncLocal<(long Violations, long InvalidValues)> s_before = new();

    public override void Before(MethodInfo methodUnderTest)
    {
        if (Emulator.InUse)
        {
            s_before.Value = (Emulator.blemu_violations(), Emulator.blemu_invalid_value_count());
        }
    }

    public override void After(MethodInfo methodUnderTest)
    {
        if (!Emulator.InUse)
        {
            return;
        }

        (long violations, long invalidValues) = s_before.Value;
        if (Emulator.blemu_violations() != violations)
        {
            throw new XunitException($"The CUDA emulator recorded a violation: {Emulator.LastViolation}");
        }

        if (Emulator.blemu_invalid_value_count() != invalidValues)
        {
            throw new XunitException("cuBLAS or the CUDA runtime was given an invalid argument that managed code let through.");
        }
    }
}
