namespace Astmt.Models.Astmt;

/// <summary>The kind of an ASTMT task, which fixes its loss and post-processing (spec §1.6, §3.3).</summary>
public enum AstmtTaskKind
{
    /// <summary>Edge detection: 1 logit, balanced BCE.</summary>
    Edge,
    /// <summary>Semantic segmentation: class logits, cross-entropy ignoring 255.</summary>
    Semseg,
    /// <summary>Human parts: 7 logits, cross-entropy ignoring 255.</summary>
    HumanParts,
    /// <summary>Surface normals: 3 channels, L1 on the L2-normalised output.</summary>
    Normals,
    /// <summary>Saliency: 1 logit, balanced BCE with batch-computed weights.</summary>
    Saliency,
    /// <summary>Depth: 1 channel, L1 plus Sobel-gradient L1.</summary>
    Depth,
}

/// <summary>One task of an ASTMT network: its reference name (the ModuleDict key), kind, head width and loss weight (LOSS_MULT).</summary>
/// <param name="Name">The reference's task name: edge, semseg, human_parts, normals, sal, depth.</param>
/// <param name="Kind">What the task predicts.</param>
/// <param name="OutChannels">Channels of its head.</param>
/// <param name="LossWeight">The multiplier of its loss.</param>
public sealed record AstmtTask(string Name, AstmtTaskKind Kind, int OutChannels, double LossWeight)
{
    /// <summary>Edge detection with weight 50.</summary>
    public static AstmtTask Edge => new("edge", AstmtTaskKind.Edge, 1, 50);

    /// <summary>Semantic segmentation over <paramref name="classes"/> classes, weight 1.</summary>
    public static AstmtTask Semseg(int classes) => new("semseg", AstmtTaskKind.Semseg, classes, 1);

    /// <summary>Human parts (background + 6 parts), weight 2.</summary>
    public static AstmtTask HumanParts(int classes = 7) => new("human_parts", AstmtTaskKind.HumanParts, classes, 2);

    /// <summary>Surface normals, weight 10.</summary>
    public static AstmtTask Normals => new("normals", AstmtTaskKind.Normals, 3, 10);

    /// <summary>Saliency, weight 5.</summary>
    public static AstmtTask Saliency => new("sal", AstmtTaskKind.Saliency, 1, 5);

    /// <summary>Depth, weight 1.</summary>
    public static AstmtTask Depth => new("depth", AstmtTaskKind.Depth, 1, 1);
}
