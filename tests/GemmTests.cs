using BlasLinear.Backends;
using BlasLinear.Reference;
using BlasLinear.Tests.Support;
using Xunit;

namespace BlasLinear.Tests;

/// <summary>The row-major GEMM and GEMV of every backend and every pinned CPU route: TESTING.md cases 1 to 6.</summary>
[EmulatorChecked]
public class GemmTests
{
    public static TheoryData<TestBackend, Transpose, Transpose> BackendsAndTransposes()
    {
        var data = new TheoryData<TestBackend, Transpose, Transpose>();
        foreach (TestBackend backend in TestBackends.AllWithRoutes)
        {
            foreach (Transpose ta in new[] { Transpose.NoTrans, Transpose.Trans })
            {
                foreach (Transpose tb in new[] { Transpose.NoTrans, Transpose.Trans })
                {
                    data.Add(backend, ta, tb);
                }
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void Golden_row_major_product_is_exact(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8];
        var c = new float[4];

        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);

        // [[23,34],[31,46]] would mean the row/column-major swap is wrong.
        Assert.Equal([19f, 22f, 43f, 50f], c);
    }

    [SkippableTheory]
    [MemberData(nameof(BackendsAndTransposes))]
    public void Golden_products_with_each_transpose_are_exact(TestBackend backendName, Transpose transA, Transpose transB)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        const int m = 3, n = 4, k = 5;
        float[] a = TestData.Integers(m * k, 1), b = TestData.Integers(k * n, 2), c0 = TestData.Integers(m * n, 3);
        int lda = transA == Transpose.Trans ? m : k, ldb = transB == Transpose.Trans ? k : n;
        float[] c = (float[])c0.Clone();

        backend.Gemm(transA, transB, m, n, k, 2, a, lda, b, ldb, -1, c, n);

        (double[] expected, _) = Expected.Gemm(transA, transB, m, n, k, 2, a, lda, b, ldb, -1, c0, n);
        Assert.Equal(expected.Select(v => (float)v).ToArray(), c);
    }

    /// <summary>
    /// TESTING.md case 2: every (m, n, k) of the sweep sizes, with α and β cycling through their values
    /// from one shape to the next so that each transpose pair meets every (α, β) pair many times;
    /// leading dimensions padded by 3 with NaN sentinels that must neither leak into nor be written.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(BackendsAndTransposes))]
    public void Sweep_matches_float64_within_the_bound_and_keeps_padding(TestBackend backendName, Transpose transA, Transpose transB)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        float[] alphas = [1f, 0.7f, -1.5f], betas = [0f, 1f, 1.3f];
        int index = 0;
        foreach (int m in TestData.SweepSizes)
        {
            foreach (int n in TestData.SweepSizes)
            {
                foreach (int k in TestData.SweepSizes)
                {
                    float alpha = alphas[index % 3], beta = betas[index / 3 % 3];
                    index++;
                    RunPadded(backend, transA, transB, m, n, k, alpha, beta, seed: TestData.Seed(m, n, k, (int)transA, (int)transB));
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(BackendsAndTransposes))]
    public void Every_alpha_beta_pair_is_within_the_bound(TestBackend backendName, Transpose transA, Transpose transB)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        foreach (float alpha in new[] { 1f, 0.7f, -1.5f })
        {
            foreach (float beta in new[] { 0f, 1f, 1.3f })
            {
                RunPadded(backend, transA, transB, 17, 65, 31, alpha, beta, seed: 7);
            }
        }
    }

