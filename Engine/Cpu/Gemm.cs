using System.Numerics;

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
/// backward-data and backward-weight reduce to the NN, TN and NT forms.
/// </summary>
public static class Gemm
{
    /// <summary>Float32 GEMM. A is M×K (K×M when transposed) with leading dimension lda; likewise B and C.</summary>
    public static void Sgemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) =>
        Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Float64 GEMM (references and gradient checks).</summary>
    public static void Dgemm(Transpose ta, Transpose tb, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) =>
        Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

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
}
