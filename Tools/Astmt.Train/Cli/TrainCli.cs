using System.CommandLine;
using System.CommandLine.Parsing;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Training;

namespace Astmt.Train.Cli;

/// <summary>
/// The command line: <c>train</c>, <c>eval</c>, <c>predict</c>, <c>info</c>, <c>resume RUN_DIR</c> and <c>data synth</c>.
/// Every command takes the configuration flags (<see cref="ConfigKeys"/>) and the registered models' options; values are
/// checked here with messages that name the flag and the accepted values, and bad input exits with code 2.
/// </summary>
public static class TrainCli
{
    /// <summary>Parses <paramref name="args"/> and runs the command. Returns the process exit code (<see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, CliEnvironment env)
    {
        var root = Build(env);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) env.Error.WriteLine($"error: {Describe(error)}");
            var path = new List<string>();
            for (SymbolResult? r = parse.CommandResult; r is CommandResult c && c.Command != root; r = r.Parent) path.Insert(0, c.Command.Name);
            env.Error.WriteLine($"See 'Astmt.Train {string.Join(' ', path.Append("--help"))}' for the accepted flags.");
            return ExitCodes.BadInput;
        }
        return parse.Invoke(new InvocationConfiguration
        {
            Output = env.Output,
            Error = env.Error,
            EnableDefaultExceptionHandler = false,
            // Ctrl-C is the trainer's to handle (finish the step, checkpoint); the parser must not end the process on its own.
            ProcessTerminationTimeout = null,
        });
    }

    /// <summary>A parse error on one line, prefixed by the flag it concerns when System.CommandLine does not name it.</summary>
    private static string Describe(ParseError error)
    {
        string message = System.Text.RegularExpressions.Regex.Replace(error.Message, @"\s*[\r\n]+\s*", " ");
        string? flag = error.SymbolResult switch
        {
            OptionResult o => o.Option.Name,
            ArgumentResult { Parent: OptionResult o } => o.Option.Name,
            _ => null,
        };
        return flag != null && !message.Contains(flag, StringComparison.Ordinal) ? $"{flag}: {message}" : message;
    }

    /// <summary>The command tree.</summary>
    public static RootCommand Build(CliEnvironment env)
    {
        var commands = new CliCommands(env);
        var root = new RootCommand("Astmt.Native trainer: multi-task dense prediction (MTAN, ASTMT) on a from-scratch C# engine.");

        var train = ConfiguredCommand("train", "Train a model; writes a run directory (config, metrics, checkpoints, report, predictions).", env, out var trainFlags);
        train.SetAction(p => commands.Guard(() => commands.Train(trainFlags.Read(p))));
        root.Subcommands.Add(train);

        var eval = ConfiguredCommand("eval", "Evaluate weights on the evaluation split and print per-task metrics.", env, out var evalFlags);
        var evalWeights = WeightsOption();
        var evalJson = new Option<string>("--json") { Description = "Also write the metrics as JSON to this file", HelpName = "FILE" };
        eval.Options.Add(evalWeights);
        eval.Options.Add(evalJson);
        eval.SetAction(p => commands.Guard(() => commands.Eval(evalFlags.Read(p), p.GetValue(evalWeights)!, p.GetValue(evalJson))));
        root.Subcommands.Add(eval);

        var predict = ConfiguredCommand("predict", "Draw prediction grids (input | prediction | ground truth) per task into OUT/predictions.", env, out var predictFlags);
        var predictWeights = WeightsOption();
        predict.Options.Add(predictWeights);
        predict.SetAction(p => commands.Guard(() => commands.Predict(predictFlags.Read(p), p.GetValue(predictWeights)!)));
        root.Subcommands.Add(predict);

        var info = ConfiguredCommand("info", "Print a model's exact parameter count, FLOPs and tasks for a configuration.", env, out var infoFlags);
        var infoJson = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        info.Options.Add(infoJson);
        info.SetAction(p => commands.Guard(() => commands.Info(infoFlags.Read(p), p.GetValue(infoJson))));
        root.Subcommands.Add(info);

        var resume = ConfiguredCommand("resume", "Continue a run from its last checkpoint, exactly (same seed and --threads give the same losses).", env,
            out var resumeFlags, includeConfigAndOut: false);
        var runDir = new Argument<string>("RUN_DIR") { Description = "The run directory to continue" };
        resume.Arguments.Add(runDir);
        resume.SetAction(p => commands.Guard(() => commands.Resume(p.GetValue(runDir)!, resumeFlags.Read(p))));
        root.Subcommands.Add(resume);

        root.Subcommands.Add(DataCommand(commands));
        return root;
    }

    private static Option<string> WeightsOption() => new("--weights")
    {
        Description = "A .safetensors checkpoint or weights file, or a run directory (its best checkpoint)",
        HelpName = "PATH",
        Required = true,
    };

    private static Command DataCommand(CliCommands commands)
    {
        var data = new Command("data", "Dataset tools.");
        var synth = new Command("synth", "Write the synthetic multi-task scenes in the NYUv2 .npy layout.");
        var outOption = new Option<string>("--out") { Description = "Folder to write", HelpName = "DIR", Required = true };
        var count = new Option<int>("--count") { Description = "Number of training scenes [default: 100]", DefaultValueFactory = _ => 100 };
        var valCount = new Option<int?>("--val-count") { Description = "Number of validation scenes [default: a quarter of --count, at least 1]" };
        var layout = new Option<string>("--layout") { Description = "nyuv2 (MTAN's four tasks) or astmt (all six tasks) [default: nyuv2]", DefaultValueFactory = _ => "nyuv2" };
        layout.AcceptOnlyFromAmong("nyuv2", "astmt");
        var height = new Option<int>("--height") { Description = "Image height [default: 64]", DefaultValueFactory = _ => 64 };
        var width = new Option<int>("--width") { Description = "Image width [default: 64]", DefaultValueFactory = _ => 64 };
        var seed = new Option<long>("--seed") { Description = "Seed [default: 0]", DefaultValueFactory = _ => 0 };
        foreach (Option o in new Option[] { outOption, layout, count, valCount, height, width, seed }) synth.Options.Add(o);
        synth.SetAction(p => commands.Guard(() => commands.Synth(p.GetValue(outOption)!, p.GetValue(layout)!, p.GetValue(count),
            p.GetValue(valCount) ?? Math.Max(1, p.GetValue(count) / 4), p.GetValue(height), p.GetValue(width), p.GetValue(seed))));
        data.Subcommands.Add(synth);
        return data;
    }

    private static Command ConfiguredCommand(string name, string description, CliEnvironment env, out ConfigFlags flags, bool includeConfigAndOut = true)
    {
        var command = new Command(name, description);
        flags = new ConfigFlags(command, env.Registry, includeConfigAndOut);
        return command;
    }
}

