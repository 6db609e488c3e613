using System.Collections.Concurrent;
using System.Reflection;

namespace Astmt.Engine.Autograd;

/// <summary>
/// Finds the tensors a node keeps for its backward (its <see cref="Tensor"/> and <see cref="Tensor"/>[] fields, and its inputs),
/// so that a plain Backward can release each saved activation right after the last node that reads it has run, instead of
/// holding every activation until the whole graph is freed. That lowers the peak of a training step: PyTorch frees saved
/// tensors the same way.
/// </summary>
/// <remarks>
/// Nodes are found by reflection once per node type. A node type with a field that could hold a tensor some other way (an
/// object, a delegate, a collection, another node) is opaque: a graph that contains one keeps every activation to the end.
/// </remarks>
internal static class SavedTensors
{
    // Structs are followed one level (for example a record struct of batch statistics, possibly nullable).
    private sealed record Layout(FieldInfo[] Tensors, FieldInfo[] TensorArrays, (FieldInfo Outer, FieldInfo[] Inner)[] Structs, bool Opaque);

    private static readonly ConcurrentDictionary<Type, Layout> Layouts = new();

    /// <summary>True when every tensor <paramref name="node"/> can hold is visible to <see cref="ForEach"/>.</summary>
    public static bool IsTransparent(Node node) => !LayoutOf(node.GetType()).Opaque;

    /// <summary>Calls <paramref name="visit"/> for each tensor the node holds (saved fields and inputs), once per reference.</summary>
    public static void ForEach<TState>(Node node, ref TState state, Visitor<TState> visit)
    {
        foreach (var t in node.Inputs) if (t != null) visit(t, ref state);
        var layout = LayoutOf(node.GetType());
        foreach (var f in layout.Tensors)
            if (f.GetValue(node) is Tensor t) visit(t, ref state);
        foreach (var f in layout.TensorArrays)
            if (f.GetValue(node) is Tensor?[] array)
                foreach (var t in array) if (t != null) visit(t, ref state);
        foreach (var (outer, inner) in layout.Structs)
        {
            if (outer.GetValue(node) is not { } boxed) continue;
            foreach (var f in inner)
                if (f.GetValue(boxed) is Tensor t) visit(t, ref state);
        }
    }

    /// <summary>How many nodes of <paramref name="nodes"/> read each step-owned tensor, counted into <paramref name="readers"/>
    /// (cleared first), or null when a node is opaque.</summary>
    public static Dictionary<Tensor, int>? CountReaders(List<Node> nodes, Dictionary<Tensor, int> readers)
    {
        foreach (var n in nodes) if (!IsTransparent(n)) return null;
        readers.Clear();
        foreach (var n in nodes)
            ForEach(n, ref readers, static (Tensor t, ref Dictionary<Tensor, int> r) =>
            {
                if (t.InArena) r[t] = r.TryGetValue(t, out var c) ? c + 1 : 1;
            });
        return readers;
    }

    /// <summary>
    /// After <paramref name="node"/>'s backward ran, releases each step-owned tensor it read that no node still to run reads,
    /// unless it is retained, one of the <paramref name="roots"/> Backward started from, or a gradient still in use.
    /// </summary>
    public static void ReleaseAfter(Node node, Dictionary<Tensor, int> readers, Tensor[] roots, Dictionary<Node, Tensor> pending, Tensor?[] inFlight)
    {
        var state = (readers, roots, pending, inFlight);
        ForEach(node, ref state, static (Tensor t, ref (Dictionary<Tensor, int> Readers, Tensor[] Roots, Dictionary<Node, Tensor> Pending, Tensor?[] InFlight) s) =>
        {
            if (!s.Readers.TryGetValue(t, out var c)) return;
            if (c > 1) { s.Readers[t] = c - 1; return; }
            s.Readers.Remove(t);
            if (!t.InArena || t.IsRetained || Array.IndexOf(s.Roots, t) >= 0 || Array.IndexOf(s.InFlight, t) >= 0) return;
            foreach (var g in s.Pending.Values) if (ReferenceEquals(g, t)) return;
            t.ReleaseStorage();
        });
    }

    /// <summary>A visitor over saved tensors with caller state.</summary>
    public delegate void Visitor<TState>(Tensor tensor, ref TState state);

    private static Layout LayoutOf(Type type) => Layouts.GetOrAdd(type, Analyse);

    private static Layout Analyse(Type type)
    {
        var tensors = new List<FieldInfo>();
        var arrays = new List<FieldInfo>();
        var structs = new List<(FieldInfo, FieldInfo[])>();
        bool opaque = false;
        for (var t = type; t != null && t != typeof(Node); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (f.FieldType == typeof(Tensor)) tensors.Add(f);
                else if (f.FieldType == typeof(Tensor[])) arrays.Add(f);
                else if (!CanHoldTensor(f.FieldType, new HashSet<Type>())) continue;
                else if (TensorStruct(f.FieldType) is { } inner) structs.Add((f, inner));
                else opaque = true;
            }
        return new Layout([.. tensors], [.. arrays], [.. structs], opaque);
    }

    // The tensor fields of a struct whose other fields cannot hold tensors, or null.
    private static FieldInfo[]? TensorStruct(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (!t.IsValueType) return null;
        var inner = new List<FieldInfo>();
        foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            if (f.FieldType == typeof(Tensor)) inner.Add(f);
            else if (CanHoldTensor(f.FieldType, new HashSet<Type>())) return null;
        }
        return [.. inner];
    }

    // Conservative: anything that might reach a tensor through a path ForEach does not follow counts.
    private static bool CanHoldTensor(Type t, HashSet<Type> seen)
    {
        if (t == typeof(Tensor) || typeof(Node).IsAssignableFrom(t)) return true;
        if (t.IsPrimitive || t.IsEnum || t.IsPointer || t == typeof(string) || t == typeof(decimal)) return false;
        if (t.IsArray) return CanHoldTensor(t.GetElementType()!, seen);
        if (t == typeof(object) || t.IsInterface || t.IsAbstract || typeof(Delegate).IsAssignableFrom(t)) return true;
        if (!t.IsSealed && !t.IsValueType) return true; // a subclass could add tensor fields
        if (!seen.Add(t)) return false;
        for (var b = t; b != null && b != typeof(object) && b != typeof(ValueType); b = b.BaseType)
            foreach (var f in b.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (CanHoldTensor(f.FieldType, seen)) return true;
        return false;
    }
}
