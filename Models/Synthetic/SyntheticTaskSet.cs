namespace Astmt.Models.Synthetic;

/// <summary>Which tasks (with which names and conventions) the synthetic dataset exposes.</summary>
public enum SyntheticTaskSet
{
    /// <summary>MTAN's NYUv2 tasks: "semantic" (13 classes, ignore -1), "depth", "normal"; image in [0,1].</summary>
    Mtan,
    /// <summary>
    /// ASTMT's six tasks in the order edge=0, semseg=1, human_parts=2, normals=3, sal=4, depth=5 (ignore label 255); the
    /// image is RGB in [0,255], fed unnormalised as the ASTMT reference does.
    /// </summary>
    Astmt,
}
