using BlasLinear.Tests.Probe;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>TESTING.md case 11: every row of the bad-input table gets its exception, and nothing native prints.</summary>
[EmulatorChecked]
public class BadInputTests
{
    public static TheoryData<TestBackend, string> Rows()
    {
        var data = new TheoryData<TestBackend, string>();
        foreach (TestBackend backend in TestBackends.All)
        {
            foreach (BadInputTable.Row row in BadInputTable.Cases)
            {
                data.Add(backend, row.Name);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void Row_throws_its_exception_naming_the_rule(TestBackend backendName, string rowName)
    {
        BadInputTable.Row row = BadInputTable.Cases.Single(c => c.Name == rowName);

        string? failure = BadInputTable.Check(row, TestBackends.Get(backendName));

        Assert.Null(failure);
    }

    [Fact]
    public void Whole_table_in_a_child_process_prints_no_native_message()
    {
        ChildProcess.Result result = ChildProcess.RunProbe("bad-input");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"bad-input rows: {BadInputTable.Cases.Count}, failed: 0", result.StandardError, StringComparison.Ordinal);
        // OpenBLAS reports a bad argument on stdout with "On entry to"; the probe itself writes nothing there.
        Assert.DoesNotContain("On entry to", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.StandardOutput);
    }
}
