using Astmt.Models.Astmt;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Small ASTMT configurations the model tests share, so they build in milliseconds and stay comparable.</summary>
internal static class TinyAstmt
{
    /// <summary>
    /// Semseg (4 classes), normals and edge on a one-block-per-stage SE-ResNet at an eighth of the width, with the
    /// discriminator. A new instance per call: tests may adjust it.
    /// </summary>
    public static AstmtConfig AdversarialThreeTasks() => new()
    {
        Tasks = [AstmtTask.Semseg(4), AstmtTask.Normals, AstmtTask.Edge],
        CustomBlocks = [1, 1, 1, 1],
        WidthDivisor = 8,
        Adversarial = true,
    };
}
