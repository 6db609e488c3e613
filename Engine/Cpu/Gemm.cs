using System.Numerics;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Cpu;

/// <summary>Whether a GEMM operand is read as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Read as stored (row-major).</summary>
    No,
    /// <summary>Read transposed.</summary>
    Yes,
}

/// <summary>
/// Row-major general matrix multiply: C = alpha·op(A)·op(B) + beta·C with op(A) M×K and op(B) K×N. Convolution forward,
/// backward-data and backward-weight reduce to the NN, TN and NT forms. <see cref="Sgemm"/> is the packed, cache-blocked,
/// multithreaded kernel (see <see cref="GemmDriver"/>); <see cref="Reference{T}"/> is the readable specification.
/// </summary>
public static class Gemm
{
    private static GemmKernel _kernel = FromEnvironment();

    /// <summary>
    /// The microkernel <see cref="Sgemm"/> uses. Starts as <c>ASTMT_GEMM_KERNEL</c> (<c>auto</c>, <c>avx512</c>, <c>avx2</c>,
    /// <c>vector128</c>) or <see cref="GemmKernel.Auto"/>. Setting a kernel this CPU cannot run throws.
    /// </summary>
    public static GemmKernel Kernel
    {
        get => _kernel;
        set => _kernel = IsSupported(value) ? value
            : throw new NotSupportedException($"Gemm.Kernel: {value} is not supported on this CPU (supported: {string.Join(", ", SupportedKernels())}).");
    }

    /// <summary>The kernel that actually runs: <see cref="Kernel"/> with <see cref="GemmKernel.Auto"/> resolved.</summary>
    public static GemmKernel ActiveKernel => _kernel != GemmKernel.Auto ? _kernel
        : Microkernel512.IsSupported ? GemmKernel.Avx512
        : Microkernel256.IsSupported ? GemmKernel.Avx2
        : GemmKernel.Vector128;

    /// <summary>Whether this CPU can run <paramref name="kernel"/>.</summary>
    public static bool IsSupported(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto or GemmKernel.Vector128 => true,
        GemmKernel.Avx2 => Microkernel256.IsSupported,
        GemmKernel.Avx512 => Microkernel512.IsSupported,
        _ => false,
    };

    /// <summary>The concrete kernels this CPU can run, widest first.</summary>
    public static IReadOnlyList<GemmKernel> SupportedKernels()
    {
        var list = new List<GemmKernel>(3);
        if (Microkernel512.IsSupported) list.Add(GemmKernel.Avx512);
        if (Microkernel256.IsSupported) list.Add(GemmKernel.Avx2);
        list.Add(GemmKernel.Vector128);
        return list;
    }

