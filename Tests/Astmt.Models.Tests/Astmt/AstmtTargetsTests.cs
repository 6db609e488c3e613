using Astmt.Engine;
using Astmt.Models.Astmt;
using Astmt.Models.Data;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Data targets in the ASTMT ground-truth convention (float, void = 255).</summary>
public class AstmtTargetsTests
{
    [Test]
    public void LabelMapsGainAChannelAndKeep255()
    {
        var labels = Tensor.FromArray(new long[] { 0, 3, 255, 1 }, 1, 2, 2);
        var converted = AstmtTargets.Convert(TaskSpec.Labels("semseg", TaskKind.Semantic, 13, 255), labels);
        Assert.That(converted.Shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(converted.DType, Is.EqualTo(DType.Float32));
        Assert.That(converted.ToDoubleArray(), Is.EqualTo(new[] { 0.0, 3, 255, 1 }));
    }

    [Test]
    public void MissingDepthAndNormalsBecomeVoid()
    {
        var depth = Tensor.FromArray(new float[] { 0, 1.5f, 2, 0 }, 1, 1, 2, 2);
        Assert.That(AstmtTargets.Convert(TaskSpec.Dense("depth", TaskKind.Depth), depth).ToDoubleArray(), Is.EqualTo(new[] { 255.0, 1.5, 2, 255 }));
        // Pixel 0 is the zero vector (missing); pixel 1 has a zero x component only (valid).
        var normals = Tensor.FromArray(new float[] { 0, 0, 0, 0.6f, 0, 0.8f }, 1, 3, 1, 2);
        Assert.That(AstmtTargets.Convert(TaskSpec.Dense("normals", TaskKind.Normal), normals).ToDoubleArray(),
            Is.EqualTo(new[] { 255.0, 0, 255, 0.6000000238418579, 255, 0.800000011920929 }));
        var edge = Tensor.FromArray(new float[] { 0, 1 }, 1, 1, 1, 2);
        Assert.That(AstmtTargets.Convert(TaskSpec.Dense("edge", TaskKind.Edge), edge).ToDoubleArray(), Is.EqualTo(new[] { 0.0, 1 }));
    }
}
