using Astmt.Models.Data;

namespace Astmt.Models.Synthetic;

/// <summary>
/// Dumps synthetic scenes to disk (<c>Astmt.Train data synth</c>): the NYUv2 layout of the MTAN reference,
/// <c>{root}/{train,val}/{image,label,depth,normal}/{i}.npy</c>, or the ASTMT layout of Models/Data/README.md.
/// Train scenes use <c>seed</c>, validation scenes <c>seed + 1</c>, so the splits never share a scene.
/// </summary>
public static class SyntheticNpyWriter
{
    /// <summary>Writes <paramref name="trainCount"/> training and <paramref name="valCount"/> validation scenes in the NYUv2 layout.</summary>
    public static void WriteNyuV2Layout(string root, int trainCount, int valCount, int height, int width, ulong seed = 0)
    {
        string[] folders = ["label", "depth", "normal"];
        if (trainCount > 0)
            NpyLayoutWriter.Write(new SyntheticSceneDataset(trainCount, height, width, seed), Path.Combine(root, "train"), folders, trainCount);
        if (valCount > 0)
            NpyLayoutWriter.Write(new SyntheticSceneDataset(valCount, height, width, seed + 1), Path.Combine(root, "val"), folders, valCount);
    }

    /// <summary>Writes scenes with all six ASTMT tasks in the ASTMT .npy layout (image in [0,255]).</summary>
    public static void WriteAstmtLayout(string root, int trainCount, int valCount, int height, int width, ulong seed = 0)
    {
        var tasks = SyntheticSceneDataset.TasksFor(SyntheticTaskSet.Astmt);
        var folders = tasks.Select(t => t.Name).ToArray();
        if (trainCount > 0)
            NpyLayoutWriter.Write(new SyntheticSceneDataset(trainCount, height, width, seed, SyntheticTaskSet.Astmt), Path.Combine(root, "train"), folders, trainCount);
        if (valCount > 0)
            NpyLayoutWriter.Write(new SyntheticSceneDataset(valCount, height, width, seed + 1, SyntheticTaskSet.Astmt), Path.Combine(root, "val"), folders, valCount);
    }
}
