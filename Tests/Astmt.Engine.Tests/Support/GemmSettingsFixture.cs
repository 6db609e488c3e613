using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

/// <summary>
/// Base of fixtures that force a GEMM microkernel, a thread count or a blocking: each test starts from the process's
/// settings and gets them back afterwards, so one fixture's forced kernel never leaks into another's.
/// </summary>
public abstract class GemmSettingsFixture
{
    private GemmKernel _savedKernel;
    private int _savedThreads;

    [SetUp]
    public void SaveGemmSettings()
    {
        _savedKernel = Gemm.Kernel;
        _savedThreads = Parallelism.Threads;
    }

    [TearDown]
    public void RestoreGemmSettings()
    {
        Gemm.Kernel = _savedKernel;
        Parallelism.Threads = _savedThreads;
        GemmBlocking.Forced = null;
    }
}
