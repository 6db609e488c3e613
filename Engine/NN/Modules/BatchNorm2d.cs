using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>
/// Batch normalisation over [B,C,H,W] per channel, PyTorch's <c>nn.BatchNorm2d</c>: parameters weight and bias (γ=1, β=0), buffers
/// running_mean (0), running_var (1) and num_batches_tracked (Int64 0). Training mode normalises with the batch statistics and
/// updates the running ones with <see cref="Momentum"/>; evaluation mode uses the running ones.
/// </summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels.</summary>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    {
        if (numFeatures <= 0) throw new ArgumentException($"BatchNorm2d: the number of channels must be positive, got {numFeatures}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        RegisterParameter("weight", affine ? Tensor.Ones([numFeatures]) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([numFeatures]) : null);
        RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros([numFeatures]) : null);
        RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones([numFeatures]) : null);
        RegisterBuffer("num_batches_tracked", trackRunningStats ? Tensor.Zeros([], DType.Int64) : null);
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch statistics in the running ones.</summary>
    public double Momentum { get; }

    /// <summary>Scale γ [C], or null without affine.</summary>
    public Tensor? Weight => GetParameter("weight");

    /// <summary>Shift β [C], or null without affine.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Running mean [C], or null when statistics are not tracked.</summary>
    public Tensor? RunningMean => GetBuffer("running_mean");

    /// <summary>Running (unbiased) variance [C], or null when statistics are not tracked.</summary>
    public Tensor? RunningVar => GetBuffer("running_var");

    /// <summary>Number of training batches seen (Int64 scalar), or null when statistics are not tracked.</summary>
    public Tensor? NumBatchesTracked => GetBuffer("num_batches_tracked");

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => Run(input, relu: false);

    /// <summary>max(<see cref="ForwardCore"/>(input), 0) as one fused op (<see cref="F.BatchNormRelu2d"/>): what <see cref="Sequential"/>
    /// runs for a BatchNorm2d followed by a ReLU, saving the intermediate tensor and a pass forward and backward.</summary>
    public Tensor ForwardRelu(Tensor input) => Run(input, relu: true);

    /// <summary>
    /// This batch norm applied to <paramref name="conv"/>(<paramref name="input"/>), then max(·, 0) when <paramref name="relu"/>.
    /// In evaluation-mode inference (running statistics, nothing recorded, host tensors) it runs as one fused op
    /// (<see cref="F.Conv2dBatchNormEval"/>: the convolution, then one scale-and-shift pass instead of a bias pass and a
    /// batch-norm pass); otherwise as the two layers, the same as calling them in turn.
    /// </summary>
    public Tensor ForwardAfterConv(Conv2d conv, Tensor input, bool relu = false)
    {
        if (!Training && RunningMean is { } mean && RunningVar is { } variance && conv.OutChannels == NumFeatures && input.Device.IsCpu &&
            !Autograd.Autograd.IsRecording(input, conv.Weight, conv.Bias) && !Autograd.Autograd.IsRecording(input, Weight, Bias))
            return conv.Counted(F.Conv2dBatchNormEval(input, conv.Weight, conv.Bias, Weight, Bias, mean, variance, Eps, relu, conv.Stride, conv.Padding, conv.Dilation));
        var convolved = conv.Forward(input);
        var y = Run(convolved, relu);
        Autograd.InferenceScope.ReleaseIntermediate(convolved);
        return y;
    }

    private Tensor Run(Tensor input, bool relu)
    {
        if (input.Rank != 4 || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"BatchNorm2d({NumFeatures}): expected input [B,{NumFeatures},H,W], got {input.Describe()}.");
        if (Training && input.Shape[0] * input.Shape[2] * input.Shape[3] == 1)
            throw new ArgumentException($"BatchNorm2d({NumFeatures}): training needs more than one value per channel to estimate a variance, got {input.Describe()} (as PyTorch).");
        var runningMean = RunningMean;
        var runningVar = RunningVar;
        bool useBatchStats = Training || runningMean == null;
        if (Training && NumBatchesTracked is { } counter) Increment(counter);
        return relu
            ? F.BatchNormRelu2d(input, Weight, Bias, runningMean, runningVar, useBatchStats, Momentum, Eps)
            : F.BatchNorm2d(input, Weight, Bias, runningMean, runningVar, useBatchStats, Momentum, Eps);
    }

    private static void Increment(Tensor counter)
    {
        if (counter.Device.IsCpu) counter.Span<long>()[0]++;
        else DeviceOps.For(counter).AddScalarInt64(counter, 1); // on the device: no host round trip per batch norm
    }

    /// <inheritdoc />
    public override string TypeName => "BatchNorm2d";
}
