using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;

namespace Astmt.Engine.Autograd;

/// <summary>
/// Finds the tensors a forward's return value holds, so <see cref="InferenceScope"/> keeps them: the value itself when it is a
/// tensor, and the tensors inside arrays, materialised collections (lists, dictionaries: anything that is an
/// <see cref="ICollection"/>), tuples, records, structs and classes, recursively. How to walk each runtime type is worked out once
/// by reflection and cached.
/// </summary>
internal static class ReachableTensors
{
    private enum Kind { Leaf, Tensor, Collection, Fields, Opaque }

    private sealed record Plan(Kind Kind, FieldInfo[] Fields);

    private static readonly ConcurrentDictionary<Type, Plan> Plans = new();
    private static readonly Plan LeafPlan = new(Kind.Leaf, []);
    private const int MaxDepth = 32;

    [ThreadStatic] private static HashSet<object>? _visited;

    /// <summary>Stamps every tensor reachable from <paramref name="value"/> with <paramref name="stamp"/>. Returns false when
    /// part of the value could hold tensors in a way this walk does not follow (a delegate, a lazy sequence, nesting deeper than
    /// 32): the caller must then treat every tensor as reachable.</summary>
    public static bool Mark<T>(T value, int stamp)
    {
        if (value is Tensor t) { t.ScopeStamp = stamp; return true; } // the common case: no boxing, no walk
        if (value is null) return true;
        var visited = _visited ??= new HashSet<object>(ReferenceEqualityComparer.Instance);
        try { return Walk(value, stamp, visited, 0); }
        finally { visited.Clear(); }
    }

    private static bool Walk(object value, int stamp, HashSet<object> visited, int depth)
    {
        if (value is Tensor t) { t.ScopeStamp = stamp; return true; }
        if (depth > MaxDepth) return false;
        var type = value.GetType();
        var plan = Plans.GetOrAdd(type, Build);
        if (plan.Kind == Kind.Leaf) return true;
        if (plan.Kind == Kind.Opaque) return false;
        if (!type.IsValueType && !visited.Add(value)) return true;
        if (plan.Kind == Kind.Collection)
        {
            foreach (var item in (IEnumerable)value)
                if (item != null && !Walk(item, stamp, visited, depth + 1)) return false;
            return true;
        }
        foreach (var field in plan.Fields)
            if (field.GetValue(value) is { } child && !Walk(child, stamp, visited, depth + 1)) return false;
        return true;
    }

    private static Plan Build(Type type)
    {
        if (type == typeof(Tensor)) return new Plan(Kind.Tensor, []);
        if (IsLeaf(type)) return LeafPlan;
        if (typeof(Delegate).IsAssignableFrom(type) || type.IsPointer) return new Plan(Kind.Opaque, []);
        if (type.IsArray || typeof(ICollection).IsAssignableFrom(type)) return new Plan(Kind.Collection, []);
        // A sequence that is not a materialised collection (an iterator, a LINQ query) could run code when enumerated.
        if (typeof(IEnumerable).IsAssignableFrom(type)) return new Plan(Kind.Opaque, []);
        var fields = new List<FieldInfo>();
        for (var t = type; t != null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (!IsLeaf(f.FieldType)) fields.Add(f);
        return fields.Count == 0 ? LeafPlan : new Plan(Kind.Fields, [.. fields]);
    }

    // Types that cannot hold a tensor. Modules are leaves too: their parameters and buffers are not the scope's, and a
    // forward's result that points back at a module must not make the walk visit the whole network.
    private static bool IsLeaf(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(DateTime) ||
        type == typeof(TimeSpan) || type == typeof(Guid) || typeof(Type).IsAssignableFrom(type) || typeof(NN.Module).IsAssignableFrom(type) ||
        (type.IsValueType && Nullable.GetUnderlyingType(type) is { } inner && IsLeaf(inner));
}
