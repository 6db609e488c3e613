namespace Astmt.Train.Training;

/// <summary>The process exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>An unexpected internal error (a bug): the message and stack trace are printed.</summary>
    public const int InternalError = 1;
    /// <summary>Bad input: a flag, config file, dataset folder, model name or checkpoint. One line says what and what was expected.</summary>
    public const int BadInput = 2;
    /// <summary>A loss became NaN or infinite; the last good state was checkpointed.</summary>
    public const int NonFiniteLoss = 3;
    /// <summary>Stopped by Ctrl-C after writing a checkpoint (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
