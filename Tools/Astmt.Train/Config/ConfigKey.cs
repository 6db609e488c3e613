using System.Globalization;

namespace Astmt.Train.Config;

/// <summary>The kinds of values a configuration key holds, each with its parser and what it tells the user it expected.</summary>
public enum ConfigValueKind
{
    /// <summary>Free text.</summary>
    Text,
    /// <summary>One of a fixed list.</summary>
    Choice,
    /// <summary>A whole number at least <see cref="ConfigKey.Minimum"/>.</summary>
    Integer,
    /// <summary>A positive finite number.</summary>
    PositiveNumber,
    /// <summary>A file-system path.</summary>
    Path,
}

/// <summary>One key of the run configuration: its flag and YAML name, its help text, its built-in default and how it is checked.</summary>
/// <param name="Name">The YAML key, and the flag without its leading dashes (for example <c>batch-size</c>).</param>
/// <param name="Help">One line for <c>--help</c>.</param>
/// <param name="Kind">How the value is parsed.</param>
/// <param name="BuiltInDefault">The value when neither the model, a preset, the config file nor a flag sets it; null means unset.</param>
/// <param name="Choices">Accepted values for <see cref="ConfigValueKind.Choice"/>.</param>
/// <param name="Minimum">Smallest accepted value for <see cref="ConfigValueKind.Integer"/>.</param>
/// <param name="DefinesRun">True when the key changes what is trained, so it enters the configuration hash that checkpoints must match.</param>
public sealed record ConfigKey(
    string Name,
    string Help,
    ConfigValueKind Kind,
    string? BuiltInDefault,
    IReadOnlyList<string>? Choices = null,
    long Minimum = 0,
    bool DefinesRun = true)
{
    /// <summary>The command-line flag, for example <c>--batch-size</c>.</summary>
    public string Flag => "--" + Name;

    /// <summary>Checks <paramref name="text"/> and returns its canonical form, or throws naming <paramref name="source"/>
    /// and what was expected.</summary>
    public string Canonicalize(string text, string source)
    {
        string t = text.Trim();
        switch (Kind)
        {
            case ConfigValueKind.Choice:
                foreach (var c in Choices!)
                    if (string.Equals(c, t, StringComparison.OrdinalIgnoreCase)) return c;
                throw Invalid(text, source, $"one of {string.Join(", ", Choices!)}");
            case ConfigValueKind.Integer:
                if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= Minimum && n <= int.MaxValue)
                    return n.ToString(CultureInfo.InvariantCulture);
                throw Invalid(text, source, $"a whole number ≥ {Minimum}");
            case ConfigValueKind.PositiveNumber:
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) && d > 0)
                    return d.ToString("R", CultureInfo.InvariantCulture);
                throw Invalid(text, source, "a positive number such as 0.0001 or 1e-4");
            case ConfigValueKind.Path:
            case ConfigValueKind.Text:
                if (t.Length == 0) throw Invalid(text, source, "a non-empty value");
                return t;
            default:
                throw new InvalidOperationException($"Unhandled kind {Kind}.");
        }
    }

    private Experiments.ConfigurationException Invalid(string text, string source, string expected) =>
        new($"{source}: '{text}' is not valid for {Name}; expected {expected}.");
}
