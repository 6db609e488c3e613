using System.Globalization;
using System.Text.Json;
using Astmt.Engine;
using Astmt.Engine.IO;
using Astmt.Train.Experiments;
using Astmt.Train.IO;

namespace Astmt.Train.Training;

/// <summary>A checkpoint read back: the experiment's state and the trainer's position.</summary>
/// <param name="Path">The safetensors file.</param>
/// <param name="State">Tensors and experiment metadata.</param>
/// <param name="Trainer">The trainer's position, or null for weights not written by the trainer (imported weights).</param>
public sealed record LoadedCheckpoint(string Path, ExperimentState State, TrainerState? Trainer);

/// <summary>
/// The checkpoints/ folder: safetensors files holding the experiment's tensors with the trainer's position in their metadata,
/// a JSON file beside each for people and scripts, and the <c>last</c> and <c>best</c> pointer files naming one of them.
/// Every file is written atomically and pointers move only after the file they name is complete, so a kill at any moment
/// leaves the previous good checkpoint in place.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>Metadata key holding the trainer's state as JSON.</summary>
    public const string TrainerKey = "astmt.trainer";
    /// <summary>Metadata key holding the configuration hash.</summary>
    public const string HashKey = "astmt.config_hash";
    private const string ExperimentPrefix = "experiment.";

    /// <summary>The pointer to the most recent checkpoint.</summary>
    public const string Last = "last";
    /// <summary>The pointer to the checkpoint with the lowest evaluation loss.</summary>
    public const string Best = "best";

    /// <summary>The checkpoints folder.</summary>
    public string Folder { get; }

    /// <summary>A store over <paramref name="folder"/> (created on first save).</summary>
    public CheckpointStore(string folder) => Folder = folder;

    /// <summary>The safetensors path of checkpoint <paramref name="name"/>.</summary>
    public string PathOf(string name) => System.IO.Path.Combine(Folder, name + ".safetensors");

    /// <summary>Writes checkpoint <paramref name="name"/> and its JSON description.</summary>
    public void Save(string name, ExperimentState state, TrainerState trainer)
    {
        Directory.CreateDirectory(Folder);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TrainerKey] = trainer.ToJson(),
            [HashKey] = trainer.ConfigHash,
        };
        foreach (var (k, v) in state.Metadata) metadata[ExperimentPrefix + k] = v;
        SafeTensors.Save(PathOf(name), state.Tensors, metadata);

        var description = new Dictionary<string, object?>
        {
            ["file"] = name + ".safetensors",
            ["reason"] = trainer.Reason,
            ["epoch"] = trainer.Epoch,
            ["step_in_epoch"] = trainer.StepInEpoch,
            ["global_step"] = trainer.GlobalStep,
            ["config_hash"] = trainer.ConfigHash,
            ["best_eval_total_loss"] = trainer.BestScore,
            ["written_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        AtomicFile.WriteAllText(System.IO.Path.Combine(Folder, name + ".json"),
            JsonSerializer.Serialize(description, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }) + "\n");
    }

    /// <summary>Points <paramref name="pointer"/> (<see cref="Last"/> or <see cref="Best"/>) at checkpoint <paramref name="name"/>.</summary>
    public void SetPointer(string pointer, string name) => AtomicFile.WriteAllText(System.IO.Path.Combine(Folder, pointer), name + "\n");

    /// <summary>The checkpoint name <paramref name="pointer"/> names, or null when there is no such pointer.</summary>
    public string? ReadPointer(string pointer)
    {
        string file = System.IO.Path.Combine(Folder, pointer);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    /// <summary>Deletes checkpoints no pointer names (keeps disk use at two checkpoints for large models).</summary>
    public void Prune()
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in new[] { Last, Best })
            if (ReadPointer(p) is { } n) keep.Add(n);
        foreach (var file in Directory.EnumerateFiles(Folder))
        {
            string ext = System.IO.Path.GetExtension(file);
            if (ext is not (".safetensors" or ".json")) continue;
            if (!keep.Contains(System.IO.Path.GetFileNameWithoutExtension(file))) File.Delete(file);
        }
    }

    /// <summary>Reads the checkpoint <paramref name="pointer"/> names, or a clear error when there is none.</summary>
    public LoadedCheckpoint LoadPointer(string pointer)
    {
        string name = ReadPointer(pointer) ?? throw new ConfigurationException(
            $"{Folder}: no '{pointer}' pointer; expected a run directory with at least one finished epoch or interrupted step.");
        return Load(PathOf(name));
    }

    /// <summary>Reads the safetensors checkpoint at <paramref name="path"/> (written by the trainer or imported weights).
    /// A missing, truncated or malformed file gives a <see cref="ConfigurationException"/> naming it.</summary>
    public static LoadedCheckpoint Load(string path)
    {
        if (!File.Exists(path))
            throw new ConfigurationException($"checkpoint '{path}' does not exist; expected a .safetensors file.");
        SafeTensorsFile file;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            file = SafeTensors.Load(path);
            foreach (var key in file.Keys) tensors[key] = file.Get(key);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException or JsonException or ArgumentException or NotSupportedException or OverflowException)
        {
            throw new ConfigurationException($"checkpoint '{path}' is corrupt or unreadable ({e.Message}); expected a complete safetensors file.", e);
        }

        var experimentMetadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in file.Metadata)
            if (k.StartsWith(ExperimentPrefix, StringComparison.Ordinal)) experimentMetadata[k[ExperimentPrefix.Length..]] = v;

        TrainerState? trainer = null;
        if (file.Metadata.TryGetValue(TrainerKey, out var json))
        {
            try { trainer = TrainerState.FromJson(json); }
            catch (JsonException e)
            {
                throw new ConfigurationException($"checkpoint '{path}' has a malformed '{TrainerKey}' entry ({e.Message}).", e);
            }
        }
        return new LoadedCheckpoint(path, new ExperimentState(tensors, experimentMetadata), trainer);
    }
}
