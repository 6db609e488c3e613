namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = UnaryForward("relu", UnaryKind.Relu, x);
        return RecordSavingOne<ReluGradient>("relu", x, y, y);
    }

    /// <summary>Serves relu and relu_backward alike: both backwards are ReluGrad with the saved ReLU output.</summary>
    private readonly struct ReluGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor y) => ReluGrad(g, y);
    }

    /// <summary>The ReLU backward, g where y &gt; 0 else 0, as an op of its own: linear in g with a mask that is constant almost
    /// everywhere, so its own backward is itself.</summary>
    internal static Tensor ReluGrad(Tensor g, Tensor reluOutput)
    {
        var r = PairForward("relu_backward", PairKind.ReluGrad, g, reluOutput);
        return RecordSavingOne<ReluGradient>("relu_backward", g, r, reluOutput);
    }
}
