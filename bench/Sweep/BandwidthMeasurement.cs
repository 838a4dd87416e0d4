using System.Globalization;

namespace BlasLinear.Bench.Sweep;

/// <summary>The floor's read-bandwidth measurement (blfloor_read_bandwidth), with its arguments checked first.</summary>
internal static class ReadBandwidth
{
    /// <summary>The most threads the floor accepts.</summary>
    public const int MaxThreads = 4096;

    /// <summary>
    /// Bytes per second of <paramref name="threads"/> threads reading a buffer of about
    /// <paramref name="bytes"/> bytes (rounded up to a multiple of 256·threads), the best of
    /// <paramref name="repetitions"/> timed repetitions after an untimed one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">bytes &lt; 1, threads outside [1, 4096] or repetitions &lt; 1.</exception>
    /// <exception cref="InvalidOperationException">The floor could not allocate the buffer, start a thread or read the clock.</exception>
    public static double Measure(long bytes, int threads, int repetitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, MaxThreads);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        FloorLibrary.EnsureResolver();
        double rate = FloorLibrary.blfloor_read_bandwidth((nuint)bytes, threads, repetitions);
        if (!(rate > 0) || !double.IsFinite(rate))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"blfloor_read_bandwidth({bytes} bytes, {threads} threads, {repetitions} repetitions) failed ({rate}): the buffer, a thread or the clock was not available."));
        }

        return rate;
    }
}

/// <summary>A read bandwidth and the footprint it was measured at.</summary>
internal readonly record struct BandwidthFigure(long MeasuredAtBytes, double BytesPerSecond);

/// <summary>
/// The read bandwidth at each footprint the sweep's points touch, with every thread: each sample is the
/// best of <see cref="Repetitions"/> repetitions of one call, and a footprint's figure is its best sample.
/// </summary>
internal sealed record BandwidthMeasurement(int Threads, int Repetitions, IReadOnlyDictionary<long, IReadOnlyList<double>> Samples)
{
    /// <summary>The footprints measured, smallest first.</summary>
    public IReadOnlyList<long> Footprints => [.. Samples.Keys.Order()];

    /// <summary>
    /// The best figure at exactly this footprint: bandwidth is what the hardware can reach, and every
    /// disturbance only lowers a sample.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The footprint was not measured.</exception>
    public double BytesPerSecond(long footprintBytes) =>
        Samples.TryGetValue(footprintBytes, out IReadOnlyList<double>? samples)
            ? samples.Max()
            : throw new KeyNotFoundException(string.Create(CultureInfo.InvariantCulture, $"No read bandwidth was measured at {footprintBytes} bytes."));

    /// <summary>
    /// The figure a point of this footprint uses: the best measured at this footprint or any larger one.
    /// Reading more data is never faster on the same hardware (a larger buffer reaches no nearer cache),
    /// so a larger footprint's figure is a lower bound for this one, and a disturbance only lowers a
    /// sample; the envelope keeps one busy moment from leaving a single point with a figure far below
    /// its neighbours'.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No footprint at least this large was measured.</exception>
    public BandwidthFigure FigureFor(long footprintBytes)
    {
        BandwidthFigure? best = null;
        foreach ((long bytes, IReadOnlyList<double> samples) in Samples)
        {
            double rate = samples.Max();
            if (bytes >= footprintBytes && (best is null || rate > best.Value.BytesPerSecond))
            {
                best = new BandwidthFigure(bytes, rate);
            }
        }

        return best ?? throw new KeyNotFoundException(string.Create(CultureInfo.InvariantCulture, $"No read bandwidth was measured at {footprintBytes} bytes or more."));
    }

    /// <summary>One sample at each distinct footprint, smallest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A footprint &lt; 1, threads outside [1, 4096] or repetitions &lt; 1.</exception>
    public static BandwidthMeasurement Measure(IEnumerable<long> footprints, int threads, int repetitions) =>
        Measure(footprints, threads, repetitions, bytes => ReadBandwidth.Measure(bytes, threads, repetitions));

    /// <summary>One sample of <paramref name="read"/> (bytes per second at a footprint) at each distinct footprint, smallest first.</summary>
    public static BandwidthMeasurement Measure(IEnumerable<long> footprints, int threads, int repetitions, Func<long, double> read)
    {
        ArgumentNullException.ThrowIfNull(footprints);
        ArgumentNullException.ThrowIfNull(read);
        var samples = new Dictionary<long, IReadOnlyList<double>>();
        foreach (long bytes in footprints.Distinct().Order())
        {
            samples[bytes] = [read(bytes)];
        }

        return new BandwidthMeasurement(threads, repetitions, samples);
    }

    /// <summary>
    /// Both measurements' samples per footprint. Like the peak, the sweep measures at its start and
    /// again at its end, so a moment of contention does not leave a figure too low.
    /// </summary>
    public BandwidthMeasurement Combine(BandwidthMeasurement later)
    {
        ArgumentNullException.ThrowIfNull(later);
        var samples = Samples.ToDictionary(p => p.Key, p => p.Value);
        foreach ((long bytes, IReadOnlyList<double> more) in later.Samples)
        {
            samples[bytes] = samples.TryGetValue(bytes, out IReadOnlyList<double>? earlier) ? [.. earlier, .. more] : more;
        }

        return this with { Samples = samples };
    }
}
