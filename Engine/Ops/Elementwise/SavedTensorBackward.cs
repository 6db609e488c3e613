using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Gradient rule of a one-input op whose backward needs one saved tensor (its input or its output), written with
    /// F ops so a create-graph pass differentiates it again.</summary>
    private interface ISavedTensorGradient
    {
        /// <summary>The input gradient from the output gradient <paramref name="g"/> and the saved tensor.</summary>
        static abstract Tensor Backward(Tensor g, Tensor saved);
    }

    /// <summary>Records <paramref name="y"/> = op(<paramref name="x"/>) when the graph is recording, keeping
    /// <paramref name="saved"/> for <typeparamref name="TRule"/>.</summary>
    private static Tensor RecordSavingOne<TRule>(string opName, Tensor x, Tensor y, Tensor saved) where TRule : ISavedTensorGradient
    {
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new SavedTensorBackward<TRule>(opName, x, saved));
        return y;
    }

    /// <summary>The node of every such op: keeps the one tensor until backward frees the graph.</summary>
    private sealed class SavedTensorBackward<TRule>(string opName, Tensor x, Tensor saved) : Node(opName, x)
        where TRule : ISavedTensorGradient
    {
        private Tensor? _saved = saved;
        public override Tensor?[] Backward(Tensor g) => [TRule.Backward(g, _saved!)];
        protected override void ReleaseSaved() => _saved = null;
    }
}
