using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>The encoder's two outputs the decoder needs.</summary>
/// <param name="Low">layer1 output [B,4·planes₁,H/4,W/4].</param>
/// <param name="High">layer4 output [B,4·planes₄,H/OS,W/OS].</param>
public readonly record struct EncoderOutput(Tensor Low, Tensor High);

/// <summary>One task's forward result.</summary>
/// <param name="Prediction">The head's output resized bilinearly to the input size [B,n_out,H,W] (raw logits / values).</param>
/// <param name="Features">The decoder's last features (conv_process after its SE), which the discriminator's gradient is taken at.</param>
public readonly record struct AstmtOutput(Tensor Prediction, Tensor Features);

/// <summary>
/// ASTMT (Maninis et al., CVPR 2019; spec §1): a dilated SE-ResNet encoder with per-task batch norms (stem shared), task-specific
/// SE and residual adapters, a DeepLab-v3+ decoder of width 64 with per-task heads, and an optional task discriminator. The network
/// is single-tasking: <see cref="Forward"/> runs one task, selecting its modules by name. Module names and registration order are
/// the reference's, so state-dict keys (<c>layer1.0.bn1.edge.weight</c>, <c>decoder.conv_predict.normals.weight</c>,
/// <c>discriminator.model.0.weight</c>) match its checkpoints.
/// </summary>
public sealed class AstmtNetwork : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly TaskSequential[] _layers = new TaskSequential[4];
    private readonly AstmtDecoder _decoder;
    private readonly AstmtDiscriminator? _discriminator;

    /// <summary>Builds the network of <paramref name="config"/> and initialises it as the reference does (conv N(0, 0.01), BN 1/0,
    /// Linear Kaiming normal with zero bias, heads' biases PyTorch's default, adapters zero), drawing from a generator seeded with
    /// <paramref name="seed"/>. With <paramref name="initialize"/> false the weights are left unset (for counting or loading).</summary>
    public AstmtNetwork(AstmtConfig config, ulong seed = 0, bool initialize = true)
    {
        config.Validate();
        Config = config;
        var tasks = config.TaskNames;
        int stem = config.StemWidth;
        var planes = config.StagePlanes;
        var rates = config.AsppRates;

        using (Init.Skip())
        {
            _conv1 = RegisterModule("conv1", new Conv2d(3, stem, 7, 2, 3, bias: false));
            _bn1 = RegisterModule("bn1", new BatchNorm2d(stem));
            int inPlanes = stem;
            for (int i = 0; i < 4; i++)
            {
                _layers[i] = RegisterModule($"layer{i + 1}", Stage(tasks, ref inPlanes, planes[i], config.Blocks[i], config.StageStrides[i], config.StageDilations[i]));
            }
            _decoder = RegisterModule("decoder", new AstmtDecoder(tasks, config.Tasks.ToDictionary(t => t.Name, t => t.OutChannels),
                planes[0] * SEBottleneck.Expansion, planes[3] * SEBottleneck.Expansion, config.DecoderWidth, rates,
                normPerTask: config.SeDecoder, squeeze: config.SeDecoder, adapters: config.Adapters));
            if (config.Adversarial)
                _discriminator = RegisterModule("discriminator", new AstmtDiscriminator(config.DecoderWidth, tasks.Count, config.DiscriminatorKernel));
        }
        if (initialize) AstmtInit.Apply(this, new Generator(seed));
    }

    private TaskSequential Stage(IReadOnlyList<string> tasks, ref int inPlanes, int planes, int blocks, int stride, int dilation)
    {
        var c = Config;
        Downsample? down = null;
        if (SEBottleneck.NeedsProjection(inPlanes, planes, stride, dilation))
            down = new Downsample(inPlanes, planes * SEBottleneck.Expansion, stride, c.TaskEncoderNorm ? tasks : null);
        var list = new List<TaskModule> { new SEBottleneck(tasks, inPlanes, planes, stride, dilation, down, c.TaskEncoderNorm, c.SeEncoder, c.Adapters) };
        inPlanes = planes * SEBottleneck.Expansion;
        for (int i = 1; i < blocks; i++)
            list.Add(new SEBottleneck(tasks, inPlanes, planes, 1, dilation, null, c.TaskEncoderNorm, c.SeEncoder, c.Adapters));
        return new TaskSequential(list);
    }

    /// <summary>The configuration the network was built from.</summary>
    public AstmtConfig Config { get; }

    /// <summary>The ASPP dilation rates (6/12/18 at output stride 16, 12/24/36 at 8).</summary>
    public IReadOnlyList<int> Rates => Config.AsppRates;

    /// <summary>The task names, in order.</summary>
    public IReadOnlyList<string> Tasks => Config.TaskNames;

    /// <summary>The encoder stages layer1..layer4.</summary>
    public IReadOnlyList<TaskSequential> Layers => _layers;

    /// <summary>The decoder.</summary>
    public AstmtDecoder Decoder => _decoder;

    /// <summary>The discriminator, or null when the configuration is not adversarial.</summary>
    public AstmtDiscriminator? Discriminator => _discriminator;

    /// <summary>The index of <paramref name="task"/> (its discriminator label).</summary>
    public int TaskIndex(string task)
    {
        var names = Config.TaskNames;
        for (int i = 0; i < names.Count; i++) if (names[i] == task) return i;
        throw new ArgumentException($"AstmtNetwork: unknown task '{task}'; this network has {string.Join(", ", names)}.");
    }

    /// <summary>Runs the encoder for <paramref name="task"/> on an RGB batch [B,3,H,W].</summary>
    public EncoderOutput Encode(Tensor x, string task) =>
        InferenceScope.Run((Network: this, x, task), static s => s.Network.EncodeCore(s.x, s.task));

    private EncoderOutput EncodeCore(Tensor x, string task)
    {
        if (x.Rank != 4 || x.Shape[1] != 3) throw new ArgumentException($"AstmtNetwork: expected an RGB batch [B,3,H,W], got {x.Describe()}.");
        TaskIndex(task);
        var y = F.MaxPool2d(TaskNorm.ApplyRelu(_bn1, _conv1.Forward(x), task), 3, 2, 1);
        var low = _layers[0].Forward(y, task);
        var high = _layers[3].Forward(_layers[2].Forward(_layers[1].Forward(low, task), task), task);
        return new EncoderOutput(low, high);
    }

    /// <summary>Runs the decoder of <paramref name="task"/> on encoder outputs and resizes the head's output to
    /// <paramref name="height"/>×<paramref name="width"/> (bilinear, align_corners false).</summary>
    public AstmtOutput Decode(EncoderOutput encoded, string task, int height, int width) =>
        InferenceScope.Run((Network: this, encoded, task, height, width), static s => s.Network.DecodeCore(s.encoded, s.task, s.height, s.width));

    private AstmtOutput DecodeCore(EncoderOutput encoded, string task, int height, int width)
    {
        var d = _decoder.Forward(encoded.Low, encoded.High, task);
        return new AstmtOutput(F.Interpolate(d.Logits, height, width, ResizeMode.Bilinear, alignCorners: false), d.Features);
    }

    /// <summary>One task's forward pass: encoder and decoder with that task's modules.</summary>
    /// <remarks>With grad mode off, each call is one <see cref="InferenceScope"/>: only the returned output outlives it.</remarks>
    public AstmtOutput Forward(Tensor x, string task) =>
        InferenceScope.Run((Network: this, x, task), static s => s.Network.Decode(s.Network.Encode(s.x, s.task), s.task, s.x.Shape[2], s.x.Shape[3]));

    /// <summary>
    /// Every task of <paramref name="tasks"/> (all by default) on the same batch. When the encoder holds nothing task-specific
    /// (<see cref="AstmtConfig.EncoderIsTaskSpecific"/> false) it runs once and only the decoder runs per task; otherwise the
    /// network runs once per task, as the reference's inference loop does.
    /// </summary>
    /// <remarks>With grad mode off, each call is one <see cref="InferenceScope"/>: only the returned outputs outlive it.</remarks>
    public IReadOnlyDictionary<string, AstmtOutput> ForwardTasks(Tensor x, IReadOnlyList<string>? tasks = null) =>
        InferenceScope.Run((Network: this, x, tasks), static s => s.Network.ForwardTasksCore(s.x, s.tasks));

    private Dictionary<string, AstmtOutput> ForwardTasksCore(Tensor x, IReadOnlyList<string>? tasks)
    {
        tasks ??= Tasks;
        var result = new Dictionary<string, AstmtOutput>();
        if (tasks.Count == 0) return result;
        EncoderOutput? shared = Config.EncoderIsTaskSpecific ? null : Encode(x, tasks[0]);
        foreach (var task in tasks)
            result[task] = Decode(shared ?? Encode(x, task), task, x.Shape[2], x.Shape[3]);
        return result;
    }

    /// <inheritdoc />
    public override string TypeName => "ResNet";
}
