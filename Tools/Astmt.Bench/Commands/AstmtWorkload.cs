using System.Globalization;
using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Optim;
using Astmt.Models.Astmt;

namespace Astmt.Bench.Commands;

/// <summary>
/// ASTMT (SE encoder and decoder, residual adapters, discriminator) on the synthetic task set (edge, semseg, human parts,
/// normals, saliency, depth). A training step is one iteration of <see cref="AstmtTraining.TrainStep"/> in per-task mode: for each
/// task the forward pass, the weighted task loss, the create-graph gradient at the decoder features, the discriminator through
/// gradient reversal (alpha 0.5), backward, and an SGD step (one group, lr 1e-3, momentum 0.9, weight decay 1e-4, as the
/// reference script builds it). The eval forward runs every task.
/// </summary>
internal sealed class AstmtWorkload : IModelWorkload
{
    public static readonly IReadOnlyList<string> Names = ["astmt-r26", "astmt-r50", "astmt-r101"];
    private const double Alpha = 0.5;
    private readonly AstmtNetwork _network;
    private readonly Sgd _optimizer;
    private readonly Tensor _images;
    private readonly Dictionary<string, Tensor> _truths = new(StringComparer.Ordinal);

    public AstmtWorkload(string model, int batch, int height, int width, Device device)
    {
        Model = model;
        var config = AstmtConfig.For(AstmtDataset.Synthetic, AstmtConfig.ParseModel(model), seEncoder: true, seDecoder: true, adapters: true, adversarial: true);
        _network = new AstmtNetwork(config);
        _network.To(device); // before the optimizer: it binds the (moved) parameters and keeps its momentum on their device
        var trainable = _network.Parameters().Where(p => p.RequiresGrad).ToArray();
        Parameters = trainable.Sum(p => (long)p.Numel);
        _optimizer = new Sgd(trainable, 1e-3, momentum: 0.9, weightDecay: 1e-4);
        var rng = new Random(0);
        _images = ModelWorkloads.Uniform(rng, 0, 255, batch, 3, height, width).To(device);
        var spec = new List<string>();
        foreach (var task in config.Tasks)
        {
            string kind = task.Kind switch
            {
                AstmtTaskKind.Edge => "edge",
                AstmtTaskKind.Saliency => "sal",
                AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => "ce",
                AstmtTaskKind.Normals => "normals",
                _ => "depth",
            };
            _truths[task.Name] = kind switch
            {
                "edge" or "sal" => Binary(rng, batch, height, width),
                "ce" => ModelWorkloads.Labels(rng, task.OutChannels, batch, 1, height, width).To(DType.Float32),
                "normals" => ModelWorkloads.UnitNormals(rng, batch, height, width),
                _ => ModelWorkloads.Uniform(rng, 0.5, 1.5, batch, 1, height, width),
            };
            spec.Add(string.Create(CultureInfo.InvariantCulture, $"{task.Name}:{task.OutChannels}:{task.LossWeight}:{kind}"));
        }
        foreach (var name in _truths.Keys.ToArray()) _truths[name] = _truths[name].To(device);
        TaskSpec = string.Join(",", spec);
        ForwardMacsPerBatch = AstmtComplexity.Measure(config, height, width).MacsPerImage * batch;
    }

    public string Model { get; }

    public long Parameters { get; }

    public long ForwardMacsPerBatch { get; }

    /// <summary>The tasks as the reference script's <c>--astmt-tasks</c> reads them (name:outputs:weight:kind).</summary>
    public string TaskSpec { get; }

    public string FlopConvention =>
        "FLOPs = 2 x conv/linear MACs of every task's forward (AstmtComplexity); a training iteration counts 3 x forward; the create-graph gradient and discriminator are not counted";

    public IReadOnlyList<string> ReferenceArguments => ["--model", Model, "--astmt-tasks", TaskSpec];

    public void TrainStep() => AstmtTraining.TrainStep(_network, _optimizer, _images, _truths, Alpha, AstmtStepMode.PerTask);

    public void Forward()
    {
        _network.Eval();
        using (Autograd.NoGrad())
            foreach (var output in _network.ForwardTasks(_images).Values)
            {
                output.Prediction.Dispose();
                output.Features.Dispose();
            }
    }

    public void Dispose()
    {
        _images.Dispose();
        foreach (var t in _truths.Values) t.Dispose();
    }

    private static Tensor Binary(Random rng, int batch, int height, int width)
    {
        var data = new float[batch * height * width];
        for (int i = 0; i < data.Length; i++) data[i] = rng.NextDouble() > 0.8 ? 1f : 0f;
        return Tensor.FromArray(data, batch, 1, height, width);
    }
}
