using BlasLinear.Backends;
using Xunit;

namespace BlasLinear.Tests.Support;

/// <summary>The two layer forms, for theory data.</summary>
public enum LayerKind
{
    Linear,
    ParameterLinear,
}

/// <summary>Builds either layer form, so one test covers both.</summary>
public static class LayerFactory
{
    public const LayerKind Linear = LayerKind.Linear;
    public const LayerKind ParameterLinear = LayerKind.ParameterLinear;

    public static TheoryData<TestBackend, LayerKind, bool> BackendsFormsAndBias() => FormsAndBias(TestBackends.All);

    /// <summary>As <see cref="BackendsFormsAndBias"/>, and the CPU with the kernels' AVX2 path forced (the layer tests).</summary>
    public static TheoryData<TestBackend, LayerKind, bool> BackendsFormsAndBiasWithAvx2() => FormsAndBias(TestBackends.AllWithAvx2);

    public static TheoryData<TestBackend, LayerKind> BackendsAndForms() => Forms(TestBackends.All);

    /// <summary>As <see cref="BackendsAndForms"/>, and the CPU with the kernels' AVX2 path forced (the layer tests).</summary>
    public static TheoryData<TestBackend, LayerKind> BackendsAndFormsWithAvx2() => Forms(TestBackends.AllWithAvx2);

    private static TheoryData<TestBackend, LayerKind, bool> FormsAndBias(IEnumerable<TestBackend> backends)
    {
        var data = new TheoryData<TestBackend, LayerKind, bool>();
        foreach (TestBackend backend in backends)
        {
            foreach (LayerKind form in new[] { Linear, ParameterLinear })
            {
                data.Add(backend, form, true);
                data.Add(backend, form, false);
            }
        }

        return data;
    }

    private static TheoryData<TestBackend, LayerKind> Forms(IEnumerable<TestBackend> backends)
    {
        var data = new TheoryData<TestBackend, LayerKind>();
        foreach (TestBackend backend in backends)
        {
            data.Add(backend, Linear);
            data.Add(backend, ParameterLinear);
        }

        return data;
    }

    public static LinearLayer Create(LayerKind form, int inFeatures, int outFeatures, bool bias, BlasBackend backend, int seed = 1) => form switch
    {
        Linear => new BlasLinear.Linear(inFeatures, outFeatures, bias, backend, seed: seed),
        ParameterLinear => new BlasLinear.ParameterLinear(inFeatures, outFeatures, bias, backend, seed: seed),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, "Unknown layer form."),
    };
}
