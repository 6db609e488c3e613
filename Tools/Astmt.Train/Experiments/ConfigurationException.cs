namespace Astmt.Train.Experiments;

/// <summary>
/// A problem with what the user asked for (a flag, a config file, a dataset folder, a checkpoint), reported as one line and
/// exit code 2. The message says what is wrong and what was expected.
/// </summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public ConfigurationException(string message) : base(message) { }

    /// <summary>Creates the exception with its one-line message and the underlying cause.</summary>
    public ConfigurationException(string message, Exception inner) : base(message, inner) { }
}
