namespace BlasLinear;

/// <summary>
/// PyTorch's <c>state_dict()</c> and <c>load_state_dict()</c>, through safetensors files:
/// <c>{prefix}.weight</c> and <c>{prefix}.bias</c>, the names <c>nn.Linear</c> uses inside a module
/// (<c>weight</c> and <c>bias</c> for an empty prefix).
/// </summary>
public abstract partial class LinearLayer
{
    /// <summary>
    /// The layer's parameters as F32 tensors named <c>{prefix}.weight</c> (shaped as the layer stores it:
    /// [out, in] for <see cref="Linear"/>, [in, out] for <see cref="ParameterLinear"/>) and
    /// <c>{prefix}.bias</c> ([out], when the layer has one), copied from its buffers. Concatenate the lists of
    /// several layers, with different prefixes, to save them into one file with <see cref="SafeTensorsFile.Save"/>;
    /// use <see cref="SafeTensor.As"/> to store them as BF16 or F16.
    /// </summary>
    /// <param name="prefix">The module path, e.g. <c>fc1</c>; empty for bare <c>weight</c> and <c>bias</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The layer was disposed.</exception>
    public IReadOnlyList<SafeTensor> StateDict(string prefix = "") => LayerStateDict.StateDict(this, prefix);

    /// <summary>
    /// Loads <c>{prefix}.weight</c> and <c>{prefix}.bias</c> from <paramref name="file"/> into the layer, from
    /// F32 (copied straight from the mapped file), BF16, F16 (both exact) or F64 (rounded to nearest).
    /// All or nothing: everything is checked before the first write, and after any exception the layer's
    /// parameters are unchanged.
    /// </summary>
    /// <param name="file">The open file.</param>
    /// <param name="prefix">The module path, e.g. <c>fc1</c>; empty for bare <c>weight</c> and <c>bias</c>.</param>
    /// <param name="strict">
    /// As PyTorch's <c>strict=True</c> (the default): the bias must be present exactly when the layer has one.
    /// False keeps the current bias when the file has none and ignores a bias the layer has no place for. The
    /// weight must always be present, and every tensor loaded must have the layer's shape.
    /// </param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">
    /// The weight is missing; the bias is missing or unexpected under <paramref name="strict"/>; or a tensor's shape
    /// is not the layer's. The message names the tensor, its shape and the one expected.
    /// </exception>
    /// <exception cref="NotSupportedException">A tensor to load is stored in a dtype other than F32, F16, BF16 or F64.</exception>
    /// <exception cref="ObjectDisposedException">The layer or the file was disposed.</exception>
    public void LoadStateDict(SafeTensorsFile file, string prefix = "", bool strict = true) =>
        LayerStateDict.LoadStateDict(this, file, prefix, strict);
}
