using BlasLinear.Backends;
using BlasLinear.Reference;

namespace BlasLinear.Tests.Probe;

/// <summary>Scenarios that need a process of their own: a crash or a native message must not reach the tests.</summary>
internal static class Scenarios
{
    /// <summary>
    /// Far more callers than cores, all at once: 500 threads released together, each running forward and
    /// backward (GEMMs with every transpose pair) on shared layers. OpenBLAS 0.3.21 alone would race or
    /// abort with "Program is Terminated"; every result must equal the single-threaded one.
    /// </summary>
    public static int Wide(int threads)
    {
        BlasBackend backend = BlasBackend.Default;
        const int inFeatures = 256, outFeatures = 192, batch = 48;
        using var linear = new Linear(inFeatures, outFeatures, backend: backend, seed: 1);
        using var parameter = new ParameterLinear(inFeatures, outFeatures, backend: backend, seed: 2);
        LinearLayer[] layers = [linear, parameter];
        float[] x = TestData.Uniform(batch * inFeatures, 3), dy = TestData.Uniform(batch * outFeatures, 4);
        float[][] expectedY = layers.Select(l => l.Forward(x)).ToArray();
        float[][] expectedDx = layers.Select(l =>
        {
            var dx = new float[x.Length];
            l.Backward(x, dy, dx);
            return dx;
        }).ToArray();

        using var start = new Barrier(threads);
        int wrong = 0, failed = 0;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                var y = new float[batch * outFeatures];
                var dx = new float[batch * inFeatures];
                start.SignalAndWait();
                for (int call = 0; call < 4; call++)
                {
                    int l = (t + call) % 2;
                    layers[l].Forward(x, y);
                    layers[l].Backward(x, dy, dx);
                    if (!y.AsSpan().SequenceEqual(expectedY[l]) || !dx.AsSpan().SequenceEqual(expectedDx[l]))
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref failed);
                Console.Error.WriteLine($"thread {t}: {e.GetType().Name}: {e.Message}");
            }
        }, maxStackSize: 256 * 1024)).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        string mode = backend is CpuBackend openBlas ? $"OpenBLAS threads {openBlas.ThreadCount}" : backend.Kind.ToString();
        Console.Error.WriteLine($"wide: {threads} threads × 4 forward+backward, {mode}: {wrong} wrong, {failed} failed");
        return wrong == 0 && failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// TESTING.md's sweep on this process's OpenBLAS (whose kernels OPENBLAS_CORETYPE chose at load):
    /// every product within the bound of float64.
    /// </summary>
    public static int Sweep()
    {
        using var backend = (CpuBackend)BlasBackend.Create(BackendPreference.Cpu);
        float[] alphas = [1f, 0.7f, -1.5f], betas = [0f, 1f, 1.3f];
        int index = 0, failures = 0;
        foreach (Transpose ta in new[] { Transpose.NoTrans, Transpose.Trans })
        {
            foreach (Transpose tb in new[] { Transpose.NoTrans, Transpose.Trans })
            {
                foreach (int m in TestData.SweepSizes)
                {
                    foreach (int n in TestData.SweepSizes)
                    {
                        foreach (int k in TestData.SweepSizes)
                        {
                            float alpha = alphas[index % 3], beta = betas[index / 3 % 3];
                            index++;
                            failures += SweepPoint(backend, ta, tb, m, n, k, alpha, beta, TestData.Seed(m, n, k, (int)ta, (int)tb));
                        }
                    }
                }
            }
        }

        Console.Error.WriteLine($"sweep: {index} products, {failures} outside the bound, core {backend.Describe()["core"]}");
        return failures == 0 ? 0 : 1;
    }

    private static int SweepPoint(BlasBackend backend, Transpose ta, Transpose tb, int m, int n, int k, float alpha, float beta, int seed)
    {
        int lda = ta == Transpose.Trans ? m : k, ldb = tb == Transpose.Trans ? k : n;
        float[] a = TestData.Uniform(Math.Max(1, m * k), seed), b = TestData.Uniform(Math.Max(1, k * n), seed + 1);
        float[] c = TestData.Uniform(m * n, seed + 2);
        float[] c0 = (float[])c.Clone();
        backend.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
        (double[] value, double[] g) = Expected.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, n);
        for (int i = 0; i < value.Length; i++)
        {
            double bound = (k + 2) * (1.0 / (1 << 23)) * g[i] + 1e-30;
            if (!(Math.Abs(c[i] - value[i]) <= bound))
            {
                Console.Error.WriteLine($"{ta}/{tb} m={m} n={n} k={k}: element {i} = {c[i]}, reference {value[i]}, bound {bound:E3}");
                return 1;
            }
        }

        return 0;
    }
}
