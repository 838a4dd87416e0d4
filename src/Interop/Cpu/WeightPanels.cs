using System.Buffers;

namespace BlasLinear.Backends;

/// <summary>
/// The CPU kernels' layout of a prepared weight (native/kernels/blaslinear_kernels.h, <c>BLK_PANEL</c>): op(W)
/// [k, n] as ⌈n / 16⌉ panels of <see cref="Width"/> columns, panel j holding columns [16j, 16j + 16) as k rows
/// of 16 contiguous elements, the columns of the last panel past n zero. A tile of the product then reads
/// each of its panels as one sequential stream whatever the weight's width and layout. Packs float32 or
/// bfloat16 elements from the weight's own layout (W [n, k] when transposed, as <c>Linear</c> stores it;
/// W [k, n] otherwise) and back.
/// </summary>
internal static unsafe class WeightPanels
{
    /// <summary>Columns of op(W) per panel: the kernels' <c>BLK_PANEL</c>.</summary>
    public const int Width = Native.Interop.Kernels.Panel;

    /// <summary>Elements of the panels for an n×k weight, padding included.</summary>
    public static long Length(int n, int k) => (long)((n + Width - 1) / Width) * Width * k;

    /// <summary>Writes the weight <paramref name="w"/> (laid out as the weight, n·k elements) into <paramref name="panels"/>.</summary>
    public static void Pack<T>(T* w, bool transposed, int n, int k, T* panels)
        where T : unmanaged
    {
        int rowLength = transposed ? k : n, rows = transposed ? n : k;
        for (int r = 0; r < rows; r++)
        {
            PackRow(new ReadOnlySpan<T>(w + (long)r * rowLength, rowLength), r, transposed, n, k, panels);
        }
    }

    /// <summary>Rounds the float32 weight <paramref name="w"/> (laid out as the weight) to bfloat16 into <paramref name="panels"/>.</summary>
    public static void PackRounded(float* w, bool transposed, int n, int k, ushort* panels)
    {
        int rowLength = transposed ? k : n, rows = transposed ? n : k;
        ushort[] row = ArrayPool<ushort>.Shared.Rent(rowLength);
        try
        {
            for (int r = 0; r < rows; r++)
            {
                BFloat16Bits.Round(new ReadOnlySpan<float>(w + (long)r * rowLength, rowLength), row.AsSpan(0, rowLength));
                PackRow<ushort>(row.AsSpan(0, rowLength), r, transposed, n, k, panels);
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(row);
        }
    }

    /// <summary>The elements of <paramref name="panels"/>, laid out as the weight (n·k of them).</summary>
    public static void Unpack<T>(T* panels, bool transposed, int n, int k, Span<T> w)
        where T : unmanaged
    {
        int rowLength = transposed ? k : n, rows = transposed ? n : k;
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = w.Slice(r * rowLength, rowLength);
            if (transposed)
            {
                // Row r of W [n, k] is column r of op(W): element p sits 16 elements after element p − 1.
                T* column = Column(panels, r, k);
                for (int p = 0; p < k; p++)
                {
                    row[p] = column[(long)p * Width];
                }
            }
            else
            {
                for (int j = 0; j < n; j += Width)
                {
                    int width = Math.Min(Width, n - j);
                    new ReadOnlySpan<T>(RowPiece(panels, r, j, k), width).CopyTo(row.Slice(j, width));
                }
            }
        }
    }

    /// <summary>Row <paramref name="r"/> of the weight as stored, into the panels.</summary>
    private static void PackRow<T>(ReadOnlySpan<T> row, int r, bool transposed, int n, int k, T* panels)
        where T : unmanaged
    {
        if (transposed)
        {
            T* column = Column(panels, r, k);
            for (int p = 0; p < k; p++)
            {
                column[(long)p * Width] = row[p];
            }
        }
        else
        {
            for (int j = 0; j < n; j += Width)
            {
                int width = Math.Min(Width, n - j);
                row.Slice(j, width).CopyTo(new Span<T>(RowPiece(panels, r, j, k), width));
            }
        }
    }

    /// <summary>Element (0, col) of op(W): column col's first element (the next is <see cref="Width"/> further).</summary>
    private static T* Column<T>(T* panels, int col, int k)
        where T : unmanaged => panels + (long)(col / Width) * Width * k + col % Width;

    /// <summary>Element (p, j) of op(W) for j a multiple of <see cref="Width"/>: the start of a panel's row p.</summary>
    private static T* RowPiece<T>(T* panels, int p, int j, int k)
        where T : unmanaged => panels + ((long)(j / Width) * k + p) * Width;
}
