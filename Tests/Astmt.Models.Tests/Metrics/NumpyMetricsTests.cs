using System.Text.Json;
using Astmt.Engine;
using Astmt.Models.Data.Npy;
using Astmt.Models.Metrics;
using Astmt.Models.Tests.Data;
using NUnit.Framework;

namespace Astmt.Models.Tests.Metrics;

/// <summary>
/// The MTAN metrics against numpy's results on random data (Fixtures/metrics, written by make_npy_fixtures.py mirroring the
/// reference's utils.py with batches of 2): confusion-matrix mIoU and accuracy, per-batch depth and normal errors, and the
/// whole-split variants with a true median.
/// </summary>
public class NumpyMetricsTests
{
    private static JsonElement Expected => JsonDocument.Parse(File.ReadAllText(FixtureFiles.Path("metrics", "expected.json"))).RootElement;

    private static Tensor Load(string name)
    {
        var a = NpyReader.Read(FixtureFiles.Path("metrics", name + ".npy"));
        return a.DType == NpyDType.Int64 ? Tensor.FromArray(a.ToInt64(), a.Shape) : Tensor.FromArray(a.ToFloat32(), a.Shape);
    }

    private static IEnumerable<(Tensor, Tensor)> Batches(string pred, string gt, int batch)
    {
        var p = Load(pred);
        var g = Load(gt);
        int n = p.Shape[0];
        var pa = p.ToArray<float>();
        for (int s = 0; s < n; s += batch)
        {
            int per = p.Numel / n;
            var ps = p.Shape.ToArray(); ps[0] = batch;
            var gs = g.Shape.ToArray(); gs[0] = batch;
            var pb = Tensor.FromArray(pa.AsSpan(s * per, batch * per).ToArray(), ps);
            var gb = g.DType == DType.Int64
                ? Tensor.FromArray(g.ToArray<long>().AsSpan(s * (g.Numel / n), batch * (g.Numel / n)).ToArray(), gs)
                : Tensor.FromArray(g.ToArray<float>().AsSpan(s * (g.Numel / n), batch * (g.Numel / n)).ToArray(), gs);
            yield return (pb, gb);
        }
    }

    [Test]
    public void ConfusionMatrix_MatchesNumpyBincount()
    {
        var e = Expected;
        var cm = new ConfusionMatrix(e.GetProperty("classes").GetInt32());
        foreach (var (p, g) in Batches("sem_pred", "sem_gt", 2)) cm.Update(p, g);
        Assert.That(cm.PixelAccuracy, Is.EqualTo(e.GetProperty("pixel_acc").GetDouble()).Within(1e-12));
        var iou = cm.ClassIoU();
        var expectedIoU = e.GetProperty("class_iou").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.That(iou, Is.EqualTo(expectedIoU).Within(1e-12));
        Assert.That(cm.MeanIoU, Is.EqualTo(e.GetProperty("miou").GetDouble()).Within(1e-12));
    }

    [Test]
    public void DepthErrors_PerBatchAndWholeSplit_MatchNumpy()
    {
        var e = Expected;
        var perBatch = new DepthErrorMeter(MetricAveraging.PerBatchMean);
        var whole = new DepthErrorMeter(MetricAveraging.WholeSplit);
        foreach (var (p, g) in Batches("depth_pred", "depth_gt", 2)) { perBatch.Update(p, g); whole.Update(p, g); }
        Assert.That(perBatch.Result.AbsoluteError, Is.EqualTo(e.GetProperty("depth_abs_per_batch").GetDouble()).Within(1e-6));
        Assert.That(perBatch.Result.RelativeError, Is.EqualTo(e.GetProperty("depth_rel_per_batch").GetDouble()).Within(1e-6));
        Assert.That(whole.Result.AbsoluteError, Is.EqualTo(e.GetProperty("depth_abs_whole").GetDouble()).Within(1e-6));
        Assert.That(whole.Result.RelativeError, Is.EqualTo(e.GetProperty("depth_rel_whole").GetDouble()).Within(1e-6));
        Assert.That(whole.Result.Rmse, Is.EqualTo(e.GetProperty("depth_rmse_whole").GetDouble()).Within(1e-6));
        Assert.That(perBatch.Result.Averaging, Is.EqualTo(MetricAveraging.PerBatchMean));
        Assert.That(whole.Result.ToString(), Does.Contain("WholeSplit"));
    }

    [Test]
    public void NormalErrors_PerBatchAndWholeSplit_MatchNumpy()
    {
        var e = Expected;
        var perBatch = new NormalErrorMeter(MetricAveraging.PerBatchMean);
        var whole = new NormalErrorMeter(MetricAveraging.WholeSplit);
        foreach (var (p, g) in Batches("normal_pred", "normal_gt", 2)) { perBatch.Update(p, g); whole.Update(p, g); }
        // numpy computed the angles in float32; 1e-4 degrees covers that rounding.
        Check(perBatch.Result, e.GetProperty("normal_per_batch"));
        Check(whole.Result, e.GetProperty("normal_whole"));
        Assert.That(perBatch.Result.Median, Is.Not.EqualTo(whole.Result.Median).Within(1e-3), "mean of batch medians is not the split median");

        static void Check(NormalErrors r, JsonElement expected)
        {
            var v = expected.EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.That(r.Mean, Is.EqualTo(v[0]).Within(1e-4), $"{r.Averaging} mean");
            Assert.That(r.Median, Is.EqualTo(v[1]).Within(1e-4), $"{r.Averaging} median");
            Assert.That(r.Within11, Is.EqualTo(v[2]).Within(1e-9));
            Assert.That(r.Within22, Is.EqualTo(v[3]).Within(1e-9));
            Assert.That(r.Within30, Is.EqualTo(v[4]).Within(1e-9));
        }
    }
}
