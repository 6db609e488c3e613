using Astmt.Engine;

namespace Astmt.Models.Mtan;

/// <summary>The single-task SegNet baseline (<c>model_segnet_single.py</c>): the shared SegNet and one head <c>pred_task</c>
/// chosen by the task; no attention and no logsigma. Semantic on NYUv2: 24,981,069 parameters.</summary>
public sealed class SegNetSingle : SegNetBackbone
{
    /// <summary>Builds the network for <paramref name="task"/>.</summary>
    public SegNetSingle(MtanTask task, int classCount, IReadOnlyList<int> filters)
        : base([task], classCount, filters, deep: false)
    {
        Head = RegisterModule("pred_task", SegNetLayers.PredLayer(filters[0], MtanTasks.Channels(task, classCount)));
    }

    /// <summary>The prediction head.</summary>
    public Engine.NN.Sequential Head { get; }

    /// <inheritdoc />
    public override string TypeName => "SegNetSingle";

    /// <inheritdoc />
    protected override MultiTaskOutput ForwardCore(Tensor input)
    {
        CheckInput(input);
        var s = RunShared(input);
        return new MultiTaskOutput([Activate(Tasks[0], Head.Forward(s.DecoderLast[4]))], null);
    }
}
