using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Mtan;

/// <summary>
/// The Dense baseline (<c>model_segnet_dense.py</c>): a shared SegNet built from stage blocks (two convs for stages 0-1, three for
/// 2-4) and one task SegNet per task whose encoder stages take cat(task pooled, shared pooled) and whose decoder stages take
/// cat(task unpooled, shared unpooled). The shared <c>decoder_block[0]</c> outputs <c>classCount</c> channels that nothing reads
/// (a quirk of the reference kept for identical parameters and batch-norm statistics). NYUv2: 123,743,995 parameters.
/// </summary>
public sealed class SegNetDense : MultiTaskNetwork
{
    /// <summary>Builds the network for <paramref name="filters"/> (5 widths).</summary>
    public SegNetDense(IReadOnlyList<MtanTask> tasks, int classCount, IReadOnlyList<int> filters) : base(tasks, classCount)
    {
        var f = filters;
        var encoder = new ModuleList<Sequential>([SegNetLayers.StageBlock(3, f[0], f[0], twoConvs: true)]);
        var decoder = new ModuleList<Sequential>([SegNetLayers.StageBlock(f[0], f[0], classCount, twoConvs: true)]);
        for (int i = 0; i < 4; i++)
        {
            encoder.Append(SegNetLayers.StageBlock(f[i], f[i + 1], f[i + 1], twoConvs: i == 0));
            decoder.Append(SegNetLayers.StageBlock(f[i + 1], f[i], f[i], twoConvs: i == 0));
        }
        var encoderT = new ModuleList<ModuleList<Sequential>>();
        var decoderT = new ModuleList<ModuleList<Sequential>>();
        for (int j = 0; j < tasks.Count; j++)
        {
            var enc = new ModuleList<Sequential>([SegNetLayers.StageBlock(3, f[0], f[0], twoConvs: true)]);
            var dec = new ModuleList<Sequential>([SegNetLayers.StageBlock(2 * f[0], 2 * f[0], f[0], twoConvs: true)]);
            for (int i = 0; i < 4; i++)
            {
                enc.Append(SegNetLayers.StageBlock(2 * f[i], f[i + 1], f[i + 1], twoConvs: i == 0));
                dec.Append(SegNetLayers.StageBlock(2 * f[i + 1], f[i], f[i], twoConvs: i == 0));
            }
            encoderT.Append(enc);
            decoderT.Append(dec);
        }
        EncoderBlock = RegisterModule("encoder_block", encoder);
        DecoderBlock = RegisterModule("decoder_block", decoder);
        EncoderBlockT = RegisterModule("encoder_block_t", encoderT);
        DecoderBlockT = RegisterModule("decoder_block_t", decoderT);
        var heads = new List<Sequential>();
        for (int j = 0; j < tasks.Count; j++)
            heads.Add(RegisterModule($"pred_task{j + 1}", SegNetLayers.PredLayer(f[0], MtanTasks.Channels(tasks[j], classCount))));
        Heads = heads;
        RegisterLogSigma();
    }

    /// <summary>Shared encoder stages.</summary>
    public ModuleList<Sequential> EncoderBlock { get; }

    /// <summary>Shared decoder stages (index = 4 − decoder step).</summary>
    public ModuleList<Sequential> DecoderBlock { get; }

    /// <summary>Per task, the encoder stages.</summary>
    public ModuleList<ModuleList<Sequential>> EncoderBlockT { get; }

    /// <summary>Per task, the decoder stages (index = 4 − decoder step).</summary>
    public ModuleList<ModuleList<Sequential>> DecoderBlockT { get; }

    /// <summary>The prediction heads, in task order.</summary>
    public IReadOnlyList<Sequential> Heads { get; }

    /// <inheritdoc />
    public override Tensor? LogSigma => GetParameter("logsigma");

    /// <inheritdoc />
    public override string TypeName => "SegNetDense";

    /// <inheritdoc />
    protected override MultiTaskOutput ForwardCore(Tensor input)
    {
        CheckInput(input);
        var pooled = new Tensor[5];
        var indices = new Tensor[5];
        for (int i = 0; i < 5; i++)
            (pooled[i], indices[i]) = F.MaxPool2dWithIndices(EncoderBlock[i].Forward(i == 0 ? input : pooled[i - 1]), 2, 2);
        var unpooled = new Tensor[5];
        Tensor previous = pooled[4];
        for (int i = 0; i < 5; i++)
        {
            unpooled[i] = SegNetBackbone.Unpool(previous, indices[4 - i]);
            previous = DecoderBlock[4 - i].Forward(unpooled[i]); // the last one (classCount channels) is unused, as in the reference
        }

        var predictions = new Tensor[Tasks.Count];
        var pooledT = new Tensor[5];
        var indicesT = new Tensor[5];
        for (int t = 0; t < Tasks.Count; t++)
        {
            for (int i = 0; i < 5; i++)
            {
                var x = i == 0 ? input : F.Cat([pooledT[i - 1], pooled[i - 1]], 1);
                (pooledT[i], indicesT[i]) = F.MaxPool2dWithIndices(EncoderBlockT[t][i].Forward(x), 2, 2);
            }
            Tensor decoded = pooledT[4];
            for (int i = 0; i < 5; i++)
            {
                var up = SegNetBackbone.Unpool(decoded, indicesT[4 - i]);
                decoded = DecoderBlockT[t][4 - i].Forward(F.Cat([up, unpooled[i]], 1));
            }
            predictions[t] = Activate(Tasks[t], Heads[t].Forward(decoded));
        }
        return new MultiTaskOutput(predictions, LogSigma);
    }
}
