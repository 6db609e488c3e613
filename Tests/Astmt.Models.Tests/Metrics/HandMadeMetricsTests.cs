using Astmt.Engine;
using Astmt.Models.Metrics;
using NUnit.Framework;

namespace Astmt.Models.Tests.Metrics;

/// <summary>Each metric on small examples worked out by hand or by a naive float64 loop written here.</summary>
public class HandMadeMetricsTests
{
    [Test]
    public void ConfusionMatrix_HandExample_IgnoresNegativeAnd255()
    {
        var cm = new ConfusionMatrix(3);
        // truth 0 0 1 1 2 -1 255; pred 0 1 1 1 0 2 2
        cm.Update([0, 1, 1, 1, 0, 2, 2], [0, 0, 1, 1, 2, -1, 255]);
        Assert.That(cm.Total, Is.EqualTo(5));
        Assert.That(cm.PixelAccuracy, Is.EqualTo(3.0 / 5));
        // IoU0 = 1/(2+2-1) = 1/3; IoU1 = 2/(2+3-2) = 2/3; IoU2 = 0/(1+0-0) = 0.
        Assert.That(cm.ClassIoU(), Is.EqualTo(new[] { 1.0 / 3, 2.0 / 3, 0.0 }).Within(1e-15));
        Assert.That(cm.MeanIoU, Is.EqualTo(1.0 / 3).Within(1e-15));
        var empty = new ConfusionMatrix(4);
        empty.Update([0, 1], [0, 1]);
        Assert.That(double.IsNaN(empty.MeanIoU), "absent classes give NaN like the reference");
        Assert.That(empty.MeanIoUPresent, Is.EqualTo(1.0));
    }

    [Test]
    public void ConfusionMatrix_FromScores_UsesArgmax()
    {
        // B=1, K=2, H=1, W=3: scores (c0, c1) per pixel = (1, 2), (3, -1), (0.5, 0.5 tie -> class 0).
        var scores = Tensor.FromArray(new float[] { 1, 3, 0.5f, 2, -1, 0.5f }, 1, 2, 1, 3);
        var labels = Tensor.FromArray(new long[] { 1, 1, 0 }, 1, 1, 3);
        var cm = new ConfusionMatrix(2);
        cm.Update(scores, labels);
        Assert.That((cm[0, 0], cm[0, 1], cm[1, 0], cm[1, 1]), Is.EqualTo((1L, 0L, 1L, 1L)));
        Assert.Throws<ArgumentException>(() => cm.Update(scores, Tensor.FromArray(new long[] { 1, 1 }, 1, 1, 2)));
    }

    [Test]
    public void Depth_HandExample_PerBatchVersusWholeSplit()
    {
        var perBatch = new DepthErrorMeter(MetricAveraging.PerBatchMean);
        var whole = new DepthErrorMeter(MetricAveraging.WholeSplit);
        // batch 1: gt (2, 0, 4) pred (1, 9, 5): valid 2, |e| = 1, 1 -> abs 1, rel (0.5 + 0.25)/2.
        // batch 2: gt (1, 1, 1, 1) pred (1, 1, 1, 5): abs 1, rel 1.
        foreach (var m in new[] { perBatch, whole })
        {
            m.Update([1f, 9f, 5f], [2f, 0f, 4f]);
            m.Update([1f, 1f, 1f, 5f], [1f, 1f, 1f, 1f], images: 2);
        }
        Assert.That(perBatch.Result.AbsoluteError, Is.EqualTo(1.0));
        Assert.That(perBatch.Result.RelativeError, Is.EqualTo((0.375 + 1.0) / 2));
        Assert.That(whole.Result.AbsoluteError, Is.EqualTo(6.0 / 6));
        Assert.That(whole.Result.RelativeError, Is.EqualTo((0.5 + 0.25 + 4) / 6));
        Assert.That(whole.Result.Rmse, Is.EqualTo(Math.Sqrt((1 + 1 + 16) / 6.0)).Within(1e-15));
        // Per image RMSE: image 1 sqrt(1), image 2a 0, image 2b sqrt(16/2).
        Assert.That(whole.Result.RmsePerImageMean, Is.EqualTo((1 + 0 + Math.Sqrt(8)) / 3).Within(1e-15));
        Assert.That(whole.Result.ValidPixels, Is.EqualTo(6));
    }

