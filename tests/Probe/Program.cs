using BlasLinear.Backends;
using BlasLinear.Tests.Probe;

// Each scenario prints its own findings and exits 0 only when all of them held.
return args switch
{
    ["bad-input"] => RunBadInputTable(),
    ["describe"] => Describe(),
    ["wide", string threads] => Scenarios.Wide(int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture)),
    ["sweep"] => Scenarios.Sweep(),
    ["dispose-during-copy", string operation, string backend] => LifetimeScenarios.DisposeDuringCopy(operation, Enum.Parse<BackendPreference>(backend, ignoreCase: true)),
    ["dispose-backend-during-calls", string workload, string backend] => BackendLifetimeScenarios.DisposeDuringCalls(workload, Enum.Parse<BackendPreference>(backend, ignoreCase: true)),
    ["cuda-libraries"] => CudaLibraryScenarios.Describe(),
    ["larger-than-memory", string features] => LifetimeScenarios.LayerLargerThanMemory(int.Parse(features, System.Globalization.CultureInfo.InvariantCulture)),
    ["preparation-race", string backend] => LifetimeScenarios.PreparationRace(Enum.Parse<BackendPreference>(backend, ignoreCase: true)),
    ["construction-peak", string features] => LifetimeScenarios.ConstructionPeak(int.Parse(features, System.Globalization.CultureInfo.InvariantCulture)),
    ["gpu-check", string folder] => GpuCheck.Run(folder, quick: false),
    ["gpu-check", string folder, "--quick"] => GpuCheck.Run(folder, quick: true),
    ["gpu-report", string folder] => GpuReport.Render(folder),
    _ => Usage(),
};

static int RunBadInputTable()
{
    using BlasBackend backend = BlasBackend.Create(BackendPreference.Cpu);
    int failed = 0;
    foreach (BadInputTable.Row row in BadInputTable.Cases)
    {
        string? failure = BadInputTable.Check(row, backend);
        Console.Error.WriteLine(failure is null ? $"ok: {row.Name}" : $"FAILED: {failure}");
        failed += failure is null ? 0 : 1;
    }

    Console.Error.WriteLine($"bad-input rows: {BadInputTable.Cases.Count}, failed: {failed}");
    return failed == 0 ? 0 : 1;
}

static int Describe()
{
    try
    {
        Console.WriteLine(BlasBackend.Default.Describe());
        return 0;
    }
    catch (BackendUnavailableException e)
    {
        Console.WriteLine($"{nameof(BackendUnavailableException)}: {e.Message}");
        return 3;
    }
}

static int Usage()
{
    Console.Error.WriteLine("usage: BlasLinear.Tests.Probe bad-input | describe | wide THREADS | sweep | dispose-during-copy OPERATION cpu|cuda | dispose-backend-during-calls gemm|layers cpu|cuda | cuda-libraries | larger-than-memory FEATURES | construction-peak FEATURES | preparation-race cpu|cuda | gpu-check OUTPUT_FOLDER [--quick] | gpu-report OUTPUT_FOLDER");
    return 2;
}