    /// <summary>Float32 GEMM. A is M×K (K×M when transposed) with leading dimension lda; likewise B and C. When beta is 0,
    /// C is not read. Results are bit-identical for any <see cref="Parallelism.Threads"/>.</summary>
    public static unsafe void Sgemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(ta, tb, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(c, m, n, ldc, beta);
            return;
        }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var problem = new GemmProblem
            {
                M = m, N = n, K = k, TransA = ta == Transpose.Yes, TransB = tb == Transpose.Yes, Alpha = alpha, Beta = beta,
                A = pa, B = pb, C = pc, Lda = lda, Ldb = ldb, Ldc = ldc,
            };
            GemmDriver.Run(ActiveKernel, problem);
        }
    }

    /// <summary>
    /// Implicit-GEMM convolution: C = op(A)·op(B) + beta·C where op(B) is the im2col matrix of <paramref name="image"/>
    /// [C,H,W] (or of several images side by side, see <see cref="Im2ColView"/>) (<paramref name="colTransposed"/> false: [C·R·S, P·Q], the forward form) or its transpose ([P·Q, C·R·S], the
    /// backward-weight form), built panel by panel inside the GEMM's packing and never written out. Bit-identical to
    /// <see cref="Sgemm"/> on the explicit im2col matrix, and likewise for any <see cref="Parallelism.Threads"/>.
    /// </summary>
    internal static unsafe void SgemmIm2Col(Transpose ta, int m, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> image,
        in Im2ColView geometry, bool colTransposed, float beta, Span<float> c, int ldc)
    {
        int n = colTransposed ? geometry.Rows : geometry.Cols, k = colTransposed ? geometry.Cols : geometry.Rows;
        CheckIm2ColImages(geometry, image.Length);
        CheckOperand("A", ta == Transpose.No ? m : k, ta == Transpose.No ? k : m, lda, a.Length, ta);
        CheckOperand("C", m, n, ldc, c.Length, Transpose.No);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            ScaleC(c, m, n, ldc, beta);
            return;
        }
        fixed (float* pa = a)
        fixed (float* px = image)
        fixed (float* pc = c)
        {
            var view = geometry;
            view.X = px;
            var problem = new GemmProblem
            {
                M = m, N = n, K = k, TransA = ta == Transpose.Yes, Alpha = 1f, Beta = beta, A = pa, C = pc, Lda = lda, Ldc = ldc,
                BSource = colTransposed ? BOperand.Im2ColTransposed : BOperand.Im2Col, Im2Col = view,
            };
            GemmDriver.Run(ActiveKernel, problem);
        }
    }

    /// <summary>Throws unless <paramref name="geometry"/> describes at least one image, images that do not overlap, and all of
    /// them within a span of <paramref name="length"/> elements.</summary>
    private static void CheckIm2ColImages(in Im2ColView geometry, int length)
    {
        if (geometry.Images < 1 || (geometry.Images > 1 && geometry.ImageStride < (long)geometry.C * geometry.H * geometry.W))
            throw new ArgumentException($"Gemm: implicit im2col needs at least one image and images that do not overlap, got {geometry.Images} image(s) {geometry.ImageStride} elements apart.");
        long planes = (long)(geometry.Images - 1) * geometry.ImageStride + (long)geometry.C * geometry.H * geometry.W;
        if (length < planes)
            throw new ArgumentException($"Gemm: the images for implicit im2col are {geometry.Images}×[{geometry.C},{geometry.H},{geometry.W}] and need {planes} elements, but the span has {length}.");
    }

    /// <summary>
    /// Stride-1 backward-data as an implicit forward convolution: C [Cin, cols] = w'·col(image) + beta·C where
    /// w'[c, (k,t)] = w[k, c, T−1−t] are the weights w [K,Cin,R,S] flipped and transposed (read so while packing; never
    /// copied) and <paramref name="geometry"/> describes gy's images as the input of that convolution (K channels, padding
    /// dilation·(R−1) − padding).
    /// </summary>
    internal static unsafe void SgemmIm2ColFlippedWeights(ReadOnlySpan<float> weights, int outChannels, int inChannels, ReadOnlySpan<float> image,
        in Im2ColView geometry, float beta, Span<float> c, int ldc)
    {
        int taps = geometry.R * geometry.S;
        if (geometry.C != outChannels)
            throw new ArgumentException($"Gemm: flipped weights have {outChannels} output channels but the implicit im2col image has {geometry.C} channels.");
        if (weights.Length < (long)outChannels * inChannels * taps)
            throw new ArgumentException($"Gemm: weights [{outChannels},{inChannels},{geometry.R},{geometry.S}] need {(long)outChannels * inChannels * taps} elements, but the span has {weights.Length}.");
        CheckIm2ColImages(geometry, image.Length);
        int m = inChannels, n = geometry.Cols, k = geometry.Rows;
        CheckOperand("C", m, n, ldc, c.Length, Transpose.No);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            ScaleC(c, m, n, ldc, beta);
            return;
        }
        fixed (float* pw = weights)
        fixed (float* px = image)
        fixed (float* pc = c)
        {
            var view = geometry;
            view.X = px;
            var problem = new GemmProblem
            {
                M = m, N = n, K = k, Alpha = 1f, Beta = beta, A = pw, C = pc, Lda = k, Ldc = ldc,
                ASource = AOperand.FlippedWeights, FlippedWeights = new FlippedWeightsShape { K = outChannels, C = inChannels, Taps = taps },
                BSource = BOperand.Im2Col, Im2Col = view,
            };
            GemmDriver.Run(ActiveKernel, problem);
        }
    }

    /// <summary>Float64 GEMM (references and gradient checks).</summary>
    public static void Dgemm(Transpose ta, Transpose tb, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        Validate(ta, tb, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>The plain triple loop: the readable specification and the oracle of the fast kernels.</summary>
    public static void Reference<T>(Transpose ta, Transpose tb, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else if (beta != T.One) for (int j = 0; j < n; j++) row[j] *= beta;
            for (int p = 0; p < k; p++)
            {
                T av = alpha * (ta == Transpose.No ? a[i * lda + p] : a[p * lda + i]);
                if (av == T.Zero) continue;
                if (tb == Transpose.No)
                {
                    var brow = b.Slice(p * ldb, n);
                    for (int j = 0; j < n; j++) row[j] += av * brow[j];
                }
                else
                {
                    for (int j = 0; j < n; j++) row[j] += av * b[j * ldb + p];
                }
            }
        }
    }

    private static void ScaleC(Span<float> c, int m, int n, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else if (beta != 1f) for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>Checks sizes and leading dimensions against the spans so that the unsafe kernels never read out of bounds.</summary>
    private static void Validate(Transpose ta, Transpose tb, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Gemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");
        CheckOperand("A", ta == Transpose.No ? m : k, ta == Transpose.No ? k : m, lda, aLength, ta);
        CheckOperand("B", tb == Transpose.No ? k : n, tb == Transpose.No ? n : k, ldb, bLength, tb);
        CheckOperand("C", m, n, ldc, cLength, Transpose.No);
    }

    private static void CheckOperand(string name, int rows, int cols, int ld, int length, Transpose t)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Gemm: ld{name.ToLowerInvariant()}={ld} is smaller than the {cols} columns of {name} as stored ({rows}×{cols}, transpose={t}).");
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"Gemm: {name} as stored is {rows}×{cols} with leading dimension {ld} and needs {needed} elements, but the span has {length}.");
    }

    private static GemmKernel FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("ASTMT_GEMM_KERNEL");
        if (string.IsNullOrWhiteSpace(text)) return GemmKernel.Auto;
        if (!Enum.TryParse<GemmKernel>(text.Trim(), ignoreCase: true, out var kernel) || !Enum.IsDefined(kernel))
            throw new InvalidOperationException($"ASTMT_GEMM_KERNEL='{text}' is not one of auto, avx512, avx2, vector128.");
        if (!IsSupported(kernel))
            throw new InvalidOperationException($"ASTMT_GEMM_KERNEL={kernel} is not supported on this CPU.");
        return kernel;
    }
}
