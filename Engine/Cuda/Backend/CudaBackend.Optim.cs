using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

// Adam and SGD updates (Kernels/optim.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double learningRate, double beta1, double beta2, double eps,
        double weightDecay, double biasCorrection1, double biasCorrection2)
    {
        CheckUpdateOperand("adam_step", param, grad);
        CheckUpdateOperand("adam_step", param, expAvg);
        CheckUpdateOperand("adam_step", param, expAvgSq);
        LaunchElements("adam_step", param.Numel, new KernelArgs().Ptr(F32("adam_step", param)).Ptr(F32("adam_step", expAvg))
            .Ptr(F32("adam_step", expAvgSq)).Ptr(F32("adam_step", grad)).Long(param.Numel)
            .Float((float)learningRate).Float((float)beta1).Float((float)beta2).Float((float)eps).Float((float)weightDecay)
            .Float((float)biasCorrection1).Float((float)biasCorrection2).Int(0));
    }

    /// <inheritdoc />
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double learningRate, double momentum, double dampening, double weightDecay,
        bool nesterov, bool firstStep)
    {
        CheckUpdateOperand("sgd_step", param, grad);
        if (momentum != 0)
        {
            if (momentumBuffer == null) throw new ArgumentException($"sgd_step: momentum {momentum} needs a momentum buffer like {param.Describe()}; got none.");
            CheckUpdateOperand("sgd_step", param, momentumBuffer);
        }
        LaunchElements("sgd_step", param.Numel, new KernelArgs().Ptr(F32("sgd_step", param)).Ptr(momentum != 0 ? F32("sgd_step", momentumBuffer!) : 0)
            .Ptr(F32("sgd_step", grad)).Long(param.Numel)
            .Float((float)learningRate).Float((float)momentum).Float((float)dampening).Float((float)weightDecay)
            .Int(nesterov ? 1 : 0).Int(firstStep ? 1 : 0));
    }

    private static void CheckUpdateOperand(string kernel, Tensor param, Tensor operand)
    {
        if (param.DType != DType.Float32 || operand.DType != DType.Float32 || !ShapeUtil.Same(param.Shape, operand.Shape))
            throw new ArgumentException($"{kernel}: expected float32 tensors shaped like the parameter {param.Describe()}; got {operand.Describe()}.");
    }
}
