using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Mtan;

/// <summary>
/// SegNet-MTAN (spec §1, <c>im2im_pred/model_segnet_mtan.py</c>): the shared SegNet plus, per task, an encoder and a decoder
/// attention net whose soft masks gate the shared features; the attention feature convs (<c>encoder_block_att</c>,
/// <c>decoder_block_att</c>) are shared across tasks. With one task and no logsigma it is STAN (<c>model_segnet_stan.py</c>).
/// </summary>
/// <remarks>NYUv2 (13 classes, 3 tasks): 44,229,076 parameters; CityScapes (7 classes, 2 tasks): 41,206,986.</remarks>
public sealed class MtanSegNet : SegNetBackbone
{
    private readonly bool _singleTask;

    /// <summary>Builds the network. <paramref name="singleTask"/> gives STAN's naming: one head <c>pred_task</c> and no logsigma.</summary>
    public MtanSegNet(IReadOnlyList<MtanTask> tasks, int classCount, IReadOnlyList<int> filters, bool singleTask = false)
        : base(tasks, classCount, filters, deep: false)
    {
        if (singleTask && tasks.Count != 1) throw new ArgumentException($"STAN has exactly one task; got {tasks.Count}.");
        _singleTask = singleTask;
        var f = filters;
        int t = tasks.Count;
        var encoderAtt = new ModuleList<ModuleList<Sequential>>();
        var decoderAtt = new ModuleList<ModuleList<Sequential>>();
        for (int j = 0; j < t; j++)
        {
            var enc = new ModuleList<Sequential>([SegNetLayers.AttLayer(f[0], f[0], f[0])]);
            var dec = new ModuleList<Sequential>([SegNetLayers.AttLayer(2 * f[0], f[0], f[0])]);
            for (int i = 0; i < 4; i++)
            {
                enc.Append(SegNetLayers.AttLayer(2 * f[i + 1], f[i + 1], f[i + 1]));
                dec.Append(SegNetLayers.AttLayer(f[i + 1] + f[i], f[i], f[i]));
            }
            encoderAtt.Append(enc);
            decoderAtt.Append(dec);
        }
        var encoderBlockAtt = new ModuleList<Sequential>([SegNetLayers.ConvLayer(f[0], f[1])]);
        var decoderBlockAtt = new ModuleList<Sequential>([SegNetLayers.ConvLayer(f[0], f[0])]);
        for (int i = 0; i < 4; i++)
        {
            if (i < 3)
            {
                encoderBlockAtt.Append(SegNetLayers.ConvLayer(f[i + 1], f[i + 2]));
                decoderBlockAtt.Append(SegNetLayers.ConvLayer(f[i + 1], f[i]));
            }
            else
            {
                encoderBlockAtt.Append(SegNetLayers.ConvLayer(f[i + 1], f[i + 1]));
                decoderBlockAtt.Append(SegNetLayers.ConvLayer(f[i + 1], f[i + 1]));
            }
        }
        EncoderAtt = RegisterModule("encoder_att", encoderAtt);
        DecoderAtt = RegisterModule("decoder_att", decoderAtt);
        EncoderBlockAtt = RegisterModule("encoder_block_att", encoderBlockAtt);
        DecoderBlockAtt = RegisterModule("decoder_block_att", decoderBlockAtt);
        var heads = new List<Sequential>();
        for (int j = 0; j < t; j++)
            heads.Add(RegisterModule(singleTask ? "pred_task" : $"pred_task{j + 1}", SegNetLayers.PredLayer(f[0], MtanTasks.Channels(tasks[j], classCount))));
        Heads = heads;
        if (!singleTask) RegisterLogSigma();
    }

    /// <summary>Per task, the five encoder attention mask nets.</summary>
    public ModuleList<ModuleList<Sequential>> EncoderAtt { get; }

    /// <summary>Per task, the five decoder attention mask nets (index = 4 − decoder step).</summary>
    public ModuleList<ModuleList<Sequential>> DecoderAtt { get; }

    /// <summary>Shared conv after each encoder attention gate.</summary>
    public ModuleList<Sequential> EncoderBlockAtt { get; }

    /// <summary>Shared conv after each decoder attention upsampling (index = 4 − decoder step).</summary>
    public ModuleList<Sequential> DecoderBlockAtt { get; }

    /// <summary>The prediction heads, in task order.</summary>
    public IReadOnlyList<Sequential> Heads { get; }

    /// <inheritdoc />
    public override Tensor? LogSigma => _singleTask ? null : GetParameter("logsigma");

    /// <inheritdoc />
    public override string TypeName => _singleTask ? "SegNetSTAN" : "SegNetMTAN";

    /// <inheritdoc />
    protected override MultiTaskOutput ForwardCore(Tensor input)
    {
        CheckInput(input);
        var s = RunShared(input, keepAttentionInputs: true);
        var predictions = new Tensor[Tasks.Count];
        var enc = new Tensor[5];
        var dec = new Tensor[5];
        // In a no-grad forward each ReleaseIntermediate frees a tensor after its last reader (PyTorch frees it when its last
        // reference dies), so only the shared features and one task's working set are live at once; with grad mode on they are
        // saved activations and the calls do nothing.
        for (int t = 0; t < Tasks.Count; t++)
        {
            // Pitfall 1: the mask comes from the stage's first conv (plus the previous attention feature, shared first) and
            // gates the stage's last conv.
            for (int j = 0; j < 5; j++)
            {
                var maskInput = j == 0 ? s.EncoderFirst[0] : F.Cat([s.EncoderFirst[j], enc[j - 1]], 1);
                if (j > 0) InferenceScope.ReleaseIntermediate(enc[j - 1]);
                var gated = SegNetLayers.Gate(EncoderAtt[t][j], maskInput, s.EncoderLast[j]);
                if (j > 0) InferenceScope.ReleaseIntermediate(maskInput);
                var features = EncoderBlockAtt[j].Forward(gated);
                InferenceScope.ReleaseIntermediate(gated);
                enc[j] = F.MaxPool2d(features, 2, 2);
                InferenceScope.ReleaseIntermediate(features);
            }
            for (int j = 0; j < 5; j++)
            {
                var previous = j == 0 ? enc[4] : dec[j - 1];
                var up = F.Interpolate(previous, 2.0, ResizeMode.Bilinear, alignCorners: true);
                InferenceScope.ReleaseIntermediate(previous);
                var features = DecoderBlockAtt[4 - j].Forward(up);
                InferenceScope.ReleaseIntermediate(up);
                var maskInput = F.Cat([s.Unpooled[j], features], 1);
                InferenceScope.ReleaseIntermediate(features);
                dec[j] = SegNetLayers.Gate(DecoderAtt[t][4 - j], maskInput, s.DecoderLast[j]);
                InferenceScope.ReleaseIntermediate(maskInput);
            }
            var raw = Heads[t].Forward(dec[4]);
            InferenceScope.ReleaseIntermediate(dec[4]);
            predictions[t] = Activate(Tasks[t], raw);
            if (!ReferenceEquals(raw, predictions[t])) InferenceScope.ReleaseIntermediate(raw);
        }
        return new MultiTaskOutput(predictions, LogSigma);
    }
}
