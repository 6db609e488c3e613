namespace Astmt.Models.Data.Npy;

/// <summary>An .npy file that cannot be read: the message names the file and says what was expected.</summary>
public sealed class NpyFormatException : Exception
{
    /// <summary>The file (or stream name) that failed.</summary>
    public string FileName { get; }

    /// <summary>Creates the exception; the message is prefixed with the file name.</summary>
    public NpyFormatException(string fileName, string message, Exception? inner = null)
        : base($"{fileName}: {message}", inner) => FileName = fileName;
}
