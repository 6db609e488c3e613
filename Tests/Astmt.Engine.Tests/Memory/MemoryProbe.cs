using Astmt.Engine.Memory;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>One reading of every memory counter a leak would move, taken after a full collection so finalizers have run.</summary>
internal readonly record struct MemoryProbe(long ArraysCreated, long RentedBytes, long PooledBytes, long ManagedBytes, long ResidentBytes, int ArenaTensors)
{
    public static MemoryProbe Take()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return new MemoryProbe(BufferPool.ArraysCreated, BufferPool.RentedBytes, BufferPool.PooledBytes, GC.GetTotalMemory(forceFullCollection: true),
            Environment.WorkingSet, Autograd.Autograd.ArenaTensorCount);
    }

    public override string ToString() =>
        $"arrays created {ArraysCreated}, rented {RentedBytes / 1024} KiB, pooled {PooledBytes / 1024} KiB, managed {ManagedBytes / 1024} KiB, " +
        $"RSS {ResidentBytes >> 20} MiB, arena {ArenaTensors}";
}