/// <summary>The configuration flags of one command and how their values become a <see cref="ConfigLayer"/>.</summary>
internal sealed class ConfigFlags
{
    private readonly List<(ConfigKey Key, Option<string> Option)> _keys = [];
    private readonly List<(ModelOption Spec, Option<string> Option)> _modelOptions = [];
    private readonly Option<string>? _config;

    public ConfigFlags(Command command, ExperimentRegistry registry, bool includeConfigAndOut)
    {
        var defaultModel = registry.All.FirstOrDefault(d => d.Name == ConfigKeys.Model.BuiltInDefault);
        foreach (var key in ConfigKeys.All)
        {
            if (!includeConfigAndOut && key == ConfigKeys.Out) continue;
            var option = new Option<string>(key.Flag) { Description = Describe(key, defaultModel), HelpName = HelpName(key) };
            command.Options.Add(option);
            _keys.Add((key, option));
        }
        foreach (var spec in registry.AllOptions())
        {
            var option = new Option<string>("--" + spec.Name)
            {
                Description = $"{spec.Help} [default: {ModelDefaults(defaultModel, ConfigKeys.OptionsKey + "." + spec.Name, spec.Default) ?? spec.Default}]" + (spec.Choices != null && !spec.IsSwitch ? $" ({string.Join('|', spec.Choices)})" : ""),
                HelpName = spec.IsSwitch ? "true|false" : "VALUE",
                Arity = spec.IsSwitch ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne,
            };
            command.Options.Add(option);
            _modelOptions.Add((spec, option));
        }
        if (includeConfigAndOut)
        {
            _config = new Option<string>("--config") { Description = "YAML config file; flags override its values", HelpName = "FILE" };
            command.Options.Add(_config);
        }
    }

