using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Models.Tests;

/// <summary>The pool accounting the models' no-grad inference tests share: what a forward leaves rented.</summary>
internal static class InferenceMemory
{
    /// <summary>
    /// Under no-grad: runs <paramref name="forward"/> once to fill the pool, then again, and asserts that exactly
    /// <paramref name="outputBytes"/> of the output are rented more than before; runs <paramref name="check"/> on the output,
    /// disposes it and asserts the pool is back where it was with nothing left owned by the inference scope.
    /// </summary>
    public static void AssertOnlyTheOutputsStayRented<TOutput>(Func<TOutput> forward, Func<TOutput, long> outputBytes, Action<TOutput> check, Action<TOutput> dispose)
    {
        using (AG.NoGrad())
        {
            dispose(forward()); // fills the pool
            Settle();
            long rented = BufferPool.RentedBytes;
            var output = forward();
            Assert.That(BufferPool.RentedBytes - rented, Is.EqualTo(outputBytes(output)), "after the forward only its outputs are rented");
            check(output);
            dispose(output);
            Assert.That(BufferPool.RentedBytes, Is.EqualTo(rented));
            Assert.That(InferenceScope.OwnedCount, Is.Zero);
        }
    }

    /// <summary>Earlier tests' dropped tensors return through the finalizer; lets that happen before rented bytes are counted.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
