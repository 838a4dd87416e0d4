using BlasLinear.Bench;

return args switch
{
    [] or ["demo"] => Demo.Run(Console.Out),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: BlasLinear.Bench [demo]");
    return 2;
}