    /// <summary>The given flags as a layer, and the config file's layer when <c>--config</c> was given.</summary>
    public (ConfigLayer Flags, ConfigLayer? File) Read(ParseResult parse)
    {
        var layer = new ConfigLayer();
        foreach (var (key, option) in _keys)
            if (parse.GetValue(option) is { } value) layer.Values[key.Name] = new SourcedValue(value, key.Flag);
        foreach (var (spec, option) in _modelOptions)
        {
            if (parse.GetResult(option) is not { } result || result.Implicit) continue;
            string value = parse.GetValue(option) ?? (spec.IsSwitch ? "true" : "");
            layer.Options[spec.Name] = new SourcedValue(value, "--" + spec.Name);
        }
        ConfigLayer? file = _config != null && parse.GetValue(_config) is { } path ? YamlConfig.Read(path) : null;
        return (layer, file);
    }

    private static string Describe(ConfigKey key, ExperimentDescriptor? defaultModel)
    {
        string text = key.Help;
        if (key.Choices != null) text += $" ({string.Join('|', key.Choices)})";
        if (key.BuiltInDefault == null) return text;
        if (key == ConfigKeys.Model || key == ConfigKeys.Preset) return text + $" [default: {key.BuiltInDefault}]";
        string? modelDefaults = ModelDefaults(defaultModel, key.Name, null);
        return modelDefaults == null
            ? text + $" [default: {key.BuiltInDefault}, unless the model or preset sets it]"
            : text + $" [default for {defaultModel!.Name}: {modelDefaults}; other models: {key.BuiltInDefault} unless they or a preset set it]";
    }

    /// <summary>What <paramref name="model"/> sets <paramref name="key"/> to on each of its datasets ("8 on synthetic, 2 on
    /// nyuv2/cityscapes", or one value when they agree), or null when it sets nothing of its own.</summary>
    internal static string? ModelDefaults(ExperimentDescriptor? model, string key, string? fallback)
    {
        if (model == null) return null;
        bool setsIt = model.Defaults.ContainsKey(key);
        string? general = model.Defaults.TryGetValue(key, out var g) ? g : fallback;
        var groups = new List<(string Value, List<string> Datasets)>();
        foreach (string dataset in model.Datasets)
        {
            string? value = general;
            if (model.DatasetDefaults.TryGetValue(dataset, out var values) && values.TryGetValue(key, out var v)) { value = v; setsIt = true; }
            if (value == null) continue;
            int at = groups.FindIndex(p => p.Value == value);
            if (at < 0) groups.Add((value, [dataset]));
            else groups[at].Datasets.Add(dataset);
        }
        if (!setsIt || groups.Count == 0) return null;
        return groups.Count == 1 ? groups[0].Value : string.Join(", ", groups.Select(p => $"{p.Value} on {string.Join('/', p.Datasets)}"));
    }

    private static string HelpName(ConfigKey key) => key.Kind switch
    {
        ConfigValueKind.Integer => "N",
        ConfigValueKind.PositiveNumber => "X",
        ConfigValueKind.Path => "PATH",
        ConfigValueKind.Choice => key.Name.ToUpperInvariant(),
        _ => "NAME",
    };
}
