namespace Astmt.Engine.Ops;

/// <summary>
/// The sizes of one 2-D convolution: x [B,C,H,W], weight [K,C,R,S], y [B,K,P,Q] with
/// P = (H + 2·padding − dilation·(R−1) − 1) / stride + 1 (likewise Q).
/// </summary>
public readonly record struct Conv2dGeometry(int B, int C, int H, int W, int K, int R, int S, int P, int Q, int Stride, int Padding, int Dilation)
{
    /// <summary>True when the convolution is a plain matrix product per image (1x1 kernel, stride 1, no padding).</summary>
    public bool IsPointwise => R == 1 && S == 1 && Stride == 1 && Padding == 0;

    /// <summary>
    /// True when only the centre tap of the kernel ever meets the input: an odd square kernel (R = S &gt; 1), stride 1, "same"
    /// padding (dilation·(R−1)/2) and a dilation of at least H and W, e.g. a 3x3 ASPP branch with rate 6 on a 4x4 map. Every
    /// other tap is offset by a multiple of the dilation and so reads only padding; the convolution is then the 1x1
    /// convolution with the weights w[:, :, R/2, S/2].
    /// </summary>
    public bool IsCentreTapOnly => R == S && R > 1 && R % 2 == 1 && Stride == 1 && Padding == Dilation * (R - 1) / 2
                                   && Dilation >= H && Dilation >= W;

    /// <summary>Rows of the im2col matrix: C·R·S.</summary>
    public int ColRows => C * R * S;

    /// <summary>Columns of the im2col matrix: P·Q.</summary>
    public int ColCols => P * Q;

    /// <summary>Multiply-adds of the forward pass (each backward costs the same).</summary>
    public long MacCount => (long)B * K * P * Q * C * R * S;

    /// <summary>Validates the hyper-parameters and derives the output size, naming <paramref name="op"/> and the shapes on error.</summary>
    public static Conv2dGeometry Create(string op, int b, int c, int h, int w, int k, int r, int s, int stride, int padding, int dilation, string shapes) =>
        Create(op, b, c, h, w, k, r, s, stride, padding, dilation, new OperandShapes(shapes, null, null, null, null));

    /// <summary>As the other overload, naming the two operand tensors on error: their description is only formatted when the
    /// geometry is invalid, so a valid convolution allocates no message text.</summary>
    internal static Conv2dGeometry Create(string op, int b, int c, int h, int w, int k, int r, int s, int stride, int padding, int dilation,
        string firstName, Tensor first, string secondName, Tensor second) =>
        Create(op, b, c, h, w, k, r, s, stride, padding, dilation, new OperandShapes(null, firstName, first, secondName, second));

    private static Conv2dGeometry Create(string op, int b, int c, int h, int w, int k, int r, int s, int stride, int padding, int dilation, OperandShapes shapes)
    {
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be at least 1, got {stride} ({shapes}).");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative, got {padding} ({shapes}).");
        if (dilation < 1) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be at least 1, got {dilation} ({shapes}).");
        int extentH = dilation * (r - 1) + 1, extentW = dilation * (s - 1) + 1;
        if (h + 2 * padding < extentH || w + 2 * padding < extentW)
            throw new ArgumentException($"{op}: the dilated kernel ({extentH}x{extentW} for {r}x{s}, dilation {dilation}) is larger than the padded input " +
                                        $"({h + 2 * padding}x{w + 2 * padding} with padding {padding}) ({shapes}).");
        int p = (h + 2 * padding - extentH) / stride + 1;
        int q = (w + 2 * padding - extentW) / stride + 1;
        return new Conv2dGeometry(b, c, h, w, k, r, s, p, q, stride, padding, dilation);
    }

    // The operands' description for error messages, formatted on demand.
    private readonly record struct OperandShapes(string? Text, string? FirstName, Tensor? First, string? SecondName, Tensor? Second)
    {
        public override string ToString() => Text ?? $"{FirstName} {First!.Describe()}, {SecondName} {Second!.Describe()}";
    }
}
