namespace Astmt.Engine.Cuda.Backend;

// Sums over any set of dimensions and softmax along one (Kernels/reduce.cu, Kernels/loss.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void SumTo(Tensor x, Tensor y, int[] keptShape)
    {
        F32("sum", x);
        F32("sum", y);
        // Group the dimensions into alternating runs of kept and reduced ones, then reduce the runs from the innermost out:
        // each pass sees the data as [outer, mid, inner] and sums the middle.
        var shape = (int[])x.Shape.Clone();
        var reduced = new bool[shape.Length];
        for (int i = 0; i < shape.Length; i++) reduced[i] = keptShape[i] == 1 && shape[i] != 1;
        if (x.Numel == 0) { Fill(y, 0); return; }
        ulong current = Ptr(x);
        CudaDeviceVariable<float>? owned = null;
        try
        {
            int end = shape.Length;
            while (true)
            {
                int runEnd = end - 1;
                while (runEnd >= 0 && !reduced[runEnd]) runEnd--;
                if (runEnd < 0) break;
                int runStart = runEnd;
                while (runStart > 0 && (reduced[runStart - 1] || shape[runStart - 1] == 1)) runStart--;
                long outer = 1, mid = 1, inner = 1;
                for (int i = 0; i < runStart; i++) outer *= shape[i];
                for (int i = runStart; i <= runEnd; i++) mid *= shape[i];
                for (int i = runEnd + 1; i < shape.Length; i++) inner *= shape[i];
                bool last = !HasReducedBefore(reduced, runStart);
                ulong target;
                CudaDeviceVariable<float>? next = null;
                if (last) target = Ptr(y);
                else { next = Temp(outer * inner); target = next.DevicePointer; }
                if (inner == 1)
                    Launch("reduce_rows", new Dim3((uint)Math.Min(outer, 65535)), new Dim3(256), 0,
                        new KernelArgs().Ptr(target).Ptr(current).Int(checked((int)outer)).Int(checked((int)mid)));
                else
                    LaunchElements("reduce_mid", outer * inner,
                        new KernelArgs().Ptr(target).Ptr(current).Int(checked((int)outer)).Int(checked((int)mid)).Int(checked((int)inner)));
                owned?.Dispose();
                owned = next;
                current = target;
                for (int i = runStart; i <= runEnd; i++) { shape[i] = 1; reduced[i] = false; }
                end = runStart;
                if (last) return;
            }
            // Nothing reduced: a plain copy.
            Context.CopyDeviceToDevice(Ptr(y), current, (long)y.Numel * 4);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    private static bool HasReducedBefore(bool[] reduced, int index)
    {
        for (int i = 0; i < index; i++) if (reduced[i]) return true;
        return false;
    }

    /// <inheritdoc />
    public void Softmax(Tensor x, Tensor y, int outer, int size, int inner, bool log) =>
        LaunchElements("softmax_axis_fwd", (long)outer * inner, new KernelArgs().Ptr(F32("softmax", y)).Ptr(F32("softmax", x))
            .Int(outer).Int(size).Int(inner).Int(log ? 1 : 0));
}
