using BenchmarkDotNet.Running;
using BlasLinear.Bench;
using BlasLinear.Bench.Sweep;

// Before anything loads OpenBLAS.
OpenBlasIdle.Apply();

return args switch
{
    ["demo"] => Demo.Run(Console.Out),
    ["bdn", .. var rest] => RunBenchmarkDotNet(rest),
    ["soak", .. var rest] => BlasLinear.Bench.Soak.SoakCommand.Run(rest),
    ["precision", .. var rest] => BlasLinear.Bench.Precision.PrecisionCommand.Run(rest),
    ["--help" or "-h" or "help"] => Help(),
    _ => SweepCommand.Run(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Demo).Assembly).Run(args);
    return 0;
}

static int Help()
{
    Console.WriteLine(SweepCommandLine.Usage);
    return 0;
}
