namespace Astmt.Engine.Ops;

// Device kernels of the optimizer updates (Engine/Optim): one fused pass per parameter, so the optimizer state never leaves the device.
public partial interface IDeviceOps
{
    /// <summary>One Adam step in place (PyTorch 1.13, L2 weight decay, no amsgrad): g' = g + wd·p; m = β1·m + (1 − β1)·g';
    /// v = β2·v + (1 − β2)·g'²; p ← p − lr·(m / bc1) / (√(v / bc2) + eps). All four tensors dense, same shape, on this device.</summary>
    void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double learningRate, double beta1, double beta2, double eps,
        double weightDecay, double biasCorrection1, double biasCorrection2) =>
        throw DeviceKernelMissing.Error("adam_step", param);

    /// <summary>One SGD step in place (PyTorch 1.13): d = g + wd·p; buf = first ? d : μ·buf + (1 − dampening)·d; d = nesterov ? d + μ·buf
    /// : buf; p ← p − lr·d. <paramref name="momentumBuffer"/> is null when μ = 0. All tensors dense, same shape, on this device.</summary>
    void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double learningRate, double momentum, double dampening, double weightDecay,
        bool nesterov, bool firstStep) =>
        throw DeviceKernelMissing.Error("sgd_step", param);
}
