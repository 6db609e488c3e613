using Astmt.Models.Synthetic;

namespace Astmt.Models.Astmt;

/// <summary>The datasets ASTMT is configured for (they fix the tasks, the discriminator kernel and the edge weight).</summary>
public enum AstmtDataset
{
    /// <summary>PASCAL-Context, five tasks: edge, semseg (21), human_parts (7), normals, sal; discriminator k=1; edge weight 0.95.</summary>
    PascalContext,
    /// <summary>NYUD, four tasks: edge, semseg (41), normals, depth; discriminator k=3; edge weight 0.8.</summary>
    Nyud,
    /// <summary>Our synthetic scenes with all six tasks (PASCAL's settings, plus depth).</summary>
    Synthetic,
}

/// <summary>The SE-ResNet depths.</summary>
public enum AstmtBackbone
{
    /// <summary>Bottlenecks [2,2,2,2] ("ResNet-26").</summary>
    R26,
    /// <summary>Bottlenecks [3,4,6,3].</summary>
    R50,
    /// <summary>Bottlenecks [3,4,23,3].</summary>
    R101,
}

/// <summary>
/// Everything that shapes an ASTMT network (spec §1, §5). The defaults are the paper's full model on PASCAL-Context with R-26:
/// output stride 16, decoder width 64, per-task encoder norms, SE in encoder and decoder, adapters, discriminator.
/// </summary>
public sealed record AstmtConfig
{
    /// <summary>The dataset the task set comes from.</summary>
    public AstmtDataset Dataset { get; init; } = AstmtDataset.PascalContext;

    /// <summary>The encoder depth.</summary>
    public AstmtBackbone Backbone { get; init; } = AstmtBackbone.R26;

    /// <summary>The tasks in the reference's order (which is also the discriminator's label order).</summary>
    public IReadOnlyList<AstmtTask> Tasks { get; init; } = TasksOf(AstmtDataset.PascalContext);

    /// <summary>Per-task SE in the encoder (<c>--se-encoder</c>); without it each bottleneck keeps one shared SE.</summary>
    public bool SeEncoder { get; init; } = true;

    /// <summary>Per-task SE and per-task norms in the decoder (<c>--se-decoder</c>); without it the decoder has no SE and shared norms.</summary>
    public bool SeDecoder { get; init; } = true;

    /// <summary>Residual adapters in encoder and decoder (<c>--adapters</c>).</summary>
    public bool Adapters { get; init; } = true;

    /// <summary>Builds the task discriminator for adversarial training (<c>--adversarial</c>).</summary>
    public bool Adversarial { get; init; } = true;

    /// <summary>One batch norm per task in the encoder (the reference's default, trained norms). False shares them, which together
    /// with no encoder SE and no adapters makes the encoder task-agnostic, so it runs once per image.</summary>
    public bool TaskEncoderNorm { get; init; } = true;

    /// <summary>Output stride: 16 (rates 6/12/18) or 8 (rates 12/24/36).</summary>
    public int OutputStride { get; init; } = 16;

    /// <summary>Decoder width w (64 in the paper; a multiple of 16, at least 32).</summary>
    public int DecoderWidth { get; init; } = 64;

    /// <summary>Divides the stem and stage widths (1 = the paper's; fixtures use 8).</summary>
    public int WidthDivisor { get; init; } = 1;

    /// <summary>Discriminator kernel k (1 on PASCAL, 3 on NYUD).</summary>
    public int DiscriminatorKernel { get; init; } = 1;

    /// <summary>Positive-class weight of the edge loss (0.95 PASCAL, 0.8 NYUD).</summary>
    public double EdgePositiveWeight { get; init; } = 0.95;

    /// <summary>Bottlenecks per stage when they differ from <see cref="Backbone"/>'s (small test networks, such as the golden
    /// fixture's [1,1,1,1]); null uses the backbone's.</summary>
    public IReadOnlyList<int>? CustomBlocks { get; init; }

    /// <summary>Bottlenecks per stage.</summary>
    public IReadOnlyList<int> Blocks => CustomBlocks ?? BlocksOf(Backbone);

    /// <summary>Channels of the stem conv (64 / <see cref="WidthDivisor"/>).</summary>
    public int StemWidth => 64 / WidthDivisor;

    /// <summary>Bottleneck widths of layer1..layer4 (64, 128, 256, 512 divided by <see cref="WidthDivisor"/>); outputs are 4× these.</summary>
    public IReadOnlyList<int> StagePlanes => [64 / WidthDivisor, 128 / WidthDivisor, 256 / WidthDivisor, 512 / WidthDivisor];

    /// <summary>Stride of each stage's first block (layer1..layer4): layer4 keeps the resolution at output stride 16, layer3 too at 8.</summary>
    public IReadOnlyList<int> StageStrides => OutputStride == 16 ? [1, 2, 2, 1] : [1, 2, 1, 1];

    /// <summary>Dilation of each stage's 3×3 convs (layer1..layer4), which replaces the strides dropped for the output stride.</summary>
    public IReadOnlyList<int> StageDilations => OutputStride == 16 ? [1, 1, 1, 2] : [1, 1, 2, 4];

    /// <summary>The ASPP dilation rates: 6/12/18 at output stride 16, 12/24/36 at 8.</summary>
    public IReadOnlyList<int> AsppRates => OutputStride == 16 ? [6, 12, 18] : [12, 24, 36];

    /// <summary>The task names in order.</summary>
    public IReadOnlyList<string> TaskNames => Tasks.Select(t => t.Name).ToArray();

