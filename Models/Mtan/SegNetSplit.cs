using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Models.Mtan;

/// <summary>The Split (hard parameter sharing) baseline: the shared SegNet with one head per task on the last decoder feature, plus logsigma.</summary>
public sealed class SegNetSplit : SegNetBackbone
{
    /// <summary>Builds the network; <paramref name="filters"/> already reflect the type (wide has 1024 in the last stage).</summary>
    public SegNetSplit(IReadOnlyList<MtanTask> tasks, int classCount, IReadOnlyList<int> filters, SplitType type)
        : base(tasks, classCount, filters, deep: type == SplitType.Deep)
    {
        Type = type;
        var heads = new List<Sequential>();
        for (int j = 0; j < tasks.Count; j++)
            heads.Add(RegisterModule($"pred_task{j + 1}", SegNetLayers.PredLayer(filters[0], MtanTasks.Channels(tasks[j], classCount))));
        Heads = heads;
        RegisterLogSigma();
    }

    /// <summary>The variant.</summary>
    public SplitType Type { get; }

    /// <summary>The prediction heads, in task order.</summary>
    public IReadOnlyList<Sequential> Heads { get; }

    /// <inheritdoc />
    public override Tensor? LogSigma => GetParameter("logsigma");

    /// <inheritdoc />
    public override string TypeName => "SegNetSplit";

    /// <inheritdoc />
    protected override MultiTaskOutput ForwardCore(Tensor input)
    {
        CheckInput(input);
        var feature = RunShared(input).DecoderLast[4];
        var predictions = new Tensor[Tasks.Count];
        for (int t = 0; t < Tasks.Count; t++) predictions[t] = Activate(Tasks[t], Heads[t].Forward(feature));
        return new MultiTaskOutput(predictions, LogSigma);
    }
}
