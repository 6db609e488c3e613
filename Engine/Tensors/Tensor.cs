using System.Runtime.CompilerServices;
using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;

namespace Astmt.Engine;

/// <summary>
/// An n-dimensional array with autograd. Layout is NCHW for images: B (batch), C (channels), H, W; K output channels and R×S
/// kernels for weights. A tensor is a view (shape, strides, offset) on a reference-counted <see cref="Storage"/>.
/// </summary>
/// <remarks>
/// Memory is deterministic without dispose scopes: tensors that ops produce while a graph is being recorded belong to the step
/// arena and go back to the pool when <see cref="Backward"/> frees the graph (call <see cref="Retain"/> to keep one past it).
/// Other tensors return their storage when disposed or, failing that, when the GC finalizes them.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;
    private bool _countsAsUnowned; // counted by BufferPool.BeforeUnownedRent until disposed
    private bool _requiresGrad;

    /// <summary>Sizes of each dimension.</summary>
    public int[] Shape { get; }

    /// <summary>Element strides of each dimension.</summary>
    /// <remarks>A tensor allocated dense makes its (row-major) stride array only when asked: most op outputs never are, and
    /// each array is garbage a training step would otherwise create.</remarks>
    public int[] Strides => _strides ??= ShapeUtil.ContiguousStrides(Shape);

    private int[]? _strides;

    /// <summary>Element offset of the first element in the storage.</summary>
    public int Offset { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Device of the storage.</summary>
    public Device Device { get; }

    /// <summary>Number of elements.</summary>
    public int Numel { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Accumulated gradient after <see cref="Backward"/>; null until then.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The node that produced this tensor, or null for a leaf.</summary>
    public Node? GradFn { get; internal set; }

    /// <summary>True when this tensor was not produced by a recorded op.</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>Whether gradients flow to this tensor. Settable on leaves only.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf) throw new InvalidOperationException($"RequiresGrad can only be set on a leaf tensor; this one was produced by '{GradFn!.OpName}'.");
            if (value && !DType.IsFloating()) throw new InvalidOperationException($"Only floating-point tensors can require gradients, not {DType}.");
            _requiresGrad = value;
        }
    }

    /// <summary>Optional name used in error messages and state dicts.</summary>
    public string? Name { get; set; }

    /// <summary>True when the step arena owns this tensor (it is released when the graph is freed).</summary>
    internal bool InArena { get; set; }

    /// <summary>True while an <see cref="InferenceScope"/> owns this tensor (a no-grad op output inside a module's forward).</summary>
    internal bool InScope { get; set; }

    /// <summary>Depth of the inference-scope frame that owns this tensor.</summary>
    internal int ScopeDepth { get; set; }

    /// <summary>Set by <see cref="InferenceScope"/> on the tensors a frame returns.</summary>
    internal int ScopeStamp { get; set; }

    /// <summary>True once <see cref="Retain"/> was called: the tensor outlives the release of its step.</summary>
    public bool IsRetained { get; private set; }

    // strides: null for a dense row-major layout (made on demand by Strides).
    internal Tensor(Storage storage, int[] shape, int[]? strides, int offset, bool addRef)
    {
        if (addRef) storage.AddRef();
        _storage = storage;
        Shape = shape;
        _strides = strides;
        Offset = offset;
        DType = storage.DType;
        Device = storage.Device;
        Numel = ShapeUtil.Numel(shape);
    }

    /// <summary>Returns the storage to its pool when the GC finds a tensor nobody released.</summary>
    ~Tensor() => ReleaseStorage();

    /// <summary>The storage, or a clear error when it was released.</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor),
        $"Tensor {Describe()} was released{(InArena ? " when its graph was freed by Backward()" : "")}. " +
        "Read what you need before Backward(), or call Retain() on the tensor to keep it past the step.");

    /// <summary>True once the storage has been released.</summary>
    public bool IsReleased => _storage == null;

    /// <summary>Keeps this tensor alive past the release of its step's arena (for example predictions read after Backward()).</summary>
    public Tensor Retain()
    {
        IsRetained = true;
        return this;
    }

    /// <summary>Returns the storage to the pool now. Further access throws.</summary>
    public void Dispose()
    {
        if (_countsAsUnowned && !IsReleased)
        {
            _countsAsUnowned = false;
            BufferPool.AfterUnownedDispose((long)Numel * DType.SizeOf());
        }
        ReleaseStorage();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops counting this tensor towards <see cref="BufferPool.BeforeUnownedRent"/>'s collection, as if it were
    /// disposed: an owner (the step arena) now frees it.</summary>
    internal void ForgetUnownedCount()
    {
        if (!_countsAsUnowned || IsReleased) return;
        _countsAsUnowned = false;
        BufferPool.AfterUnownedDispose((long)Numel * DType.SizeOf());
    }

    internal void ReleaseStorage()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        s?.Release();
    }

    /// <summary>A short description: shape, dtype and device, for messages.</summary>
    public string Describe() => $"[{string.Join('x', Shape)}] {DType} on {Device}";

    /// <inheritdoc />
    public override string ToString() => $"Tensor{Describe()}{(GradFn != null ? $" grad_fn={GradFn.OpName}" : "")}";

    // ------------------------------------------------------------------ creation

    /// <summary>A new uninitialised tensor owned by the caller (not the step arena).</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype = DType.Float32, Device? device = null) =>
        Allocate(shape.ToArray(), dtype, device ?? Engine.Device.Cpu, clear: false, arena: false);

    /// <summary>A new zero-filled tensor.</summary>
    public static Tensor Zeros(ReadOnlySpan<int> shape, DType dtype = DType.Float32, Device? device = null) =>
        Allocate(shape.ToArray(), dtype, device ?? Engine.Device.Cpu, clear: true, arena: false);

    /// <summary>A new tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(ReadOnlySpan<int> shape, double value, DType dtype = DType.Float32)
    {
        var t = Allocate(shape.ToArray(), dtype, Engine.Device.Cpu, clear: false, arena: false);
        t.FillInPlace(value);
        return t;
    }

    /// <summary>A new tensor of ones.</summary>
    public static Tensor Ones(ReadOnlySpan<int> shape, DType dtype = DType.Float32) => Full(shape, 1.0, dtype);

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => Full(ReadOnlySpan<int>.Empty, value, dtype);

    /// <summary>Copies <paramref name="data"/> into a new float32 tensor of the given shape.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => FromSpan<float>(data, shape);

    /// <summary>Copies <paramref name="data"/> into a new float64 tensor of the given shape.</summary>
    public static Tensor FromArray(double[] data, params int[] shape) => FromSpan<double>(data, shape);

    /// <summary>Copies <paramref name="data"/> into a new int64 tensor of the given shape.</summary>
    public static Tensor FromArray(long[] data, params int[] shape) => FromSpan<long>(data, shape);

    /// <summary>Copies <paramref name="data"/> into a new tensor of the given shape.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, params int[] shape) where T : unmanaged
    {
        int n = ShapeUtil.Numel(shape);
        if (n != data.Length)
            throw new ArgumentException($"FromArray: {data.Length} elements cannot fill shape [{string.Join('x', shape)}] ({n} elements).");
        var t = Allocate((int[])shape.Clone(), DTypeInfo.Of<T>(), Engine.Device.Cpu, clear: false, arena: false);
        data.CopyTo(t.Span<T>());
        return t;
    }

    /// <summary>Allocates the output of an op: owned by the step arena while a graph is being recorded.</summary>
    internal static Tensor NewOutput(int[] shape, DType dtype, Device device, bool clear = false) =>
        Allocate(shape, dtype, device, clear, arena: StepArena.ShouldOwnOutputs, scoped: InferenceScope.IsOpen);

    /// <summary>Allocates an op output shaped and typed like <paramref name="like"/>.</summary>
    internal static Tensor NewOutputLike(Tensor like, bool clear = false) =>
        NewOutput((int[])like.Shape.Clone(), like.DType, like.Device, clear);

    private static Tensor Allocate(int[] shape, DType dtype, Device device, bool clear, bool arena, bool scoped = false)
    {
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"Negative dimension in shape [{string.Join('x', shape)}].");
        int n = ShapeUtil.Numel(shape);
        scoped &= !arena;
        bool unowned = !arena && !scoped && device.IsCpu;
        if (unowned) BufferPool.BeforeUnownedRent((long)n * dtype.SizeOf());
        Storage storage = device.IsCpu
            ? Storage.RentHost(dtype, n, clear)
            : DeviceRegistry.Get(device).Allocate(dtype, n, clear);
        var t = new Tensor(storage, shape, strides: null, 0, addRef: false);
        if (arena) StepArena.Register(t);
        else if (scoped) InferenceScope.Register(t);
        else t._countsAsUnowned = unowned;
        return t;
    }

    /// <summary>A view sharing this tensor's storage (no autograd link; ops add that).</summary>
    internal Tensor View(int[] shape, int[] strides, int offset)
    {
        var v = new Tensor(Storage, shape, strides, offset, addRef: true);
        if (StepArena.ShouldOwnOutputs) StepArena.Register(v);
        else if (InferenceScope.IsOpen) InferenceScope.Register(v);
        return v;
    }

    // ------------------------------------------------------------------ element access

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous => _strides == null || ShapeUtil.IsContiguous(Shape, _strides);

    /// <summary>The elements of a contiguous host tensor as a span.</summary>
    public Span<T> Span<T>() where T : unmanaged
    {
        var s = Storage;
        if (!Device.IsCpu) throw new InvalidOperationException($"Span<{typeof(T).Name}>() needs a host tensor; this one is {Describe()}. Call To(Device.Cpu) first.");
        if (DTypeInfo.Of<T>() != DType) throw new InvalidOperationException($"Span<{typeof(T).Name}>() on a {DType} tensor {Describe()}.");
        if (!IsContiguous) throw new InvalidOperationException($"Span<{typeof(T).Name}>() needs a contiguous tensor; call Contiguous() on {Describe()}.");
        return new Span<T>(Unsafe.As<T[]>(s.Host!), Offset, Numel);
    }

    /// <summary>Copies the elements, in row-major order, to a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var host = Device.IsCpu ? this : To(Engine.Device.Cpu);
        var c = host.IsContiguous ? host : host.ContiguousCopy();
        return c.Span<T>().ToArray();
    }

    /// <summary>The elements converted to float64, in row-major order (any dtype).</summary>
    public double[] ToDoubleArray() => DType switch
    {
        DType.Float32 => Array.ConvertAll(ToArray<float>(), v => (double)v),
        DType.Float64 => ToArray<double>(),
        _ => Array.ConvertAll(ToArray<long>(), v => (double)v),
    };

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; this one is {Describe()}.");
        return ToDoubleArray()[0];
    }

    /// <summary>Fills every element with <paramref name="value"/> in place (no autograd).</summary>
    public void FillInPlace(double value)
    {
        var c = RequireContiguousHost("Fill");
        switch (DType)
        {
            case DType.Float32: c.Span<float>().Fill((float)value); break;
            case DType.Float64: c.Span<double>().Fill(value); break;
            default: c.Span<long>().Fill((long)value); break;
        }
    }

    /// <summary>Copies the elements of <paramref name="source"/> (same shape and dtype) into this tensor in place (no autograd).</summary>
    public void CopyFrom(Tensor source)
    {
        if (!ShapeUtil.Same(Shape, source.Shape) || DType != source.DType)
            throw new ArgumentException($"CopyFrom: expected {Describe()}, got {source.Describe()}.");
        if (!Device.IsCpu || !source.Device.IsCpu)
        {
            DeviceRegistry.Copy(source, this);
            return;
        }
        var src = source.IsContiguous ? source : source.ContiguousCopy();
        var dst = RequireContiguousHost("CopyFrom");
        switch (DType)
        {
            case DType.Float32: src.Span<float>().CopyTo(dst.Span<float>()); break;
            case DType.Float64: src.Span<double>().CopyTo(dst.Span<double>()); break;
            default: src.Span<long>().CopyTo(dst.Span<long>()); break;
        }
    }

    private Tensor RequireContiguousHost(string op)
    {
        if (!Device.IsCpu) throw new InvalidOperationException($"{op} in place needs a host tensor; got {Describe()}.");
        if (!IsContiguous) throw new InvalidOperationException($"{op} in place needs a contiguous tensor; got a strided view {Describe()}.");
        return this;
    }

    /// <summary>A dense row-major copy (no autograd link; use F.Contiguous in graphs).</summary>
    internal Tensor ContiguousCopy()
    {
        var dst = NewOutput((int[])Shape.Clone(), DType, Device);
        if (!Device.IsCpu) { DeviceRegistry.Copy(this, dst); return dst; }
        switch (DType)
        {
            case DType.Float32: StridedCopy.Gather(this, dst.Span<float>()); break;
            case DType.Float64: StridedCopy.Gather(this, dst.Span<double>()); break;
            default: StridedCopy.Gather(this, dst.Span<long>()); break;
        }
        return dst;
    }

    /// <summary>The raw storage array of a host tensor (with <see cref="Offset"/> and <see cref="Strides"/> applying).</summary>
    internal T[] HostArray<T>() where T : unmanaged => Unsafe.As<T[]>(Storage.Host!);

    /// <summary>A new tensor that shares nothing with the graph: same values, no gradient history, owned by the caller.</summary>
    public Tensor Detach()
    {
        var t = Allocate((int[])Shape.Clone(), DType, Device, clear: false, arena: false);
        t.CopyFrom(this);
        return t;
    }

    /// <summary>Copies this tensor to <paramref name="device"/> (a new tensor owned by the caller).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return this;
        var t = Allocate((int[])Shape.Clone(), DType, device, clear: false, arena: false);
        DeviceRegistry.Copy(IsContiguous ? this : ContiguousCopy(), t);
        return t;
    }

    /// <summary>Converts the elements to <paramref name="dtype"/>: a new tensor owned by the caller, on this tensor's device for
    /// float32 ↔ Int64 on a device (label maps stay where they are), else on the host.</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        if (!Device.IsCpu && DType is (DType.Float32 or DType.Int64) && dtype is (DType.Float32 or DType.Int64))
        {
            var source = IsContiguous ? this : ContiguousCopy();
            var converted = Allocate((int[])Shape.Clone(), dtype, Device, clear: false, arena: false);
            Ops.DeviceOps.For(source).Convert(source, converted);
            return converted;
        }
        var values = ToDoubleArray();
        var t = Allocate((int[])Shape.Clone(), dtype, Engine.Device.Cpu, clear: false, arena: false);
        switch (dtype)
        {
            case DType.Float32: { var s = t.Span<float>(); for (int i = 0; i < s.Length; i++) s[i] = (float)values[i]; break; }
            case DType.Float64: values.CopyTo(t.Span<double>()); break;
            default: { var s = t.Span<long>(); for (int i = 0; i < s.Length; i++) s[i] = (long)values[i]; break; }
        }
        return t;
    }
}

