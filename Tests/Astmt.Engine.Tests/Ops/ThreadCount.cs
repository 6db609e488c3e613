using Astmt.Engine.Cpu;

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
}