    /// <summary>TESTING.md case 3: the zero sizes PyTorch tests.</summary>
    [SkippableTheory]
    [MemberData(nameof(BackendsAndTransposes))]
    public void Zero_sizes_leave_C_untouched_or_scale_it_exactly(TestBackend backendName, Transpose transA, Transpose transB)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        foreach (int m in new[] { 0, 1, 25 })
        {
            foreach (int n in new[] { 0, 1, 10 })
            {
                foreach (int k in new[] { 0, 1, 8 })
                {
                    foreach (float beta in new[] { 0f, 1f, 1.3f })
                    {
                        int lda = Math.Max(1, transA == Transpose.Trans ? m : k), ldb = Math.Max(1, transB == Transpose.Trans ? k : n);
                        int ldc = Math.Max(1, n);
                        float[] a = TestData.Uniform(Math.Max(1, m * k), 1), b = TestData.Uniform(Math.Max(1, k * n), 2);
                        float[] c = TestData.Uniform(m * n, 3);
                        if (beta == 0 && k == 0)
                        {
                            c.AsSpan().Fill(float.NaN);
                        }

                        float[] before = (float[])c.Clone();

                        backend.Gemm(transA, transB, m, n, k, 0.7f, a, lda, b, ldb, beta, c, ldc);

                        if (m * n == 0)
                        {
                            Assert.Empty(c);
                        }
                        else if (k == 0)
                        {
                            float[] expected = before.Select(v => beta == 0 ? 0f : beta * v).ToArray();
                            Assert.Equal(expected, c);
                        }
                        else
                        {
                            (double[] value, double[] g) = Expected.Gemm(transA, transB, m, n, k, 0.7f, a, lda, b, ldb, beta, before, ldc);
                            Tolerance.AssertWithin($"m={m} n={n} k={k} β={beta}", k, c, m, n, ldc, value, g);
                        }
                    }
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void Empty_product_makes_no_write_even_with_padding(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        float[] c = [float.NaN, 5, 6];

        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 0, 3, 2, 1, Array.Empty<float>(), 2, new float[6], 3, 0, c, 3);
        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, 1, 0, 2, 1, new float[2], 2, Array.Empty<float>(), 1, 0, c, 3);

        Assert.True(float.IsNaN(c[0]));
        Assert.Equal([5f, 6f], c[1..]);
    }

    /// <summary>TESTING.md case 4: β = 0 never reads C.</summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void Beta_zero_never_reads_C(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        foreach (int size in new[] { 2, 300 })
        {
            float[] a = TestData.Uniform(size * size, 1), b = TestData.Uniform(size * size, 2);
            var c = new float[size * size];
            for (int i = 0; i < c.Length; i++)
            {
                c[i] = (i % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
            }

            backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, size, size, size, 1, a, size, b, size, 0, c, size);

            (double[] value, double[] g) = Expected.Gemm(Transpose.NoTrans, Transpose.NoTrans, size, size, size, 1, a, size, b, size, 0, c, size);
            Assert.All(c, v => Assert.True(float.IsFinite(v)));
            Tolerance.AssertWithin($"{size}³", size, c, size, size, size, value, g);
        }
    }

    /// <summary>TESTING.md case 5: α = 0 with NaN in A gives β·C bit for bit.</summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void Alpha_zero_ignores_NaN_in_A(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        foreach (int size in new[] { 2, 64, 100, 128 })
        {
            foreach (float beta in new[] { 0f, 1f, 1.3f })
            {
                float[] a = TestData.Uniform(size * size, 1), b = TestData.Uniform(size * size, 2);
                a[size + 1] = float.NaN;
                float[] c = TestData.Uniform(size * size, 3);
                float[] expected = c.Select(v => beta == 0 ? 0f : beta * v).ToArray();

                backend.Gemm(Transpose.NoTrans, Transpose.Trans, size, size, size, 0, a, size, b, size, beta, c, size);

                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), c.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    /// <summary>TESTING.md case 6: a NaN or Inf in an input reaches exactly the outputs that depend on it.</summary>
    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void NaN_and_Inf_propagate_to_exactly_the_affected_outputs(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        const int m = 33, n = 17, k = 65;
        float[] a = TestData.Uniform(m * k, 1), b = TestData.Uniform(k * n, 2);
        a[5 * k + 7] = float.NaN;            // row 5 of A: every C[5, j]
        b[3 * n + 11] = float.PositiveInfinity; // column 11 of B: every C[i, 11]
        var c = new float[m * n];

        backend.Gemm(Transpose.NoTrans, Transpose.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                bool affected = i == 5 || j == 11;
                Assert.True(affected == !float.IsFinite(c[i * n + j]), $"C[{i}, {j}] = {c[i * n + j]}");
            }
        }

        // Row 5 meets the Inf in column 11 through its NaN: NaN. Elsewhere in column 11, ±Inf.
        Assert.True(float.IsNaN(c[5 * n + 11]));
        Assert.True(float.IsInfinity(c[0 * n + 11]));
    }

