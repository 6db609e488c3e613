namespace Astmt.Engine.NN;

/// <summary>Which fan Kaiming initialisation preserves the variance of.</summary>
public enum FanMode
{
    /// <summary>Input fan (channels·R·S): preserves the variance of activations in the forward pass.</summary>
    FanIn,
    /// <summary>Output fan (K·R·S): preserves the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>
/// Weight initialisers with PyTorch's formulas (<c>torch.nn.init</c>). Each fills a tensor in place, outside autograd, from a
/// <see cref="Generator"/> (the <see cref="Generator.Default"/> one when none is given) and returns it.
/// </summary>
public static class Init
{
    [ThreadStatic] private static int _skipDepth;

    /// <summary>True inside a <see cref="Skip"/> scope on this thread.</summary>
    public static bool IsSkipping => _skipDepth > 0;

    /// <summary>A scope in which every initialiser on this thread leaves its tensor untouched (PyTorch's <c>skip_init</c>): build a
    /// network without paying for default initialisations that a model-specific scheme or a checkpoint will overwrite anyway.</summary>
    public static SkipScope Skip()
    {
        _skipDepth++;
        return default;
    }

    /// <summary>Ends a <see cref="Skip"/> scope.</summary>
    public readonly struct SkipScope : IDisposable
    {
        /// <summary>Leaves the scope.</summary>
        public void Dispose() => _skipDepth--;
    }

    /// <summary>Fan-in and fan-out as PyTorch computes them: fan_in = size(1)·receptive field, fan_out = size(0)·receptive field,
    /// where the receptive field is the product of the dimensions after the first two (R·S for a conv weight [K,C,R,S]).</summary>
    public static (int FanIn, int FanOut) Fans(Tensor tensor)
    {
        if (tensor.Rank < 2)
            throw new ArgumentException($"Init: fan in and fan out need a tensor with at least 2 dimensions (a weight [K,C,...]); got {tensor.Describe()}.");
        int receptive = 1;
        for (int d = 2; d < tensor.Rank; d++) receptive *= tensor.Shape[d];
        return (tensor.Shape[1] * receptive, tensor.Shape[0] * receptive);
    }

    /// <summary>PyTorch's <c>calculate_gain</c> for "linear", "conv2d", "sigmoid", "tanh", "relu" and "leaky_relu" (with <paramref name="param"/> as the slope).</summary>
    public static double CalculateGain(string nonlinearity, double param = 0.01) => nonlinearity switch
    {
        "linear" or "conv1d" or "conv2d" or "conv3d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + param * param)),
        _ => throw new ArgumentException($"Init.CalculateGain: unsupported nonlinearity '{nonlinearity}'; expected linear, conv2d, sigmoid, tanh, relu or leaky_relu."),
    };

    /// <summary>Xavier (Glorot) normal: N(0, gain²·2/(fan_in+fan_out)).</summary>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(tensor);
        return Normal(tensor, 0.0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    /// <summary>Xavier (Glorot) uniform: U(−a, a) with a = gain·√(6/(fan_in+fan_out)).</summary>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(tensor);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Kaiming (He) normal: N(0, (gain/√fan)²) with gain = √(2/(1+a²)) for leaky ReLU of slope <paramref name="a"/>
    /// (PyTorch's defaults: a = 0, fan-in, "leaky_relu", so gain √2).</summary>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(tensor);
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(mode == FanMode.FanIn ? fanIn : fanOut);
        return Normal(tensor, 0.0, std, generator);
    }

    /// <summary>Kaiming (He) uniform: U(−b, b) with b = √3·gain/√fan. With a = √5 this is the default init of PyTorch's Conv2d and Linear weights.</summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(tensor);
        double bound = Math.Sqrt(3.0) * CalculateGain(nonlinearity, a) / Math.Sqrt(mode == FanMode.FanIn ? fanIn : fanOut);
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Fills with samples of N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0.0, double std = 1.0, Generator? generator = null)
    {
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Init.Normal: the standard deviation must be non-negative.");
        var g = generator ?? Generator.Default;
        Write(tensor, "Normal", host =>
        {
            if (host.DType == DType.Float32)
            {
                var s = host.Span<float>();
                for (int i = 0; i < s.Length; i++) s[i] = (float)(mean + std * g.NextNormal());
            }
            else
            {
                var s = host.Span<double>();
                for (int i = 0; i < s.Length; i++) s[i] = mean + std * g.NextNormal();
            }
        });
        return tensor;
    }

    /// <summary>Fills with samples of U(<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor Uniform(Tensor tensor, double low = 0.0, double high = 1.0, Generator? generator = null)
    {
        if (!(high >= low)) throw new ArgumentOutOfRangeException(nameof(high), high, $"Init.Uniform: expected low ≤ high, got [{low}, {high}].");
        var g = generator ?? Generator.Default;
        Write(tensor, "Uniform", host =>
        {
            if (host.DType == DType.Float32)
            {
                var s = host.Span<float>();
                for (int i = 0; i < s.Length; i++) s[i] = (float)g.NextUniform(low, high);
            }
            else
            {
                var s = host.Span<double>();
                for (int i = 0; i < s.Length; i++) s[i] = g.NextUniform(low, high);
            }
        });
        return tensor;
    }

    /// <summary>Fills with <paramref name="value"/>.</summary>
    public static Tensor Constant(Tensor tensor, double value)
    {
        Write(tensor, "Constant", host => host.FillInPlace(value));
        return tensor;
    }

    /// <summary>Fills with zeros.</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0.0);

    /// <summary>Fills with ones.</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1.0);

    /// <summary>Runs <paramref name="fill"/> on a dense host tensor and copies the result into <paramref name="tensor"/> when that is
    /// a device tensor or a strided view.</summary>
    private static void Write(Tensor tensor, string op, Action<Tensor> fill)
    {
        if (!tensor.DType.IsFloating() && op != "Constant")
            throw new ArgumentException($"Init.{op}: expected a Float32 or Float64 tensor, got {tensor.Describe()}.");
        if (_skipDepth > 0) return;
        if (tensor.Device.IsCpu && tensor.IsContiguous)
        {
            fill(tensor);
            return;
        }
        using var host = Tensor.Empty(tensor.Shape, tensor.DType);
        fill(host);
        tensor.CopyFrom(host);
    }
}
