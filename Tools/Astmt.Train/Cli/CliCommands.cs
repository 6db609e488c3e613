using System.Text.Json;
using Astmt.Engine.Cpu;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.IO;
using Astmt.Train.Output;
using Astmt.Train.Training;
using Spectre.Console;

namespace Astmt.Train.Cli;

/// <summary>What each command does once its flags are parsed.</summary>
internal sealed class CliCommands(CliEnvironment env)
{
    private RunConsole Console => env.Console;

    /// <summary>Runs <paramref name="body"/>, turning bad input into one line and exit code 2, and bugs into exit code 1.</summary>
    public int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ConfigurationException e)
        {
            env.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            env.Error.WriteLine($"internal error: {e}");
            return ExitCodes.InternalError;
        }
    }

    private RunConfig Resolve((ConfigLayer Flags, ConfigLayer? File) layers) =>
        ConfigResolver.Resolve(env.Registry, layers.Flags, layers.File, env.Now());

    public int Train((ConfigLayer Flags, ConfigLayer? File) layers)
    {
        var config = Resolve(layers);
        var run = new RunDirectory(config.Out);
        if (Directory.Exists(run.CheckpointsFolder) && Directory.EnumerateFileSystemEntries(run.CheckpointsFolder).Any())
            throw new ConfigurationException($"--out: '{config.Out}' already holds a run with checkpoints; continue it with 'resume {config.Out}' or choose another --out.");
        Parallelism.Threads = config.Threads;
        var descriptor = env.Registry.Get(config.Model, ConfigKeys.Model.Flag);
        using var experiment = descriptor.Create(config);
        Directory.CreateDirectory(run.Root);
        YamlConfig.Write(run.ConfigPath, config);
        PrintHeader("Training", config, experiment);
        return new Trainer(experiment, config, run, Console, env.Stop).Run(resume: null);
    }

    public int Resume(string runDir, (ConfigLayer Flags, ConfigLayer? File) layers)
    {
        var run = new RunDirectory(runDir);
        if (!Directory.Exists(runDir))
            throw new ConfigurationException($"RUN_DIR: '{runDir}' does not exist; expected a run directory written by 'train'.");
        if (!File.Exists(run.ConfigPath))
            throw new ConfigurationException($"RUN_DIR: '{runDir}' has no config.yaml; expected a run directory written by 'train'.");
        var saved = YamlConfig.Read(run.ConfigPath);
        layers.Flags.Values[ConfigKeys.Out.Name] = new SourcedValue(runDir, "RUN_DIR");
        var config = ConfigResolver.Resolve(env.Registry, layers.Flags, saved, env.Now());

        var checkpoint = new CheckpointStore(run.CheckpointsFolder).LoadPointer(CheckpointStore.Last);
        var state = checkpoint.Trainer ?? throw new ConfigurationException(
            $"checkpoint '{checkpoint.Path}' has no trainer state; expected a checkpoint written by 'train'.");
        if (state.ConfigHash != config.Hash())
            throw new ConfigurationException(
                $"checkpoint '{checkpoint.Path}' was written with configuration hash {state.ConfigHash}, but this configuration hashes to {config.Hash()}: " +
                "the model, dataset, data, seed, batch size, lr, weighting, resolution or model options differ; only --epochs, --threads and --device may change on resume.");
        if (saved.Values.TryGetValue(ConfigKeys.Threads.Name, out var savedThreads) && savedThreads.Text != config.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture))
            Console.Line($"warning: the run used --threads {savedThreads.Text}; with {config.Threads} the losses may differ in the last bits from an uninterrupted run.");

        Parallelism.Threads = config.Threads;
        var descriptor = env.Registry.Get(config.Model, ConfigKeys.Model.Flag);
        using var experiment = descriptor.Create(config);
        experiment.LoadState(checkpoint.State, weightsOnly: false);
        YamlConfig.Write(run.ConfigPath, config);
        PrintHeader("Resuming", config, experiment);
        return new Trainer(experiment, config, run, Console, env.Stop).Run(state);
    }

    public int Eval((ConfigLayer Flags, ConfigLayer? File) layers, string weights, string? jsonPath)
    {
        var config = Resolve(layers);
        Parallelism.Threads = config.Threads;
        using var experiment = env.Registry.Get(config.Model, ConfigKeys.Model.Flag).Create(config);
        string loaded = LoadWeights(experiment, weights);
        Console.Line($"Evaluating {config.Model} on {config.Dataset} with {loaded}");
        var result = Evaluator.Run(experiment, config.BatchSize, Console, "eval");
        Console.Write(EvaluationTable.Build(experiment.Tasks, result));
        if (jsonPath != null)
        {
            var json = new Dictionary<string, object?>
            {
                ["model"] = config.Model,
                ["dataset"] = config.Dataset,
                ["weights"] = loaded,
                ["loss"] = result.Losses,
                ["metrics"] = result.Metrics,
                ["note"] = result.Note,
            };
            AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(json, EpochRecord.Json) + "\n");
            Console.Line($"Metrics written to {jsonPath}");
        }
        return ExitCodes.Ok;
    }

    public int Predict((ConfigLayer Flags, ConfigLayer? File) layers, string weights)
    {
        var config = Resolve(layers);
        Parallelism.Threads = config.Threads;
        using var experiment = env.Registry.Get(config.Model, ConfigKeys.Model.Flag).Create(config);
        string loaded = LoadWeights(experiment, weights);
        var written = PredictionWriter.Write(experiment, new RunDirectory(config.Out).PredictionsFolder, Math.Max(1, config.PredictionSamples));
        Console.Line($"Prediction grids of {loaded}:");
        foreach (var path in written) Console.Line($"  {path}");
        int raw = 0;
        Console.Progress("raw outputs", experiment.EvalCount, 0, sink =>
        {
            for (int i = 0; i < experiment.EvalCount; i++)
            {
                raw += PredictionWriter.WriteRaw(experiment.Predict(i), config.Out, i);
                sink.Advance(1, "");
            }
        });
        if (raw > 0) Console.Line($"Raw outputs (float32 .npy, channels first) in {Path.GetFullPath(config.Out)}/TASK/INDEX.npy");
        return ExitCodes.Ok;
    }

    public int Info((ConfigLayer Flags, ConfigLayer? File) layers, bool json)
    {
        var config = ConfigResolver.Resolve(env.Registry, layers.Flags, layers.File, env.Now(), requireData: false);
        using var experiment = env.Registry.Get(config.Model, ConfigKeys.Model.Flag).Create(config);
        var facts = experiment.Describe();
        if (json)
        {
            var obj = new Dictionary<string, object>
            {
                ["model"] = config.Model,
                ["dataset"] = config.Dataset,
                ["facts"] = facts.ToDictionary(p => p.Key, p => p.Value),
                ["tasks"] = experiment.Tasks.Select(t => t.Name).ToArray(),
            };
            env.Output.WriteLine(JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(config.Model)} on {Markup.Escape(config.Dataset)}")
            .AddColumn("").AddColumn(new TableColumn("").RightAligned());
        foreach (var (k, v) in facts) table.AddRow(Markup.Escape(k), Markup.Escape(v));
        table.AddRow("tasks", Markup.Escape(string.Join(", ", experiment.Tasks.Select(t => t.Name))));
        Console.Write(table);
        return ExitCodes.Ok;
    }

    public int Synth(string outDir, string layout, int count, int valCount, int height, int width, long seed)
    {
        if (count < 1) throw new ConfigurationException($"--count: '{count}' is not valid; expected a whole number ≥ 1.");
        if (valCount < 1) throw new ConfigurationException($"--val-count: '{valCount}' is not valid; expected a whole number ≥ 1.");
        if (height < 1 || width < 1) throw new ConfigurationException($"--height/--width: {height}x{width} is not valid; expected positive sizes.");
        var writer = env.Registry.SyntheticWriter ?? throw new ConfigurationException(
            "data synth: no synthetic-scene generator is registered in this build; expected the synthetic scenes of the MTAN issue to register one.");
        int total = count + valCount;
        Console.Progress($"writing {total} scenes", total, 0, sink =>
        {
            int last = 0;
            writer(new SynthRequest(outDir, layout, count, valCount, height, width, seed, done => { sink.Advance(done - last, ""); last = done; }));
        });
        Console.Line($"Wrote {count} training and {valCount} validation scenes of {height}x{width} ({layout} layout) to {Path.GetFullPath(outDir)}");
        return ExitCodes.Ok;
    }

    /// <summary>Loads the model weights of <paramref name="path"/> (a checkpoint file, or a run directory's best/last
    /// checkpoint) into <paramref name="experiment"/>; returns the file used.</summary>
    private static string LoadWeights(IExperiment experiment, string path)
    {
        LoadedCheckpoint checkpoint;
        if (Directory.Exists(path))
        {
            var store = new CheckpointStore(new RunDirectory(path).CheckpointsFolder);
            checkpoint = store.ReadPointer(CheckpointStore.Best) != null ? store.LoadPointer(CheckpointStore.Best) : store.LoadPointer(CheckpointStore.Last);
        }
        else checkpoint = CheckpointStore.Load(path);
        experiment.LoadState(checkpoint.State, weightsOnly: true);
        return checkpoint.Path;
    }

    private void PrintHeader(string verb, RunConfig config, IExperiment experiment)
    {
        Console.Line($"{verb} {config.Model} on {config.Dataset} ({config.Height}x{config.Width}, batch {config.BatchSize}, {config.Epochs} epochs, " +
                     $"lr {config.LearningRate}, weighting {config.Weighting}, {config.Device}, {config.Threads} threads, seed {config.Seed})");
        Console.Line($"  run directory {Path.GetFullPath(config.Out)}");
        foreach (var (k, v) in experiment.Describe()) Console.Line($"  {k}: {v}");
        Console.Line($"  {experiment.TrainCount} training and {experiment.EvalCount} evaluation samples");
    }
}
