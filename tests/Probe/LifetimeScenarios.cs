using System.Diagnostics;
using System.Globalization;
using BlasLinear.Backends;

namespace BlasLinear.Tests.Probe;

/// <summary>Lifetime and memory scenarios whose failure would end the process: run in a child of the tests.</summary>
public static class LifetimeScenarios
{
    /// <summary>The buffer operations a second thread runs while the layer is disposed.</summary>
    public static readonly IReadOnlyList<string> BufferOperations = ["ToArray", "CopyTo", "CopyFrom", "CopyFromOffset", "Clear", "WeightGradCopyTo", "BiasCopyTo"];

    /// <summary>
    /// A thread loops one buffer operation on a 4096×4096 layer while this thread disposes the layer: the
    /// loop must end with <see cref="ObjectDisposedException"/>, and the process must live (exit 0).
    /// </summary>
    public static int DisposeDuringCopy(string operation, BackendPreference preference)
    {
        using BlasBackend backend = BlasBackend.Create(preference);
        int size = backend.Kind == BackendKind.Cpu ? 4096 : 512;
        var layer = new Linear(size, size, backend: backend, seed: 1);
        float[] host = new float[size * size];
        float[] bias = new float[size];
        // The buffers are taken once, as a caller holding them would: the race is with the copy itself.
        BlasBuffer weight = layer.Weight, weightGrad = layer.WeightGrad, layerBias = layer.Bias!;
        Exception? ended = null;
        long calls = 0;
        using var started = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    switch (operation)
                    {
                        case "ToArray": _ = weight.ToArray(); break;
                        case "CopyTo": weight.CopyTo(host); break;
                        case "CopyFrom": weight.CopyFrom(host); break;
                        case "CopyFromOffset": weight.CopyFrom(host.AsSpan(0, size), size); break;
                        case "Clear": weight.Clear(); break;
                        case "WeightGradCopyTo": weightGrad.CopyTo(host); break;
                        case "BiasCopyTo": layerBias.CopyTo(bias); break;
                        default: throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown operation.");
                    }

                    if (Interlocked.Increment(ref calls) == 2)
                    {
                        started.Set();
                    }
                }
            }
            catch (Exception e)
            {
                ended = e;
                started.Set();
            }
        });
        worker.Start();
        started.Wait();
        Thread.Sleep(5);
        layer.Dispose();
        worker.Join();
        Console.Error.WriteLine($"dispose during {operation} on {backend.Kind}: {calls} calls, then {ended?.GetType().Name}: {ended?.Message}");
        return ended is ObjectDisposedException ? 0 : 1;
    }

    /// <summary>
    /// A layer whose weight is larger than this process may use (run it in a memory-limited cgroup): an
    /// <see cref="OutOfMemoryException"/> naming both sizes, not a kill.
    /// </summary>
    public static int LayerLargerThanMemory(int features)
    {
        try
        {
            using var layer = new Linear(features, features, backend: BlasBackend.Create(BackendPreference.Cpu));
            Console.Error.WriteLine($"Linear({features}, {features}) was created: no exception");
            return 1;
        }
        catch (OutOfMemoryException e)
        {
            Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
            return 0;
        }
    }

    /// <summary>Prints how far construction raised the process's peak resident memory, in weights.</summary>
    public static int ConstructionPeak(int features)
    {
        using BlasBackend backend = BlasBackend.Create(BackendPreference.Cpu);
        using (new Linear(8, 8, backend: backend))
        {
            // Loads the libraries and warms the runtime before the baseline is read.
        }

        GC.Collect();
        ResetPeak();
        long before = PeakResidentBytes();
        using var layer = new Linear(features, features, bias: false, backend: backend, seed: 1);
        long after = PeakResidentBytes();
        double weights = (after - before) / ((double)features * features * sizeof(float));
        Console.WriteLine(weights.ToString("0.000", CultureInfo.InvariantCulture));
        return 0;
    }

    /// <summary>Clears VmHWM so it measures from here (Linux: writing 5 to clear_refs).</summary>
    private static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long PeakResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("/proc/self/status has no VmHWM line.");
    }

    /// <summary>
    /// Forwards on four threads while this thread prepares and unprepares the layer and reloads its weights:
    /// a data race the layer documents, which must never end the process or corrupt memory. A forward may
    /// throw ObjectDisposedException (the prepared weight it took was released); any other exception fails.
    /// The changes start once every thread has finished a first forward (on a GPU a thread's first call
    /// makes its cuBLAS handle and staging buffers, which takes longer than 400 changes), and go on until
    /// the threads have forwarded 400 more times, so the race is run wherever the scenario runs.
    /// </summary>
    public static int PreparationRace(BackendPreference preference)
    {
        using BlasBackend backend = BlasBackend.Create(preference);
        using var layer = new Linear(256, 192, backend: backend, seed: 1);
        float[] x = new float[32 * 256];
        Array.Fill(x, 0.5f);
        int stop = 0, other = 0;
        long forwards = 0, disposedSeen = 0;
        const int Threads = 4, Changes = 400, RacedForwards = 400;
        using var warm = new CountdownEvent(Threads);
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var y = new float[(t + 1) * 8 * 192];
            layer.Forward(x.AsSpan(0, (t + 1) * 8 * 256), y);
            warm.Signal();
            while (Volatile.Read(ref stop) == 0)
            {
                try
                {
                    layer.Forward(x.AsSpan(0, (t + 1) * 8 * 256), y);
                    Interlocked.Increment(ref forwards);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref disposedSeen);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref other);
                    Console.Error.WriteLine($"thread {t}: {e.GetType().Name}: {e.Message}");
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        warm.Wait();
        var limit = Stopwatch.StartNew();
        int changes = 0;
        for (; changes < Changes || (Interlocked.Read(ref forwards) < RacedForwards && limit.Elapsed.TotalSeconds < 30); changes++)
        {
            layer.PrepareForInference();
            if (changes % 4 == 0)
            {
                layer.ResetParameters(seed: changes);
            }

            layer.PrepareForTraining();
        }

        Volatile.Write(ref stop, 1);
        workers.ForEach(w => w.Join());
        Console.Error.WriteLine($"preparation race on {backend.Kind}: {changes} changes, {forwards} forwards, {disposedSeen} ObjectDisposedException, {other} other exceptions");
        return other == 0 && forwards >= RacedForwards ? 0 : 1;
    }
}
