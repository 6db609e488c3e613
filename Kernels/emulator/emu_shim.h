// CUDA C as plain C++: the emulator's shim header.
//
// What: maps CUDA's keywords, built-in variables and intrinsics onto the fiber runtime in emu_runtime.cpp, so that the very
// same Kernels/*.cu files NVRTC compiles also build with g++ into libastmt_emu.so.
// Why: no machine we reach has a GPU; running the real kernel sources under CUDA's execution model (blocks, warps of 32,
// barriers, per-block shared memory) is how we prove them.
// How: every CUDA thread of a block is a fiber on one OS thread; __syncthreads() and every warp-collective yield to the
// block's scheduler, which resumes the fibers in a chosen order (forward, reverse, seeded random). `__shared__` is
// `static thread_local`: the fibers of a block share their OS thread, and an OS thread runs one block at a time.
// threadIdx, blockIdx, blockDim and gridDim are read from a FiberView at the bottom of the running fiber's stack.
#pragma once
#include <atomic>
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <type_traits>
#include <utility>

#define __global__
#define __device__ static inline
#define __host__
#define __forceinline__
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static thread_local

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x = 1, y = 1, z = 1; };

namespace astmt_emu {

/// One CUDA thread: the state the block scheduler keeps.
struct Fiber;
/// One OS thread of the emulator: the block it runs and its fibers.
struct Worker;

/// What the kernels of the block an OS thread runs read about it (kept by that thread's worker).
struct BlockView
{
    uint3 index, size, grid; // blockIdx, blockDim, gridDim (named apart from the macros)
    void* shared;
};

/// Every fiber's stack is FiberStackBytes long and aligned to its length, and holds this view near its lowest address (far
/// from the top, where the stack grows down from), so a CUDA thread finds its own state from any address on its stack: no
/// thread_local lookup, which in a shared library is a __tls_get_addr call on every threadIdx.
struct FiberView
{
    uint3 tid;
    int linear;
    const BlockView* block;
    Fiber* fiber;
    Worker* worker;
};

constexpr std::size_t FiberStackBytes = 64 * 1024;

/// A per-stack offset of 0 to 63 cache lines, from the stack's own address bits: the views (and stack tops) of a block's
/// threads all sit at 64 KiB-aligned bases, which would otherwise put every one of them in the same cache set.
static inline std::uintptr_t stack_color(std::uintptr_t base) { return (((base >> 16) ^ (base >> 22)) & 63) * 64; }

/// The view of the fiber stack that starts at <paramref name="base"/>.
static inline FiberView* view_at(std::uintptr_t base) { return reinterpret_cast<FiberView*>(base + stack_color(base)); }

/// The running CUDA thread's view (device code only: it must run on a fiber stack). The stack address goes through an asm
/// statement so the compiler cannot trace it to a local object: it would then treat the view as that object and drop the
/// stores made through it (the scheduler reads them).
static inline FiberView* fiber_view()
{
    std::uintptr_t address;
#if defined(__x86_64__)
    asm("movq %%rsp, %0" : "=r"(address));
#else
    char onThisStack;
    address = reinterpret_cast<std::uintptr_t>(&onThisStack);
    asm("" : "+r"(address));
#endif
    return view_at(address & ~static_cast<std::uintptr_t>(FiberStackBytes - 1));
}

static inline uint3 const& thread_idx() { return fiber_view()->tid; }
static inline int lane_id() { return fiber_view()->linear & 31; }
static inline void* dynamic_shared() { return fiber_view()->block->shared; }

void block_barrier();
void warp_barrier(unsigned mask);
/// Warp exchange: publishes this lane's bits, waits for the warp, reads lane srcLane's bits, waits again.
uint64_t warp_exchange(unsigned mask, uint64_t bits, int srcLane);
/// Ballot over the live lanes of the mask.
unsigned warp_ballot(unsigned mask, bool predicate);

using Trampoline = void (*)(void* fn, void** args);
void register_kernel(const char* name, void* fn, Trampoline trampoline);

template <class... A, std::size_t... I>
void invoke_with(void (*f)(A...), void** args, std::index_sequence<I...>)
{
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

/// Calls a kernel with cuLaunchKernel's argument shape: args[i] points at the value of parameter i.
template <class... A>
void invoke(void* fn, void** args)
{
    invoke_with(reinterpret_cast<void (*)(A...)>(fn), args, std::index_sequence_for<A...>{});
}

template <class... A>
Trampoline trampoline_for(void (*)(A...)) { return &invoke<A...>; }

struct Registrar
{
    template <class... A>
    Registrar(const char* name, void (*fn)(A...)) { register_kernel(name, reinterpret_cast<void*>(fn), trampoline_for(fn)); }
};

template <class T>
static inline uint64_t to_bits(T v) { static_assert(sizeof(T) <= 8); uint64_t b = 0; std::memcpy(&b, &v, sizeof(T)); return b; }
template <class T>
static inline T from_bits(uint64_t b) { T v; std::memcpy(&v, &b, sizeof(T)); return v; }

} // namespace astmt_emu

#define threadIdx (::astmt_emu::thread_idx())
#define blockIdx (::astmt_emu::fiber_view()->block->index)
#define blockDim (::astmt_emu::fiber_view()->block->size)
#define gridDim (::astmt_emu::fiber_view()->block->grid)
static constexpr int warpSize = 32;

#define ASTMT_REGISTER_KERNEL(name) static ::astmt_emu::Registrar astmt_registrar_##name(#name, &name);
#define ASTMT_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::astmt_emu::dynamic_shared())

static inline void __syncthreads() { ::astmt_emu::block_barrier(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { ::astmt_emu::warp_barrier(mask); }
static inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
static inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    int lane = ::astmt_emu::lane_id();
    int base = lane & ~(width - 1);
    int from = base + (src & (width - 1));
    return ::astmt_emu::from_bits<T>(::astmt_emu::warp_exchange(mask, ::astmt_emu::to_bits(v), from));
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    int lane = ::astmt_emu::lane_id();
    int seg = lane & (width - 1);
    int from = seg + (int)delta < width ? lane + (int)delta : lane;
    return ::astmt_emu::from_bits<T>(::astmt_emu::warp_exchange(mask, ::astmt_emu::to_bits(v), from));
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    int lane = ::astmt_emu::lane_id();
    int seg = lane & (width - 1);
    int from = seg - (int)delta >= 0 ? lane - (int)delta : lane;
    return ::astmt_emu::from_bits<T>(::astmt_emu::warp_exchange(mask, ::astmt_emu::to_bits(v), from));
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32)
{
    int lane = ::astmt_emu::lane_id();
    int from = lane ^ laneMask;
    if ((from & ~(width - 1)) != (lane & ~(width - 1))) from = lane;
    return ::astmt_emu::from_bits<T>(::astmt_emu::warp_exchange(mask, ::astmt_emu::to_bits(v), from));
}
static inline unsigned __ballot_sync(unsigned mask, int p) { return ::astmt_emu::warp_ballot(mask, p != 0); }
static inline int __any_sync(unsigned mask, int p) { return ::astmt_emu::warp_ballot(mask, p != 0) != 0; }
static inline int __all_sync(unsigned mask, int p)
{
    unsigned alive = ::astmt_emu::warp_ballot(mask, true);
    return ::astmt_emu::warp_ballot(mask, p != 0) == alive;
}

// Atomics are real atomics: blocks run on several OS threads at once.
template <class T>
static inline T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <class T>
static inline T atomicSub(T* p, T v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <class T>
static inline T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }
template <class T>
static inline T atomicCAS(T* p, T expected, T desired)
{
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
    return expected;
}
template <class T>
static inline T atomicMax(T* p, T v)
{
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (old < v && !r.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T>
static inline T atomicMin(T* p, T v)
{
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (old > v && !r.compare_exchange_weak(old, v)) {}
    return old;
}

// Math intrinsics: their C++ equivalents (glibc already provides __expf and __logf).
static inline float __fdividef(float a, float b) { return a / b; }
static inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
static inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
static inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
static inline int __float_as_int(float v) { int i; std::memcpy(&i, &v, 4); return i; }
static inline unsigned __float_as_uint(float v) { unsigned i; std::memcpy(&i, &v, 4); return i; }
static inline float __uint_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
static inline int __popc(unsigned v) { return __builtin_popcount(v); }
static inline int __ffs(int v) { return __builtin_ffs(v); }
template <class T>
static inline T __ldg(const T* p) { return *p; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return std::fmin(a, b); }
static inline float max(float a, float b) { return std::fmax(a, b); }
