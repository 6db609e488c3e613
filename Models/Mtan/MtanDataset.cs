namespace Astmt.Models.Mtan;

/// <summary>The datasets of the MTAN paper, which fix the class count and the task list.</summary>
public enum MtanDataset
{
    /// <summary>NYUv2: 13 classes; semantic, depth and normals.</summary>
    NyuV2,
    /// <summary>CityScapes: 7 classes; semantic and (inverse) depth.</summary>
    CityScapes,
}
