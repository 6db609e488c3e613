namespace Astmt.Models.Data.Datasets;

/// <summary>One target folder of an .npy layout: <c>{split}/{Folder}/{i}.npy</c> holds the target of <see cref="Task"/>.</summary>
/// <param name="Folder">Folder name under the split directory.</param>
/// <param name="Task">The task the folder's arrays are loaded as.</param>
public sealed record NpyTaskFolder(string Folder, TaskSpec Task);
