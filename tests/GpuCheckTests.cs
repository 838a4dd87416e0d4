using System.Diagnostics;
using System.Text.Json;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>
/// The GPU check as a person with a GPU machine runs it, dry-run on the emulator: scripts/gpu-check.sh
/// with the framework-dependent build of the check (publishing self-contained is left to the script's
/// publish step, too slow for the suite).
/// </summary>
public sealed class GpuCheckTests
{
    private static string RepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "scripts", "gpu-check.sh")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No scripts/gpu-check.sh above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void The_published_check_needs_no_ICU()
    {
        using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "BlasLinear.Tests.Probe.runtimeconfig.json")));

        JsonElement options = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.True(options.GetProperty("System.Globalization.Invariant").GetBoolean());
    }

    [SkippableFact]
    public void Run_quick_without_an_output_folder_writes_the_report_in_gpu_check_out()
    {
        Skip.IfNot(Emulator.InUse, "The dry run uses the CUDA emulator.");
        string work = Directory.CreateTempSubdirectory("gpu-check-").FullName;
        try
        {
            var start = new ProcessStartInfo("bash")
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "gpu-check.sh"));
            start.ArgumentList.Add("run");
            start.ArgumentList.Add("--quick");
            start.Environment["BLASLINEAR_GPU_CHECK_BIN"] = AppContext.BaseDirectory;
            start.Environment["PYTHON"] = "no-such-python";
            using Process process = Process.Start(start)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(120)), "the dry run did not finish in 120 s");
            string output = $"{stdout.Result}\n{stderr.Result}";

            Assert.True(process.ExitCode == 0, output);
            Assert.False(Directory.Exists(Path.Combine(work, "--quick")), "--quick was taken as the output folder");
            Assert.Empty(Directory.GetFiles(Path.Combine(work, "gpu-check-out"), "*.f32", SearchOption.AllDirectories)); // the exported tensors are removed
            string report = File.ReadAllText(Path.Combine(work, "gpu-check-out", "report.md"));
            Assert.Contains("BlasLinear CUDA emulator", report, StringComparison.Ordinal);
            Assert.Contains("| Linear | forward | 64×512→512 | tf32 |", report, StringComparison.Ordinal);
            Assert.Contains("| ParameterLinear | forward, prepared | 64×512→512 | fp32 |", report, StringComparison.Ordinal);
            Assert.Contains("batch 7, TF32: prepared forward (bias inside the product) vs float64", report, StringComparison.Ordinal);
            Assert.DoesNotContain("FAILED", report, StringComparison.Ordinal);
            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(work, "gpu-check-out", "report.json")));
            Assert.All(json.RootElement.GetProperty("checks").EnumerateArray(), c => Assert.True(c.GetProperty("passed").GetBoolean()));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
