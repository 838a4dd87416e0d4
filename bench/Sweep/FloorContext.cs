using System.Runtime.InteropServices;

namespace BlasLinear.Bench.Sweep;

/// <summary>Owns one blfloor context: the floor's buffers for one operation at one shape.</summary>
internal sealed class FloorContext : SafeHandle
{
    // Public because the interop marshallers require it (CA1419); contexts come from Create.
    public FloorContext()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>
    /// Allocates and seeds the floor's buffers; m = batch rows, n = out_features, k = in_features
    /// (square uses m only).
    /// </summary>
    /// <exception cref="InvalidOperationException">The floor refused the shape or could not allocate it.</exception>
    public static FloorContext Create(FloorOp op, int m, int n, int k, ulong seed)
    {
        FloorLibrary.EnsureResolver();
        var context = new FloorContext();
        nint raw = FloorLibrary.blfloor_create((int)op, m, n, k, seed);
        if (raw == 0)
        {
            context.Dispose();
            throw new InvalidOperationException($"blfloor_create({op}, m={m}, n={n}, k={k}) failed: the shape is invalid or its buffers could not be allocated.");
        }

        context.SetHandle(raw);
        return context;
    }

    /// <summary>Floating-point operations of one run, as the floor counts them.</summary>
    public static double Flops(FloorOp op, int m, int n, int k)
    {
        FloorLibrary.EnsureResolver();
        return FloorLibrary.blfloor_flops((int)op, m, n, k);
    }

    /// <summary>Wall seconds for <paramref name="iterations"/> back-to-back runs, timed inside the C code.</summary>
    public double Time(int iterations)
    {
        double seconds = FloorLibrary.blfloor_time(handle, iterations);
        if (seconds < 0)
        {
            throw new InvalidOperationException($"blfloor_time failed for {iterations} iterations.");
        }

        return seconds;
    }

    protected override bool ReleaseHandle()
    {
        FloorLibrary.blfloor_destroy(handle);
        return true;
    }
}
