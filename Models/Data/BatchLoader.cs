using System.Collections.Concurrent;
using Astmt.Engine;

namespace Astmt.Models.Data;

/// <summary>
/// Turns a <see cref="IMultiTaskDataset"/> into batches: B×3×H×W float32 images and per-task targets (B×H×W int64 label
/// maps, B×C×H×W float32 values). The order of epoch e is a permutation derived only from (seed, e), and the augmentation
/// of a sample only from (seed, e, index), so the batch at any <see cref="LoaderPosition"/> is the same whether it was
/// reached by running or by <see cref="Seek"/> after a restart, and the same with or without prefetching.
/// </summary>
/// <remarks>
/// With <see cref="BatchLoaderOptions.PrefetchBatches"/> &gt; 0 a background task prepares the following batches in order
/// while the caller computes; the samples of one batch are loaded in parallel.
/// </remarks>
public sealed class BatchLoader : IDisposable
{
    private const ulong ShufflePurpose = 0x5348_5546;
    private const ulong AugmentPurpose = 0x4155_474D;

    private readonly IMultiTaskDataset _dataset;
    private readonly BatchLoaderOptions _options;
    private readonly ThreadLocal<MultiTaskSample> _samples;
    private int _orderEpoch = -1;
    private int[] _order = [];
    private readonly object _orderGate = new();

    private BlockingCollection<MultiTaskBatch>? _queue;
    private CancellationTokenSource? _cancel;
    private Task? _producer;
    private Exception? _producerError;

