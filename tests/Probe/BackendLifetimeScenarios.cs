using BlasLinear.Backends;

namespace BlasLinear.Tests.Probe;

/// <summary>
/// A backend disposed while other threads are inside its calls: the calls must end with
/// <see cref="ObjectDisposedException"/> and the process must live. Run in a child of the tests, since
/// the failure this guards against is heap corruption.
/// </summary>
public static class BackendLifetimeScenarios
{
    /// <summary>
    /// Two threads loop <paramref name="workload"/> (<c>gemm</c>: raw products on host arrays; <c>layers</c>:
    /// forward and backward of a layer each) while this thread disposes the backend. Exit 0 when both
    /// ended with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public static int DisposeDuringCalls(string workload, BackendPreference preference)
    {
        const int Threads = 2, Size = 96;
        BlasBackend backend = BlasBackend.Create(preference);
        var layers = new Linear[Threads];
        for (int i = 0; i < Threads; i++)
        {
            layers[i] = new Linear(Size, Size, backend: backend, seed: i + 1);
        }

        var ended = new Exception?[Threads];
        long calls = 0;
        using var started = new CountdownEvent(Threads);
        var workers = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                float[] a = new float[Size * Size], b = new float[Size * Size], c = new float[Size * Size];
                a.AsSpan().Fill(0.5f);
                b.AsSpan().Fill(0.25f);
                var dx = new float[Size * 4];
                bool signalled = false;
                try
                {
                    while (true)
                    {
                        if (workload == "gemm")
                        {
                            backend.Gemm(Transpose.NoTrans, Transpose.Trans, Size, Size, Size, 1f, a, Size, b, Size, 0f, c, Size);
                        }
                        else
                        {
                            float[] y = layers[index].Forward(a.AsSpan(0, Size * 4));
                            layers[index].Backward(a.AsSpan(0, Size * 4), y, dx);
                        }

                        Interlocked.Increment(ref calls);
                        if (!signalled)
                        {
                            signalled = true;
                            started.Signal();
                        }
                    }
                }
                catch (Exception e)
                {
                    ended[index] = e;
                    if (!signalled)
                    {
                        started.Signal();
                    }
                }
            });
            workers[t].Start();
        }

        started.Wait();
        Thread.Sleep(5);
        backend.Dispose();
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        foreach (Linear layer in layers)
        {
            layer.Dispose();
        }

        int failed = 0;
        for (int t = 0; t < Threads; t++)
        {
            Console.Error.WriteLine($"dispose during {workload} on {backend.Kind}: thread {t} ended with {ended[t]?.GetType().Name}: {ended[t]?.Message}");
            failed += ended[t] is ObjectDisposedException ? 0 : 1;
        }

        Console.Error.WriteLine($"{Interlocked.Read(ref calls)} calls before the dispose took effect; {failed} thread(s) ended otherwise");
        return failed == 0 ? 0 : 1;
    }
}
