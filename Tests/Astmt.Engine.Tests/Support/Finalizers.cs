namespace Astmt.Engine.Tests.Support;

/// <summary>Lets tensors dropped by earlier code come back to the pool before a test counts what is rented.</summary>
internal static class Finalizers
{
    /// <summary>One full collection and the finalizers it queued: dropped tensors return their arrays to the pool.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
