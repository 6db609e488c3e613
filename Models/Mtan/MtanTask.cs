namespace Astmt.Models.Mtan;

/// <summary>The dense-prediction tasks of the MTAN experiments.</summary>
public enum MtanTask
{
    /// <summary>Semantic segmentation: log-probabilities over the classes, trained with NLL (ignore −1).</summary>
    Semantic,
    /// <summary>Depth: one raw linear channel, trained with masked L1.</summary>
    Depth,
    /// <summary>Surface normals: three channels L2-normalised over the channel dimension, trained with 1 − cosine.</summary>
    Normal,
}
