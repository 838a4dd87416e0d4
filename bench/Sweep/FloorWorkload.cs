namespace BlasLinear.Bench.Sweep;

/// <summary>The raw-BLAS side of a point: the floor's C loop over cblas_sgemm.</summary>
internal sealed class FloorWorkload(FloorContext context) : ITimedWorkload
{
    public static FloorWorkload Create(SweepPoint point, ulong seed) =>
        new(FloorContext.Create(point.FloorOp, point.Batch, point.Shape.Out, point.Shape.In, seed));

    public double Time(int iterations) => context.Time(iterations);

    public void Dispose() => context.Dispose();
}
