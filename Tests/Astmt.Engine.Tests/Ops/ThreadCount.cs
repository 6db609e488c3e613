using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Runs code with <see cref="Parallelism.Threads"/> set, restoring the previous count.</summary>
internal static class ThreadCount
{
    public static T With<T>(int threads, Func<T> body)
    {
        int previous = Parallelism.Threads;
        Parallelism.Threads = threads;
        try { return body(); }
        finally { Parallelism.Threads = previous; }
    }

    /// <summary>Runs <paramref name="run"/> on one thread and on two and asserts that every result is bitwise the same.</summary>
    public static void AssertSameOnOneAndTwoThreads(Func<double[][]> run)
    {
        var one = With(1, run);
        var two = With(2, run);
        for (int i = 0; i < one.Length; i++) Assert.That(two[i], Is.EqualTo(one[i]), $"result {i} differs between 1 and 2 threads");
    }
}
