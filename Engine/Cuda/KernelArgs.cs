using System.Runtime.CompilerServices;

namespace Astmt.Engine.Cuda;

/// <summary>
/// Kernel arguments packed for cuLaunchKernel without allocating: each scalar or pointer takes one 8-byte slot, a struct passed
/// by value takes as many slots as it needs, and <see cref="Pointers"/> builds the <c>void**</c> array the launch expects.
/// </summary>
public unsafe struct KernelArgs
{
    /// <summary>Most 8-byte slots one launch can use.</summary>
    public const int MaxSlots = 48;
    /// <summary>Most arguments one launch can pass.</summary>
    public const int MaxArgs = 32;

    private fixed ulong _slots[MaxSlots];
    private fixed int _start[MaxArgs];
    private int _slotCount;
    private int _count;

    /// <summary>Number of arguments added.</summary>
    public readonly int Count => _count;

    private void* Reserve(int bytes)
    {
        int slots = (bytes + 7) / 8;
        if (_count >= MaxArgs || _slotCount + slots > MaxSlots)
            throw new ArgumentException($"KernelArgs: more than {MaxArgs} arguments or {MaxSlots * 8} bytes of arguments.");
        _start[_count++] = _slotCount;
        fixed (ulong* s = _slots)
        {
            void* p = s + _slotCount;
            _slotCount += slots;
            return p;
        }
    }

    /// <summary>Adds a device pointer.</summary>
    public KernelArgs Ptr(ulong devicePointer) { *(ulong*)Reserve(8) = devicePointer; return this; }
    /// <summary>Adds an int.</summary>
    public KernelArgs Int(int value) { *(int*)Reserve(4) = value; return this; }
    /// <summary>Adds a long long.</summary>
    public KernelArgs Long(long value) { *(long*)Reserve(8) = value; return this; }
    /// <summary>Adds a float.</summary>
    public KernelArgs Float(float value) { *(float*)Reserve(4) = value; return this; }
    /// <summary>Adds a struct passed by value (its layout must match the kernel's C struct).</summary>
    public KernelArgs Struct<T>(in T value) where T : unmanaged
    {
        Unsafe.Write(Reserve(sizeof(T)), value);
        return this;
    }

    /// <summary>Writes the address of each argument into <paramref name="pointers"/> (length ≥ <see cref="Count"/>). The struct must
    /// not move while the pointers are used: call on a local and launch before it goes out of scope.</summary>
    public void Pointers(void** pointers)
    {
        fixed (ulong* s = _slots)
        fixed (int* start = _start)
            for (int i = 0; i < _count; i++) pointers[i] = s + start[i];
    }
}