    /// <summary>True when the encoder holds a task-specific module (norm, SE or adapter), so it must run once per task.</summary>
    public bool EncoderIsTaskSpecific => TaskEncoderNorm || SeEncoder || Adapters;

    /// <summary>The configuration of <paramref name="dataset"/> with <paramref name="backbone"/> and the given modulation flags.</summary>
    public static AstmtConfig For(AstmtDataset dataset, AstmtBackbone backbone, bool seEncoder, bool seDecoder, bool adapters, bool adversarial) => new()
    {
        Dataset = dataset,
        Backbone = backbone,
        Tasks = TasksOf(dataset),
        SeEncoder = seEncoder,
        SeDecoder = seDecoder,
        Adapters = adapters,
        Adversarial = adversarial,
        DiscriminatorKernel = dataset == AstmtDataset.Nyud ? 3 : 1,
        EdgePositiveWeight = dataset == AstmtDataset.Nyud ? 0.8 : 0.95,
    };

    /// <summary>The single-task network of <paramref name="task"/> (the baseline the Δm compares against): this configuration
    /// restricted to one task, with no discriminator.</summary>
    public AstmtConfig SingleTask(string task) => this with
    {
        Tasks = [Tasks.FirstOrDefault(t => t.Name == task) ?? throw new ArgumentException($"AstmtConfig: no task '{task}' in {string.Join(", ", TaskNames)}.")],
        Adversarial = false,
    };

    /// <summary>The reference's task list of <paramref name="dataset"/>, in its order.</summary>
    public static IReadOnlyList<AstmtTask> TasksOf(AstmtDataset dataset) => dataset switch
    {
        AstmtDataset.PascalContext => [AstmtTask.Edge, AstmtTask.Semseg(21), AstmtTask.HumanParts(), AstmtTask.Normals, AstmtTask.Saliency],
        AstmtDataset.Nyud => [AstmtTask.Edge, AstmtTask.Semseg(41), AstmtTask.Normals, AstmtTask.Depth],
        AstmtDataset.Synthetic => [AstmtTask.Edge, AstmtTask.Semseg(SceneClasses.Count), AstmtTask.HumanParts(SceneClasses.PartCount), AstmtTask.Normals,
            AstmtTask.Saliency, AstmtTask.Depth],
        _ => throw new ArgumentOutOfRangeException(nameof(dataset), dataset, "AstmtConfig: unknown dataset."),
    };

    /// <summary>Bottlenecks per stage of <paramref name="backbone"/>.</summary>
    public static IReadOnlyList<int> BlocksOf(AstmtBackbone backbone) => backbone switch
    {
        AstmtBackbone.R26 => [2, 2, 2, 2],
        AstmtBackbone.R50 => [3, 4, 6, 3],
        AstmtBackbone.R101 => [3, 4, 23, 3],
        _ => throw new ArgumentOutOfRangeException(nameof(backbone), backbone, "AstmtConfig: unknown backbone."),
    };

    /// <summary>Parses a model name: astmt-r26, astmt-r50, astmt-r101.</summary>
    public static AstmtBackbone ParseModel(string name) => name.ToLowerInvariant() switch
    {
        "astmt-r26" => AstmtBackbone.R26,
        "astmt-r50" => AstmtBackbone.R50,
        "astmt-r101" => AstmtBackbone.R101,
        _ => throw new ArgumentException($"ASTMT model '{name}' is unknown; expected astmt-r26, astmt-r50 or astmt-r101."),
    };

    /// <summary>Parses a dataset name: pascal-context, nyud, synthetic.</summary>
    public static AstmtDataset ParseDataset(string name) => name.ToLowerInvariant() switch
    {
        "pascal-context" or "pascal" => AstmtDataset.PascalContext,
        "nyud" => AstmtDataset.Nyud,
        "synthetic" => AstmtDataset.Synthetic,
        _ => throw new ArgumentException($"ASTMT dataset '{name}' is unknown; expected pascal-context, nyud or synthetic."),
    };

    /// <summary>Checks the values and throws naming the bad one.</summary>
    public void Validate()
    {
        if (Tasks.Count == 0) throw new ArgumentException("AstmtConfig: at least one task is needed.");
        if (Tasks.Select(t => t.Name).Distinct().Count() != Tasks.Count) throw new ArgumentException($"AstmtConfig: task names must be distinct, got {string.Join(", ", TaskNames)}.");
        if (OutputStride is not (8 or 16)) throw new ArgumentException($"AstmtConfig: output stride must be 8 or 16, got {OutputStride}.");
        if (DecoderWidth < 32 || DecoderWidth % 16 != 0)
            throw new ArgumentException($"AstmtConfig: decoder width must be a multiple of 16 from 32 (SE reduces it by 16, and the low-level path's 48·w/256 channels by 4), got {DecoderWidth}.");
        if (WidthDivisor < 1 || 64 % WidthDivisor != 0) throw new ArgumentException($"AstmtConfig: width divisor must divide 64, got {WidthDivisor}.");
        if (Blocks.Count != 4 || Blocks.Any(b => b < 1)) throw new ArgumentException($"AstmtConfig: four stages of at least one bottleneck are needed, got [{string.Join(",", Blocks)}].");
        if (DiscriminatorKernel < 1 || DiscriminatorKernel % 2 == 0) throw new ArgumentException($"AstmtConfig: discriminator kernel must be odd, got {DiscriminatorKernel}.");
    }
}