    [Test]
    public void Normals_HandExample_AnglesAndMedian()
    {
        // Four valid pixels with angles 0°, 90°, 180°, 45° and one invalid (gt 0): one image, 3×1×5 layout.
        float s = MathF.Sqrt(0.5f);
        float[] gt = [1, 1, 1, 1, 0,   0, 0, 0, 0, 0,   0, 0, 0, 0, 0];
        float[] pred = [1, 0, -1, s, 1,   0, 1, 0, s, 0,   0, 0, 0, 0, 0];
        var whole = new NormalErrorMeter(MetricAveraging.WholeSplit);
        whole.Update(pred, gt, 1);
        var r = whole.Result;
        Assert.That(r.ValidPixels, Is.EqualTo(4));
        Assert.That(r.Mean, Is.EqualTo((0 + 90 + 180 + 45) / 4.0).Within(1e-4));
        Assert.That(r.Median, Is.EqualTo((45 + 90) / 2.0).Within(1e-4), "numpy median of an even count");
        Assert.That(r.Rmse, Is.EqualTo(Math.Sqrt((0 + 8100 + 32400 + 2025) / 4.0)).Within(1e-3));
        Assert.That((r.Within11, r.Within22, r.Within30), Is.EqualTo((0.25, 0.25, 0.25)));
        var normalised = new NormalErrorMeter(MetricAveraging.WholeSplit) { NormalizePrediction = true };
        normalised.Update([5, 0, 0], [1, 0, 0], 1);
        Assert.That(normalised.Result.Mean, Is.EqualTo(0).Within(1e-6));
    }

    [Test]
    public void Normals_MaskRules_ChannelSumVersusNorm()
    {
        // gt (0.6, -0.6, 0) sums to zero: invalid under MTAN's channel-sum mask, valid under ASTMT's norm mask.
        float[] gt = [0.6f, -0.6f, 0f];
        float[] pred = [0.6f, -0.6f, 0f];
        var mtan = new NormalErrorMeter(MetricAveraging.WholeSplit);
        mtan.Update(pred, gt, 1);
        var astmt = new NormalErrorMeter(MetricAveraging.WholeSplit) { MaskFromNorm = true, NormalizePrediction = true };
        astmt.Update(pred, gt, 1);
        Assert.That(mtan.Result.ValidPixels, Is.Zero);
        Assert.That(astmt.Result.ValidPixels, Is.EqualTo(1));
    }

    [Test]
    public void Saliency_MatchesNaiveLoop_AndPerfectPrediction()
    {
        var rng = new Random(7);
        int images = 4, per = 50;
        var p = new float[images * per];
        var g = new float[images * per];
        for (int i = 0; i < p.Length; i++) { g[i] = rng.NextDouble() < 0.3 ? 1 : 0; p[i] = (float)Math.Clamp(g[i] * 0.5 + rng.NextDouble() * 0.6, 0, 1); }
        var meter = new SaliencyMeter();
        meter.Update(p, g, images);
        // Naive: thresholds linspace(0.2, 0.9, 15); per image IoU/precision/recall; then the maxima of the means.
        double bestF = 0, bestIoU = 0;
        for (int k = 0; k < 15; k++)
        {
            double t = 0.2 + 0.05 * k, mp = 0, mr = 0, mi = 0;
            for (int n = 0; n < images; n++)
            {
                double tp = 0, fp = 0, fn = 0;
                for (int i = n * per; i < (n + 1) * per; i++)
                {
                    bool a = p[i] > t, b = g[i] > 0.5;
                    tp += a && b ? 1 : 0; fp += a && !b ? 1 : 0; fn += !a && b ? 1 : 0;
                }
                mp += tp / (tp + fp) / images; mr += tp / (tp + fn) / images; mi += tp / (tp + fp + fn) / images;
            }
            bestF = Math.Max(bestF, 2 * mp * mr / (mp + mr));
            bestIoU = Math.Max(bestIoU, mi);
        }
        Assert.That(meter.Result.MaxF, Is.EqualTo(bestF).Within(1e-12));
        Assert.That(meter.Result.MaxMeanIoU, Is.EqualTo(bestIoU).Within(1e-12));
        Assert.That(meter.Thresholds[14], Is.EqualTo(0.9).Within(1e-15));

        var perfect = new SaliencyMeter();
        perfect.Update(g, g, images);
        Assert.That((perfect.Result.MaxF, perfect.Result.MaxMeanIoU), Is.EqualTo((1.0, 1.0)));
    }

    [Test]
    public void Edges_PerfectShiftedAndFar()
    {
        const int h = 40, w = 60; // diagonal 72.1 -> tolerance 0.54 px at 0.0075; use 0.03 (2.16 px) for the shifted case
        var truth = new float[h * w];
        for (int y = 5; y < 35; y++) truth[y * w + 20] = 1;
        var meter = new EdgeMeter();
        meter.Update(truth, truth, 1, h, w);
        Assert.That(meter.Result.OdsF, Is.EqualTo(1.0));

        var shifted = new float[h * w];
        for (int y = 5; y < 35; y++) shifted[y * w + 22] = 0.8f;
        var loose = new EdgeMeter(toleranceFraction: 0.03);
        loose.Update(shifted, truth, 1, h, w);
        Assert.That(loose.Result.OdsF, Is.EqualTo(1.0), "2 px shift inside a 2.16 px tolerance");
        var strict = new EdgeMeter();
        strict.Update(shifted, truth, 1, h, w);
        Assert.That(strict.Result.OdsF, Is.Zero, "2 px shift outside a 0.54 px tolerance");
    }

