namespace Astmt.Models.Data;

/// <summary>What a dense target means; it decides how augmentation treats it and which metric applies.</summary>
public enum TaskKind
{
    /// <summary>Semantic segmentation: an int64 class map (H×W) with an ignore label.</summary>
    Semantic,
    /// <summary>Human parts (or any part labelling): an int64 class map with an ignore label.</summary>
    HumanParts,
    /// <summary>Depth: 1×H×W float, 0 = invalid. Divided by the zoom factor when scale augmentation zooms in.</summary>
    Depth,
    /// <summary>Surface normals: 3×H×W float unit vectors in the camera frame (x right, y up, z towards the camera); (0,0,0) = invalid.</summary>
    Normal,
    /// <summary>Edges: 1×H×W float in {0, 1}.</summary>
    Edge,
    /// <summary>Saliency: 1×H×W float in {0, 1}.</summary>
    Saliency,
}

/// <summary>Helpers over <see cref="TaskKind"/>.</summary>
public static class TaskKindInfo
{
    /// <summary>True for targets stored as int64 class maps (one channel, no channel dimension).</summary>
    public static bool IsLabelMap(this TaskKind kind) => kind is TaskKind.Semantic or TaskKind.HumanParts;
}
