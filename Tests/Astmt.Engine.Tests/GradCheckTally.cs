using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

/// <summary>Prints how many finite-difference checks the run performed, so the number quoted in notes comes from a run.</summary>
[SetUpFixture]
public sealed class GradCheckTally
{
    [OneTimeTearDown]
    public void Report() =>
        TestContext.Progress.WriteLine(
            $"finite-difference checks run: {GradCheck.FirstOrderChecks} first-order, {GradCheck.SecondOrderChecks} second-order");
}
