using Astmt.Models.Astmt;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>The metrics each ASTMT task reports (percentages for IoU, F and pixel fractions; degrees for normals; the data's unit
/// for depth), which one enters Δm, and how its maps are drawn.</summary>
public static class AstmtMetricNames
{
    /// <summary>Discriminator cross-entropy on the task's normalised gradients (training only).</summary>
    public const string DiscriminatorLoss = "disc_loss";
    /// <summary>Fraction (%) of pixels where the discriminator names the task whose gradient it sees (training only; 100/T is chance).</summary>
    public const string DiscriminatorAccuracy = "disc_acc";

    /// <summary>The trainer's description of <paramref name="task"/>; <paramref name="adversarial"/> adds the discriminator's metrics.</summary>
    public static TaskInfo Describe(AstmtTask task, bool adversarial)
    {
        var metrics = new List<MetricInfo>();
        MapKind kind;
        int classes = 0;
        switch (task.Kind)
        {
            case AstmtTaskKind.Edge:
                kind = MapKind.Probability;
                metrics.Add(new("odsF", true));
                metrics.Add(new("oisF", true));
                break;
            case AstmtTaskKind.Semseg:
                kind = MapKind.Segmentation;
                classes = task.OutChannels;
                metrics.Add(new("mIoU", true));
                metrics.Add(new("pixel_acc", true));
                break;
            case AstmtTaskKind.HumanParts:
                kind = MapKind.Segmentation;
                classes = task.OutChannels;
                metrics.Add(new("mIoU", true));
                break;
            case AstmtTaskKind.Normals:
                kind = MapKind.Normals;
                metrics.Add(new("mean", false));
                metrics.Add(new("median", false));
                metrics.Add(new("rmse", false));
                metrics.Add(new("within_11.25", true));
                metrics.Add(new("within_22.5", true));
                metrics.Add(new("within_30", true));
                break;
            case AstmtTaskKind.Saliency:
                kind = MapKind.Probability;
                metrics.Add(new("maxF", true));
                metrics.Add(new("max_mIoU", true));
                break;
            default:
                kind = MapKind.Depth;
                metrics.Add(new("rmse", false));
                metrics.Add(new("abs_err", false));
                break;
        }
        if (adversarial)
        {
            metrics.Add(new(DiscriminatorLoss, true));
            metrics.Add(new(DiscriminatorAccuracy, false));
        }
        return new TaskInfo(task.Name, kind, metrics, classes);
    }

    /// <summary>The metric of <paramref name="kind"/> that enters Δm (the reference's choice: odsF, mIoU, mean angle, saliency
    /// max-mIoU, RMSE), and whether lower is better.</summary>
    public static (string Name, bool LowerIsBetter) Primary(AstmtTaskKind kind) => kind switch
    {
        AstmtTaskKind.Edge => ("odsF", false),
        AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => ("mIoU", false),
        AstmtTaskKind.Normals => ("mean", true),
        AstmtTaskKind.Saliency => ("max_mIoU", false),
        _ => ("rmse", true),
    };
}