    /// <summary>Creates a loader positioned at epoch 0, step 0.</summary>
    public BatchLoader(IMultiTaskDataset dataset, BatchLoaderOptions options)
    {
        if (options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be positive, got {options.BatchSize}.");
        if (options.PrefetchBatches < 0) throw new ArgumentOutOfRangeException(nameof(options), $"PrefetchBatches must be >= 0, got {options.PrefetchBatches}.");
        _dataset = dataset;
        _options = options;
        StepsPerEpoch = options.DropLast ? dataset.Count / options.BatchSize : (dataset.Count + options.BatchSize - 1) / options.BatchSize;
        if (StepsPerEpoch == 0)
            throw new ArgumentException($"{dataset.Name}: {dataset.Count} samples make no complete batch of {options.BatchSize} with DropLast.");
        _samples = new ThreadLocal<MultiTaskSample>(() => new MultiTaskSample(dataset.Tasks, dataset.Height, dataset.Width));
    }

    /// <summary>Number of batches per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The position of the batch the next <see cref="Next"/> returns.</summary>
    public LoaderPosition Position { get; private set; }

    /// <summary>The dataset.</summary>
    public IMultiTaskDataset Dataset => _dataset;

    /// <summary>Moves to <paramref name="position"/> (e.g. one saved with a checkpoint); pending prefetched batches are dropped.</summary>
    public void Seek(LoaderPosition position)
    {
        if (position.Epoch < 0 || position.Step < 0 || position.Step >= StepsPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(position), $"{_dataset.Name}: position ({position}) is outside [0, {StepsPerEpoch}) steps per epoch.");
        StopProducer();
        Position = position;
    }

    /// <summary>The batch at the current position; then advances (to the next epoch after its last step).</summary>
    public MultiTaskBatch Next()
    {
        MultiTaskBatch batch;
        if (_options.PrefetchBatches == 0)
        {
            batch = Build(Position);
        }
        else
        {
            if (_queue == null) StartProducer(Position);
            if (!_queue!.TryTake(out var taken, Timeout.Infinite))
                throw new InvalidOperationException($"{_dataset.Name}: the background loader stopped at {Position}.", _producerError);
            batch = taken;
        }
        Position = Advance(Position);
        return batch;
    }

    /// <summary>The batches from the current position to the end of its epoch.</summary>
    public IEnumerable<MultiTaskBatch> RemainingInEpoch()
    {
        int epoch = Position.Epoch;
        while (Position.Epoch == epoch) yield return Next();
    }

    /// <summary>The sample order of <paramref name="epoch"/> (identity when not shuffling).</summary>
    public int[] EpochOrder(int epoch)
    {
        var order = new int[_dataset.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (_options.Shuffle)
        {
            var rng = DeterministicRandom.Derive(_options.Seed, (ulong)epoch, 0, ShufflePurpose);
            rng.Shuffle(order);
        }
        return order;
    }

    /// <summary>The dataset indices of the batch at <paramref name="position"/>.</summary>
    public int[] BatchIndices(LoaderPosition position)
    {
        int[] order;
        lock (_orderGate)
        {
            if (_orderEpoch != position.Epoch) { _order = EpochOrder(position.Epoch); _orderEpoch = position.Epoch; }
            order = _order;
        }
        int start = position.Step * _options.BatchSize;
        int count = Math.Min(_options.BatchSize, _dataset.Count - start);
        return order.AsSpan(start, count).ToArray();
    }

    /// <summary>Builds the batch at <paramref name="position"/> without moving the loader.</summary>
    public MultiTaskBatch Build(LoaderPosition position)
    {
        var indices = BatchIndices(position);
        int b = indices.Length, h = _dataset.Height, w = _dataset.Width, plane = h * w;
        var tasks = _dataset.Tasks;
        var images = Tensor.Empty([b, 3, h, w]);
        var targets = new Tensor[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
            targets[t] = tasks[t].Kind.IsLabelMap() ? Tensor.Empty([b, h, w], DType.Int64) : Tensor.Empty([b, tasks[t].Channels, h, w]);

        Parallel.For(0, b, new ParallelOptions { MaxDegreeOfParallelism = global::Astmt.Engine.Cpu.Parallelism.Threads }, i =>
        {
            var sample = _samples.Value!;
            _dataset.Load(indices[i], sample);
            if (_options.Augmentation != null)
            {
                var rng = DeterministicRandom.Derive(_options.Seed, (ulong)position.Epoch, (ulong)indices[i], AugmentPurpose);
                _options.Augmentation.Apply(sample, ref rng);
            }
            sample.Image.CopyTo(images.Span<float>().Slice(i * 3 * plane, 3 * plane));
            for (int t = 0; t < tasks.Count; t++)
            {
                if (tasks[t].Kind.IsLabelMap()) sample.Labels[t].CopyTo(targets[t].Span<long>().Slice(i * plane, plane));
                else
                {
                    int n = tasks[t].Channels * plane;
                    sample.Values[t].CopyTo(targets[t].Span<float>().Slice(i * n, n));
                }
            }
        });
        return new MultiTaskBatch(images, targets, tasks, indices, position);
    }

    /// <summary>Stops the background loader and releases prefetched batches.</summary>
    public void Dispose()
    {
        StopProducer();
        _samples.Dispose();
    }

    private LoaderPosition Advance(LoaderPosition p) =>
        p.Step + 1 < StepsPerEpoch ? p with { Step = p.Step + 1 } : new LoaderPosition(p.Epoch + 1, 0);

    private void StartProducer(LoaderPosition start)
    {
        var queue = new BlockingCollection<MultiTaskBatch>(_options.PrefetchBatches);
        var cancel = new CancellationTokenSource();
        _queue = queue;
        _cancel = cancel;
        _producerError = null;
        _producer = Task.Run(() =>
        {
            var p = start;
            try
            {
                while (!cancel.IsCancellationRequested)
                {
                    var batch = Build(p);
                    try { queue.Add(batch, cancel.Token); }
                    catch (OperationCanceledException) { batch.Dispose(); break; }
                    p = Advance(p);
                }
            }
            catch (Exception e) { _producerError = e; }
            finally { queue.CompleteAdding(); }
        });
    }

    private void StopProducer()
    {
        if (_queue == null) return;
        _cancel!.Cancel();
        while (_queue.TryTake(out var pending)) pending.Dispose();
        try { _producer!.Wait(); } catch (AggregateException) { }
        while (_queue.TryTake(out var pending)) pending.Dispose();
        _queue.Dispose();
        _cancel.Dispose();
        _queue = null;
        _cancel = null;
        _producer = null;
    }
}
