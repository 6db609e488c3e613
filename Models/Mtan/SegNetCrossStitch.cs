using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Mtan;

/// <summary>
/// The Cross-stitch baseline (<c>model_segnet_cross.py</c>): one SegNet per task (stage blocks of two convs for stages 0-1, three
/// for 2-4) mixed by cross-stitch units <c>cs_unit_encoder</c> [4,tasks] and <c>cs_unit_decoder</c> [5,tasks], initialised to ones.
/// As in the reference, a stage receives Σ_k α[stage][k]·feature_k, the same mixture for every target task; each task unpools
/// with its own indices. NYUv2: 74,941,807 parameters.
/// </summary>
public sealed class SegNetCrossStitch : MultiTaskNetwork
{
    /// <summary>Builds the network for <paramref name="filters"/> (5 widths).</summary>
    public SegNetCrossStitch(IReadOnlyList<MtanTask> tasks, int classCount, IReadOnlyList<int> filters) : base(tasks, classCount)
    {
        var f = filters;
        var encoderT = new ModuleList<ModuleList<Sequential>>();
        var decoderT = new ModuleList<ModuleList<Sequential>>();
        for (int j = 0; j < tasks.Count; j++)
        {
            var enc = new ModuleList<Sequential>([SegNetLayers.StageBlock(3, f[0], f[0], twoConvs: true)]);
            var dec = new ModuleList<Sequential>([SegNetLayers.StageBlock(f[0], f[0], f[0], twoConvs: true)]);
            for (int i = 0; i < 4; i++)
            {
                enc.Append(SegNetLayers.StageBlock(f[i], f[i + 1], f[i + 1], twoConvs: i == 0));
                dec.Append(SegNetLayers.StageBlock(f[i + 1], f[i], f[i], twoConvs: i == 0));
            }
            encoderT.Append(enc);
            decoderT.Append(dec);
        }
        EncoderBlockT = RegisterModule("encoder_block_t", encoderT);
        DecoderBlockT = RegisterModule("decoder_block_t", decoderT);
        RegisterParameter("cs_unit_encoder", Tensor.Ones([4, tasks.Count]));
        RegisterParameter("cs_unit_decoder", Tensor.Ones([5, tasks.Count]));
        var heads = new List<Sequential>();
        for (int j = 0; j < tasks.Count; j++)
            heads.Add(RegisterModule($"pred_task{j + 1}", SegNetLayers.PredLayer(f[0], MtanTasks.Channels(tasks[j], classCount))));
        Heads = heads;
        RegisterLogSigma();
    }

    /// <summary>Per task, the encoder stages.</summary>
    public ModuleList<ModuleList<Sequential>> EncoderBlockT { get; }

    /// <summary>Per task, the decoder stages (index = 4 − decoder step).</summary>
    public ModuleList<ModuleList<Sequential>> DecoderBlockT { get; }

    /// <summary>Encoder cross-stitch weights [4,tasks].</summary>
    public Tensor CsUnitEncoder => GetParameter("cs_unit_encoder")!;

    /// <summary>Decoder cross-stitch weights [5,tasks].</summary>
    public Tensor CsUnitDecoder => GetParameter("cs_unit_decoder")!;

    /// <summary>The prediction heads, in task order.</summary>
    public IReadOnlyList<Sequential> Heads { get; }

    /// <inheritdoc />
    public override Tensor? LogSigma => GetParameter("logsigma");

    /// <inheritdoc />
    public override string TypeName => "SegNetCrossStitch";

    /// <inheritdoc />
    protected override MultiTaskOutput ForwardCore(Tensor input)
    {
        CheckInput(input);
        int tasks = Tasks.Count;
        var pooled = new Tensor[tasks][];
        var indices = new Tensor[tasks][];
        for (int t = 0; t < tasks; t++) { pooled[t] = new Tensor[5]; indices[t] = new Tensor[5]; }
        for (int i = 0; i < 5; i++)
        {
            var mixed = i == 0 ? input : Mix(CsUnitEncoder, i - 1, t => pooled[t][i - 1]);
            for (int t = 0; t < tasks; t++)
                (pooled[t][i], indices[t][i]) = F.MaxPool2dWithIndices(EncoderBlockT[t][i].Forward(mixed), 2, 2);
        }
        var decoded = new Tensor[tasks];
        for (int i = 0; i < 5; i++)
        {
            var mixed = i == 0 ? Mix(CsUnitDecoder, 0, t => pooled[t][4]) : Mix(CsUnitDecoder, i, t => decoded[t]);
            for (int t = 0; t < tasks; t++)
                decoded[t] = DecoderBlockT[t][4 - i].Forward(SegNetBackbone.Unpool(mixed, indices[t][4 - i]));
        }
        var predictions = new Tensor[tasks];
        for (int t = 0; t < tasks; t++) predictions[t] = Activate(Tasks[t], Heads[t].Forward(decoded[t]));
        return new MultiTaskOutput(predictions, LogSigma);
    }

    /// <summary>Σ_k α[row][k]·feature(k), with each α a differentiable [1,1,1,1] slice of the cross-stitch parameter.</summary>
    private Tensor Mix(Tensor alpha, int row, Func<int, Tensor> feature)
    {
        var r = F.Narrow(alpha, 0, row, 1);
        Tensor? sum = null;
        for (int k = 0; k < Tasks.Count; k++)
        {
            var term = F.Mul(feature(k), F.Reshape(F.Narrow(r, 1, k, 1), 1, 1, 1, 1));
            sum = sum == null ? term : F.Add(sum, term);
        }
        return sum!;
    }
}
