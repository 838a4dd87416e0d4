using System.Diagnostics.CodeAnalysis;

namespace BlasLinear.Backends;

/// <summary>
/// The managed checks every BLAS call passes before native code sees it, and their throw helpers (kept
/// out of line so that the callers stay small). A row-major matrix stored as rows × cols with leading
/// dimension ld occupies (rows − 1)·ld + cols elements, or none when either extent is zero.
/// </summary>
internal static class BlasArguments
{
    public static void CheckDimension(int value, string name)
    {
        if (value < 0)
        {
            ThrowDimension(value, name);
        }
    }

    /// <summary>Checks ld ≥ max(1, cols) and the length of the memory; returns the elements needed.</summary>
    public static long CheckMatrix(
        string matrix, Transpose trans, int rows, string rowsName, int cols, string colsName,
        int ld, string ldName, long length, string paramName)
    {
        if (ld < Math.Max(1, cols))
        {
            ThrowLeadingDimension(matrix, trans, cols, colsName, ld, ldName);
        }

        long needed = Needed(rows, cols, ld);
        if (length < needed)
        {
            ThrowTooShort(matrix, rows, cols, ld, ldName, needed, length, paramName);
        }

        return needed;
    }

    /// <summary>Checks a vector holds at least <paramref name="expected"/> elements.</summary>
    public static void CheckVector(string vector, long expected, long length, string paramName)
    {
        if (length < expected)
        {
            ThrowVectorLength(vector, expected, length, paramName);
        }
    }

    public static long Needed(int rows, int cols, int ld) =>
        rows == 0 || cols == 0 ? 0 : checked(((long)rows - 1) * ld + cols);

    [DoesNotReturn]
    private static void ThrowDimension(int value, string name) =>
        throw new ArgumentOutOfRangeException(
            name, value, $"{name}={value} must be between 0 and {int.MaxValue} (the 32-bit BLAS limit).");

    [DoesNotReturn]
    private static void ThrowLeadingDimension(string matrix, Transpose trans, int cols, string colsName, int ld, string ldName)
    {
        string rule = cols >= 1 ? $"{colsName}={cols}" : $"1 (the minimum, as {colsName}={cols})";
        throw new ArgumentOutOfRangeException(
            ldName, ld, $"{ldName}={ld} < {rule} for row-major {matrix} ({trans}).");
    }

    [DoesNotReturn]
    private static void ThrowTooShort(string matrix, int rows, int cols, int ld, string ldName, long needed, long length, string paramName) =>
        throw new ArgumentException(
            $"{matrix} needs {needed} elements for {rows}×{cols} with {ldName}={ld}; got {length}.", paramName);

    [DoesNotReturn]
    private static void ThrowVectorLength(string vector, long expected, long length, string paramName) =>
        throw new ArgumentException($"{vector} needs {expected} elements; got {length}.", paramName);

    [DoesNotReturn]
    public static void ThrowOverlap(string output, string input, string paramName) =>
        throw new ArgumentException(
            $"The output {output} overlaps the input {input}; BLAS results would be undefined.", paramName);

    [DoesNotReturn]
    public static void ThrowForeignBuffer(string name, BlasBuffer buffer, BlasBackend backend) =>
        throw new ArgumentException(
            $"{name} is a buffer of the {buffer.Backend.Kind} backend; this is the {backend.Kind} backend.", name);
}
