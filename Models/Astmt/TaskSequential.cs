using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>A stage of blocks run in order with the same task (the reference's <c>SequentialMultiTask</c>); children "0", "1", ….</summary>
public sealed class TaskSequential : TaskModule
{
    private readonly List<TaskModule> _blocks = [];

    /// <summary>Creates the stage from <paramref name="blocks"/>.</summary>
    public TaskSequential(IEnumerable<TaskModule> blocks)
    {
        foreach (var b in blocks)
        {
            RegisterModule(_blocks.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), b);
            _blocks.Add(b);
        }
    }

    /// <summary>The blocks.</summary>
    public IReadOnlyList<TaskModule> Blocks => _blocks;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task)
    {
        foreach (var b in _blocks) x = b.Forward(x, task);
        return x;
    }

    /// <inheritdoc />
    public override string TypeName => "SequentialMultiTask";
}
