using Astmt.Engine.Diagnostics;
using Astmt.Engine.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Diagnostics;

/// <summary>The opt-in op profiler attributes recorded ops and backward nodes by name and count; it never asserts on times.</summary>
public class OpProfilerTests
{
    [Test]
    public void CountsEachRecordedOpAndBackwardNodeOnce()
    {
        bool saved = OpProfiler.Enabled;
        try
        {
            OpProfiler.Enabled = true;
            OpProfiler.Reset();
            var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
            x.RequiresGrad = true;
            OpProfiler.Mark();
            var loss = F.Sum(F.Mul(x, x));
            loss.Backward();
            var calls = OpProfiler.Snapshot().ToDictionary(e => e.Name, e => e.Calls);
            Assert.That(calls.GetValueOrDefault("mul"), Is.EqualTo(1), string.Join(", ", calls.Keys));
            Assert.That(calls.GetValueOrDefault("sum"), Is.EqualTo(1), string.Join(", ", calls.Keys));
            Assert.That(calls.GetValueOrDefault("backward:mul"), Is.EqualTo(1), string.Join(", ", calls.Keys));
            Assert.That(calls.GetValueOrDefault("backward:sum"), Is.EqualTo(1), string.Join(", ", calls.Keys));
            Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 2, 4, 6, 8 }).Within(1e-6));
        }
        finally
        {
            OpProfiler.Enabled = saved;
            OpProfiler.Reset();
        }
    }

    [Test]
    public void RecordsNothingWhenDisabled()
    {
        bool saved = OpProfiler.Enabled;
        try
        {
            OpProfiler.Enabled = false;
            OpProfiler.Reset();
            var x = Tensor.FromArray(new float[] { 1, 2 }, 2);
            x.RequiresGrad = true;
            F.Sum(F.Mul(x, x)).Backward();
            Assert.That(OpProfiler.Snapshot(), Is.Empty);
        }
        finally
        {
            OpProfiler.Enabled = saved;
        }
    }
}
