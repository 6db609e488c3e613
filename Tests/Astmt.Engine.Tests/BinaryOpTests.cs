using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

public class BinaryOpTests
{
    private static readonly int[][][] ShapePairs =
    [
        [[3, 4], [3, 4]],
        [[2, 3, 4, 5], [1, 3, 1, 1]],
        [[1], [7]],
        [[2, 1, 5], [3, 1]],
        [[45, 65], [65]],
    ];

    [TestCaseSource(nameof(Cases))]
    public void ForwardMatchesFloat64Loop(int[] sa, int[] sb, F.BinaryKind kind)
    {
        var rng = new Random(3);
        var a = Numeric.RandomFloat(rng, sa);
        var b = Numeric.RandomFloat(rng, sb);
        if (kind == F.BinaryKind.Div) b = F.Add(F.Mul(b, b), 0.5);
        var y = kind switch { F.BinaryKind.Add => F.Add(a, b), F.BinaryKind.Sub => F.Sub(a, b), F.BinaryKind.Mul => F.Mul(a, b), _ => F.Div(a, b) };
        var shape = ShapeUtil.Broadcast("test", sa, sb);
        var av = a.ToDoubleArray(); var bv = b.ToDoubleArray();
        var expected = new double[ShapeUtil.Numel(shape)];
        var idx = new int[shape.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            int rem = i;
            for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; }
            double x = av[Flat(idx, sa)], z = bv[Flat(idx, sb)];
            expected[i] = kind switch { F.BinaryKind.Add => x + z, F.BinaryKind.Sub => x - z, F.BinaryKind.Mul => x * z, _ => x / z };
        }
        Assert.That(y.Shape, Is.EqualTo(shape));
        Numeric.AssertClose(expected, y.ToDoubleArray(), 1e-6, 1e-6, kind.ToString());
    }

    [TestCaseSource(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(int[] sa, int[] sb, F.BinaryKind kind)
    {
        var rng = new Random(5);
        var a = Numeric.RandomDouble(rng, sa);
        var b = F.Add(F.Mul(Numeric.RandomDouble(rng, sb), 0.1), 2.0).Detach();
        Func<Tensor[], Tensor> f = kind switch
        {
            F.BinaryKind.Add => x => F.Add(x[0], x[1]),
            F.BinaryKind.Sub => x => F.Sub(x[0], x[1]),
            F.BinaryKind.Mul => x => F.Mul(x[0], x[1]),
            _ => x => F.Div(x[0], x[1]),
        };
        GradCheck.Check(f, [a, b]);
        if (kind is F.BinaryKind.Mul or F.BinaryKind.Div) GradCheck.CheckSecondOrder(f, [a, b]);
    }

    [Test]
    public void IncompatibleShapesNameTheOp()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.Add(Tensor.Zeros([2, 3]), Tensor.Zeros([4])));
        Assert.That(ex!.Message, Does.Contain("add").And.Contain("[2x3]").And.Contain("[4]"));
    }

    private static int Flat(int[] idx, int[] shape)
    {
        int off = idx.Length - shape.Length, flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + (shape[d] == 1 ? 0 : idx[d + off]);
        return flat;
    }

    private static IEnumerable<TestCaseData> Cases() =>
        from p in ShapePairs
        from k in Enum.GetValues<F.BinaryKind>()
        select new TestCaseData(p[0], p[1], k).SetArgDisplayNames(ShapeUtil.Format(p[0]), ShapeUtil.Format(p[1]), k.ToString());
}
