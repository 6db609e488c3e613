using Astmt.Engine;

namespace Astmt.Train.Experiments;

/// <summary>
/// An experiment's resumable state as named tensors and string metadata, the shape of a safetensors file. By convention
/// tensor names are prefixed by their role: <c>model.</c> weights and buffers, <c>optim.</c> optimizer moments and counters,
/// <c>rng.</c> generator states, <c>weighting.</c> weighting state.
/// </summary>
/// <param name="Tensors">Named tensors.</param>
/// <param name="Metadata">Named strings (for example the optimizer's step count or the model's configuration).</param>
public sealed record ExperimentState(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);