public sealed partial class Tensor
{
    /// <summary>A new caller-owned tensor for state that lives across steps (a leaf's gradient, optimizer moments). On the host its
    /// array is newly created rather than taken from the pool, so creating such state during the first step does not take the
    /// arrays that step's temporaries returned and the next step needs again (see <see cref="BufferPool.RentNew{T}"/>).</summary>
    internal static Tensor NewPersistent(ReadOnlySpan<int> shape, DType dtype, Device device, bool clear)
    {
        if (!device.IsCpu) return clear ? Zeros(shape, dtype, device) : Empty(shape, dtype, device);
        var owned = shape.ToArray();
        int n = ShapeUtil.Numel(owned);
        BufferPool.BeforeUnownedRent((long)n * dtype.SizeOf());
        // Counted until disposed, so state that is dropped and disposed every step (a gradient set to none) never adds up to
        // the unowned threshold's induced collection.
        return new Tensor(Storage.RentHostNew(dtype, n, clear), owned, strides: null, 0, addRef: false) { _countsAsUnowned = true };
    }

    /// <summary>As <see cref="Detach"/>, into a tensor made by <see cref="NewPersistent"/>.</summary>
    internal Tensor DetachPersistent()
    {
        var t = NewPersistent(Shape, DType, Device, clear: false);
        t.CopyFrom(this);
        return t;
    }

    internal void SetProducer(Autograd.Node node)
    {
        GradFn = node;
        _requiresGrad = true;
    }

    /// <summary>A tensor of ones shaped like <paramref name="like"/> (the seed of a scalar backward).</summary>
    internal static Tensor NewOutputLikeOnes(Tensor like)
    {
        var t = NewOutputLike(like);
        if (t.Device.IsCpu) t.FillInPlace(1.0);
        else Ops.DeviceOps.For(t).Fill(t, 1.0);
        return t;
    }

    /// <summary>Computes gradients of this scalar loss and accumulates them into the <see cref="Grad"/> of every leaf that requires one.
    /// Unless <paramref name="retainGraph"/>, the graph is freed and the step's intermediates go back to the pool.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false) =>
        Autograd.Autograd.Backward(this, gradient, retainGraph, createGraph);
}