    [SkippableTheory]
    [MemberData(nameof(BackendsAndTransposes))]
    public void Gemm_on_buffers_matches_gemm_on_spans(TestBackend backendName, Transpose transA, Transpose transB)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        const int m = 17, n = 31, k = 65;
        float[] a = TestData.Uniform(m * k, 1), b = TestData.Uniform(k * n, 2), c0 = TestData.Uniform(m * n, 3);
        int lda = transA == Transpose.Trans ? m : k, ldb = transB == Transpose.Trans ? k : n;
        using BlasBuffer da = backend.Allocate(m * k), db = backend.Allocate(k * n + 5), dc = backend.Allocate(m * n + 9);
        da.CopyFrom(a);
        db.CopyFrom([.. new float[5], .. b]);
        dc.CopyFrom([.. new float[9], .. c0]);
        float[] c = (float[])c0.Clone();

        backend.Gemm(transA, transB, m, n, k, 0.7f, a, lda, b, ldb, 1.3f, c, n);
        backend.Gemm(transA, transB, m, n, k, 0.7f, da, lda, db.Slice(5, k * n), ldb, 1.3f, dc.Slice(9, m * n), n);

        Assert.Equal(c, dc.ToArray()[9..]);
    }

    [SkippableTheory]
    [MemberData(nameof(TestBackends.NamesWithRoutes), MemberType = typeof(TestBackends))]
    public void Gemv_matches_float64_and_never_reads_y_when_beta_is_zero(TestBackend backendName)
    {
        BlasBackend backend = TestBackends.Get(backendName);
        foreach (Transpose trans in new[] { Transpose.NoTrans, Transpose.Trans })
        {
            foreach ((int m, int n) in new[] { (1, 1), (17, 65), (129, 31) })
            {
                foreach (float beta in new[] { 0f, 1.3f })
                {
                    int lda = n + 3;
                    float[] a = TestData.Padded(TestData.Uniform(m * n, 1), m, n, lda, float.NaN);
                    int xLength = trans == Transpose.Trans ? m : n, yLength = trans == Transpose.Trans ? n : m;
                    float[] x = TestData.Uniform(xLength, 2);
                    float[] y = beta == 0 ? Enumerable.Repeat(float.NaN, yLength).ToArray() : TestData.Uniform(yLength, 3);
                    float[] y0 = (float[])y.Clone();

                    backend.Gemv(trans, m, n, -1.5f, a, lda, x, beta, y);

                    // y = α·op(A)·x + β·y is the GEMM op(A)·X with X an xLength×1 column.
                    (double[] value, double[] g) = trans == Transpose.Trans
                        ? Expected.Gemm(Transpose.Trans, Transpose.NoTrans, n, 1, m, -1.5f, a, lda, x, 1, beta, y0, 1)
                        : Expected.Gemm(Transpose.NoTrans, Transpose.NoTrans, m, 1, n, -1.5f, a, lda, x, 1, beta, y0, 1);
                    Tolerance.AssertWithin($"gemv {trans} {m}×{n} β={beta}", xLength, y, yLength, 1, 1, value, g);
                }
            }
        }
    }

    private static void RunPadded(BlasBackend backend, Transpose transA, Transpose transB, int m, int n, int k, float alpha, float beta, int seed)
    {
        const int pad = 3;
        int aRows = transA == Transpose.Trans ? k : m, aCols = transA == Transpose.Trans ? m : k;
        int bRows = transB == Transpose.Trans ? n : k, bCols = transB == Transpose.Trans ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] a = TestData.Padded(TestData.Uniform(aRows * aCols, seed), aRows, aCols, lda, float.NaN);
        float[] b = TestData.Padded(TestData.Uniform(bRows * bCols, seed + 1), bRows, bCols, ldb, float.NaN);
        float[] c = TestData.Padded(
            beta == 0 ? Enumerable.Repeat(float.NaN, m * n).ToArray() : TestData.Uniform(m * n, seed + 2), m, n, ldc, float.NaN);
        float[] c0 = (float[])c.Clone();

        backend.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        (double[] value, double[] g) = Expected.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
        string what = $"{transA}/{transB} m={m} n={n} k={k} α={alpha} β={beta}";
        Tolerance.AssertWithin(what, k, c, m, n, ldc, value, g);
        for (int r = 0; r < m - 1; r++)
        {
            for (int p = n; p < ldc; p++)
            {
                Assert.True(float.IsNaN(c[r * ldc + p]), $"{what}: padding C[{r}, {p}] was written");
            }
        }
    }
}
