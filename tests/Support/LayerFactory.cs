using BlasLinear.Backends;
using BlasLinear;
using Xunit;

namespace BlasLinear.Tests.Support;

/// <summary>Builds either layer form by name, so one test covers both.</summary>
public static class LayerFactory
{
    public const string Linear = "Linear";
    public const string ParameterLinear = "ParameterLinear";

    public static TheoryData<string, string, bool> BackendsFormsAndBias()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (string backend in TestBackends.All)
        {
            foreach (string form in new[] { Linear, ParameterLinear })
            {
                data.Add(backend, form, true);
                data.Add(backend, form, false);
            }
        }

        return data;
    }

    public static TheoryData<string, string> BackendsAndForms()
    {
        var data = new TheoryData<string, string>();
        foreach (string backend in TestBackends.All)
        {
            data.Add(backend, Linear);
            data.Add(backend, ParameterLinear);
        }

        return data;
    }

    public static LinearLayer Create(string form, int inFeatures, int outFeatures, bool bias, BlasBackend backend, int seed = 1) => form switch
    {
        Linear => new BlasLinear.Linear(inFeatures, outFeatures, bias, backend, seed: seed),
        ParameterLinear => new BlasLinear.ParameterLinear(inFeatures, outFeatures, bias, backend, seed: seed),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, "Unknown layer form."),
    };
}
