using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class BatchNormFoldTests
{
    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public void FoldedConvolutionEqualsConvolutionThenEvalBatchNorm(bool convBias, bool affine)
    {
        var rng = new Random(61);
        var x = Numeric.RandomDouble(rng, 2, 3, 9, 7);
        var w = Numeric.RandomDouble(rng, 5, 3, 3, 3);
        var b = convBias ? Numeric.RandomDouble(rng, 5) : null;
        var gamma = affine ? Numeric.RandomDouble(rng, 5) : null;
        var beta = affine ? Numeric.RandomDouble(rng, 5) : null;
        var rm = Numeric.RandomDouble(rng, 5);
        var rv = F.Add(F.Mul(F.Mul(Numeric.RandomDouble(rng, 5), Numeric.RandomDouble(rng, 5)), 0.5), 0.3).Detach();

        var expected = F.BatchNorm2d(F.Conv2d(x, w, b, 2, 1), gamma, beta, rm, rv, training: false);
        var (fw, fb) = F.FoldBatchNormIntoConv(w, b, gamma, beta, rm, rv);
        Numeric.AssertClose(expected, F.Conv2d(x, fw, fb, 2, 1), 1e-12, 1e-10, "float64 folded");

        var (fw32, fb32) = F.FoldBatchNormIntoConv(w.To(DType.Float32), b?.To(DType.Float32), gamma?.To(DType.Float32), beta?.To(DType.Float32),
            rm.To(DType.Float32), rv.To(DType.Float32));
        Assert.That(fw32.DType, Is.EqualTo(DType.Float32));
        Numeric.AssertClose(expected, F.Conv2d(x.To(DType.Float32), fw32, fb32, 2, 1), 1e-4, 1e-4, "float32 folded");
    }

    [Test]
    public void MismatchedStatisticsFailClearly()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.FoldBatchNormIntoConv(Tensor.Zeros([4, 3, 3, 3]), null, null, null, Tensor.Zeros([3]), Tensor.Ones([4])));
        Assert.That(ex!.Message, Does.Contain("fold_batch_norm").And.Contain("running_mean").And.Contain("[4]"));
    }
}