    [Test]
    public void Edges_MatchBruteForceMatching()
    {
        const int h = 24, w = 30, images = 3;
        var rng = new Random(3);
        var p = new float[images * h * w];
        var g = new float[images * h * w];
        for (int i = 0; i < p.Length; i++) { g[i] = rng.NextDouble() < 0.08 ? 1 : 0; p[i] = (float)rng.NextDouble(); }
        const double fraction = 0.05;
        var meter = new EdgeMeter(thresholdCount: 9, toleranceFraction: fraction);
        meter.Update(p, g, images, h, w);
        double r = fraction * Math.Sqrt(h * h + w * w);
        double best = 0, oisSum = 0;
        var perImageBest = new double[images];
        for (int k = 1; k <= 9; k++)
        {
            double t = k / 10.0; long mp = 0, pp = 0, mt = 0, tt = 0;
            for (int n = 0; n < images; n++)
            {
                long imp = 0, ipp = 0, imt = 0, itt = 0;
                int o = n * h * w;
                for (int a = 0; a < h * w; a++)
                {
                    bool isPred = p[o + a] >= t, isTruth = g[o + a] > 0.5;
                    if (!isPred && !isTruth) continue;
                    bool predNearTruth = false, truthNearPred = false;
                    for (int b = 0; b < h * w; b++)
                    {
                        double d2 = Math.Pow(a / w - b / w, 2) + Math.Pow(a % w - b % w, 2);
                        if (d2 > r * r) continue;
                        if (g[o + b] > 0.5) predNearTruth = true;
                        if (p[o + b] >= t) truthNearPred = true;
                    }
                    if (isPred) { ipp++; if (predNearTruth) imp++; }
                    if (isTruth) { itt++; if (truthNearPred) imt++; }
                }
                mp += imp; pp += ipp; mt += imt; tt += itt;
                perImageBest[n] = Math.Max(perImageBest[n], F(imp, ipp, imt, itt));
            }
            best = Math.Max(best, F(mp, pp, mt, tt));
        }
        oisSum = perImageBest.Sum();
        Assert.That(meter.Result.OdsF, Is.EqualTo(best).Within(1e-12));
        Assert.That(meter.Result.OisF, Is.EqualTo(oisSum / images).Within(1e-12));

        static double F(long mp, long pp, long mt, long tt)
        {
            double pr = pp == 0 ? 0 : (double)mp / pp, rc = tt == 0 ? 0 : (double)mt / tt;
            return pr + rc == 0 ? 0 : 2 * pr * rc / (pr + rc);
        }
    }

    [Test]
    public void DeltaM_ReproducesTheAstmtReadme()
    {
        // README (R-101, PASCAL-Context): single task vs MTL w/o ASTMT gives 6.81; ASTMT gives 0.03-0.04.
        (string, double, bool)[] single = [("edge", 72.7, false), ("seg", 68.30, false), ("parts", 60.70, false), ("normals", 14.61, true), ("sal", 65.40, false)];
        double[] mtl = [69.2, 63.20, 55.10, 16.04, 63.60];
        double[] astmt = [72.4, 68.00, 61.12, 14.68, 65.71];
        var a = single.Select((s, i) => new TaskMetricComparison(s.Item1, s.Item2, mtl[i], s.Item3)).ToArray();
        var b = single.Select((s, i) => new TaskMetricComparison(s.Item1, s.Item2, astmt[i], s.Item3)).ToArray();
        Assert.That(MultiTaskPerformance.DropPercent(a), Is.EqualTo(6.81).Within(0.005));
        Assert.That(MultiTaskPerformance.DropPercent(b), Is.InRange(0.025, 0.045));
        Assert.That(MultiTaskPerformance.ImprovementPercent(a), Is.EqualTo(-MultiTaskPerformance.DropPercent(a)));
        Assert.Throws<ArgumentException>(() => MultiTaskPerformance.DropPercent([new TaskMetricComparison("x", 0, 1, false)]));
    }
}

/// <summary>The paper-era per-image segmentation metric on a hand example.</summary>
public class LegacySegmentationMeterTests
{
    [Test]
    public void PerImageThenPerBatchAveraging()
    {
        var meter = new LegacySegmentationMeter(3);
        // Batch 1, image A: truth 0 0 1 -1, pred 0 1 1 2 -> void excluded; IoU0 = 1/2, IoU1 = 1/2, class 2 absent -> mIoU 0.5; acc 2/3.
        //          image B: truth 2 2 2 2, pred 2 2 2 2 -> mIoU 1, acc 1.
        meter.Update([0, 1, 1, 2, 2, 2, 2, 2], [0, 0, 1, -1, 2, 2, 2, 2], images: 2);
        // Batch 2, image C: truth 1 1 0 0, pred 0 0 1 1 -> IoU0 = 0, IoU1 = 0 -> 0; acc 0.
        meter.Update([0, 0, 1, 1], [1, 1, 0, 0], images: 1);
        var r = meter.Result;
        Assert.That(r.MeanIoU, Is.EqualTo(((0.5 + 1) / 2 + 0) / 2).Within(1e-15));
        Assert.That(r.PixelAccuracy, Is.EqualTo(((2.0 / 3 + 1) / 2 + 0) / 2).Within(1e-15));
        Assert.That(r.Images, Is.EqualTo(3));
    }
}
