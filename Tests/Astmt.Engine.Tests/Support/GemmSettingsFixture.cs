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

    /// <summary>Every supported microkernel × every shape × default or small (forced) blocks, as (kernel, shape, small)
    /// test cases named after all three.</summary>
    protected static IEnumerable<TestCaseData> KernelShapeBlockCases<TShape>(IEnumerable<TShape> shapes) where TShape : notnull
    {
        foreach (var kernel in Gemm.SupportedKernels())
        foreach (var shape in shapes)
        foreach (bool small in new[] { false, true })
            yield return new TestCaseData(kernel, shape, small).SetArgDisplayNames(kernel.ToString(), shape.ToString()!, small ? "small blocks" : "default blocks");
    }

    [TearDown]
    public void RestoreGemmSettings()
    {
        Gemm.Kernel = _savedKernel;
        Parallelism.Threads = _savedThreads;
        GemmBlocking.Forced = null;
    }
}
