// The emulator's runtime: kernel registry, launch entry shaped like cuLaunchKernel, and the block scheduler.
//
// Each block runs on one OS thread; its CUDA threads are ucontext fibers. A fiber runs until it reaches a barrier
// (__syncthreads, or a warp collective) or returns; when no fiber can run, the scheduler releases the barrier every live
// thread of its scope has reached. Returned threads count as arrived. If nothing can run and no barrier can be released,
// the launch fails with a deadlock error instead of hanging. Blocks are spread over worker OS threads, so atomics must be
// real atomics and shared memory is per OS thread (see emu_shim.h).
// Switching: on x86-64 a fiber switch is astmt_emu_switch below: it saves the callee-saved registers, MXCSR and the x87
// control word on the current stack and moves to the other stack; a fresh fiber's stack is laid out so that the first
// switch "returns" into fiber_entry. glibc's _setjmp/_longjmp (the portable fallback, which unlike swapcontext makes no
// signal-mask system call) cost about four times as much: pointer mangling, __sigjmp_save and __pthread_cleanup_upto on
// every jump, and a block switches twice per thread per barrier. Elsewhere makecontext/swapcontext start a fiber and
// _setjmp/_longjmp switch.
// Per-launch cost: fibers are persistent. A fiber that finishes its thread parks at the top of a loop and the next block (or
// launch) resumes it there, so makecontext/getcontext/swapcontext (two system calls each) run once per fiber per OS thread,
// not once per CUDA thread of every block; and the OS threads are a persistent pool (the launching thread is one of them),
// so a launch creates no thread and allocates no stack. Before, a 64-block conv launch paid ~32k system calls and 16 MB of
// fresh stacks per worker.
// longjmp between fiber stacks is what we want; the fortified variant would reject it as an "uninitialized stack frame".
#undef _FORTIFY_SOURCE
#include "emu_shim.h"
#include <algorithm>
#include <condition_variable>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <ucontext.h>

namespace astmt_emu {

enum class State { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber
{
    uint3 tid;
    void* sp = nullptr; // x86-64: the saved stack pointer while the fiber is switched out
    int linear = 0;
    State state = State::Ready;
    unsigned warpMask = 0;
    /// True once the fiber has a context of its own: parked at the top of fiber_main's loop between threads (or, after a
    /// failed launch, abandoned mid-kernel, which is why a failure resets it).
    bool entered = false;
    jmp_buf jump;
    ucontext_t ctx;
    char* stack = nullptr;
};

thread_local Fiber* tls_fiber = nullptr;
thread_local uint3 tls_block_idx;
thread_local uint3 tls_block_dim;
thread_local uint3 tls_grid_dim;

namespace {

constexpr size_t StackBytes = 64 * 1024;

struct KernelEntry { std::string name; void* fn; Trampoline trampoline; };

std::vector<KernelEntry>& registry()
{
    static std::vector<KernelEntry> r;
    return r;
}

enum class Schedule { Forward = 0, Reverse = 1, Random = 2 };

std::mutex g_config_mutex;
Schedule g_schedule = Schedule::Forward;
unsigned long long g_seed = 1;
int g_workers = 0;
thread_local std::string tls_error;

struct Launch
{
    void* fn;
    Trampoline trampoline;
    void** args;
    uint3 grid, block;
    unsigned sharedBytes;
    Schedule schedule;
    unsigned long long seed;
};

/// Per OS thread, for the life of the thread: the fibers of the block it runs and their stacks (reused across blocks and
/// launches), the warp exchange slots, the block's dynamic shared memory and its schedule order.
struct Worker
{
    std::vector<Fiber> fibers;
    std::vector<char*> stacks;
    std::vector<uint64_t> slots;
    std::vector<unsigned char> shared;
    std::vector<int> order;
    ucontext_t scheduler;
    jmp_buf schedulerJump;
    void* schedulerSp = nullptr; // x86-64: the scheduler's saved stack pointer while a fiber runs
    const Launch* launch = nullptr;
    std::string error;

    ~Worker() { for (auto s : stacks) std::free(s); }
};

thread_local Worker* tls_worker = nullptr;

/// This OS thread's worker (created on first use, destroyed with the thread).
Worker& this_worker()
{
    thread_local Worker w;
    return w;
}

#if defined(__x86_64__)

} // namespace
} // namespace astmt_emu

// void astmt_emu_switch(void** saveSp, void* toSp): pushes rbp, rbx, r12–r15 and an 8-byte slot holding MXCSR and the x87
// control word, stores rsp in *saveSp, loads toSp and undoes the same on the other stack (System V: everything else is
// caller-saved, so this is a complete switch between two call sites of this function).
asm(R"(
    .text
    .p2align 4
    .globl astmt_emu_switch
    .hidden astmt_emu_switch
    .type astmt_emu_switch, @function
astmt_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size astmt_emu_switch, .-astmt_emu_switch
)");
extern "C" void astmt_emu_switch(void** saveSp, void* toSp) __attribute__((visibility("hidden")));

namespace astmt_emu {
namespace {

void fiber_loop();

[[noreturn]] void fiber_entry()
{
    fiber_loop();
    __builtin_unreachable();
}

/// The stack of a fiber that has not run yet, as astmt_emu_switch would have left it: the FP control slot, six zeroed
/// callee-saved registers and fiber_entry as the return address, placed so that fiber_entry starts with rsp ≡ 8 (mod 16)
/// as after a call.
void* fresh_stack(char* stack)
{
    auto top = (reinterpret_cast<uintptr_t>(stack) + StackBytes) & ~uintptr_t(15);
    auto* slot = reinterpret_cast<uint64_t*>(top - 16);
    slot[1] = 0;                                              // top − 8: padding
    slot[0] = reinterpret_cast<uint64_t>(&fiber_entry);       // top − 16: return address
    uint64_t* regs = slot - 6;                                // rbp, rbx, r12, r13, r14, r15 (popped from the lowest up)
    for (int i = 0; i < 6; i++) regs[i] = 0;
    uint32_t mxcsr;
    uint16_t fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    uint64_t control = mxcsr | (uint64_t)fpucw << 32;
    regs[-1] = control;
    return regs - 1;
}

void switch_to_scheduler(Fiber& f, Worker& w) { astmt_emu_switch(&f.sp, w.schedulerSp); }

/// Runs fiber f until it yields or finishes.
void resume(Worker& w, Fiber& f)
{
    tls_fiber = &f;
    if (!f.entered)
    {
        f.entered = true;
        f.sp = fresh_stack(f.stack);
    }
    astmt_emu_switch(&w.schedulerSp, f.sp);
    tls_fiber = nullptr;
}

/// Prepares fiber f (which has no context yet) to start on its stack; the first resume does the rest.
void prepare(Fiber&) {}

#else

void fiber_loop();

void fiber_main() { fiber_loop(); }

void switch_to_scheduler(Fiber& f, Worker& w)
{
    if (_setjmp(f.jump) == 0) _longjmp(w.schedulerJump, 1);
}

/// Runs fiber f until it yields or finishes.
void resume(Worker& w, Fiber& f)
{
    tls_fiber = &f;
    if (_setjmp(w.schedulerJump) == 0)
    {
        if (!f.entered)
        {
            f.entered = true;
            swapcontext(&w.scheduler, &f.ctx);
        }
        else _longjmp(f.jump, 1);
    }
    tls_fiber = nullptr;
}

/// Gives fiber f (which has no context yet) a context that starts fiber_main on its stack.
void prepare(Fiber& f)
{
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = StackBytes;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_main, 0);
}

#endif

/// A fiber's whole life: run one CUDA thread of the current launch, mark it done, park; the next block resumes it here.
void fiber_loop()
{
    for (;;)
    {
        Worker* w = tls_worker;
        w->launch->trampoline(w->launch->fn, w->launch->args);
        Fiber* f = tls_fiber;
        f->state = State::Done;
        switch_to_scheduler(*f, *w);
    }
}

void yield_to_scheduler() { switch_to_scheduler(*tls_fiber, *tls_worker); }

/// Releases every barrier whose scope has fully arrived; true if any fiber became ready.
bool release_barriers(Worker& w, int n)
{
    bool released = false;
    int alive = 0, atBlock = 0;
    for (int i = 0; i < n; i++)
    {
        State s = w.fibers[i].state;
        if (s != State::Done) alive++;
        if (s == State::AtBlockBarrier) atBlock++;
    }
    int warps = (n + 31) / 32;
    for (int wi = 0; wi < warps; wi++)
    {
        int lo = wi * 32, hi = std::min(n, lo + 32);
        unsigned waitingMask = 0, scope = 0, liveMask = 0;
        for (int i = lo; i < hi; i++)
        {
            const Fiber& f = w.fibers[i];
            if (f.state != State::Done) liveMask |= 1u << (i - lo);
            if (f.state == State::AtWarpBarrier) { waitingMask |= 1u << (i - lo); scope |= f.warpMask; }
        }
        if (waitingMask == 0) continue;
        if ((scope & liveMask & ~waitingMask) == 0)
        {
            for (int i = lo; i < hi; i++)
                if (w.fibers[i].state == State::AtWarpBarrier) w.fibers[i].state = State::Ready;
            released = true;
        }
    }
    if (!released && alive > 0 && atBlock == alive)
    {
        for (int i = 0; i < n; i++)
            if (w.fibers[i].state == State::AtBlockBarrier) w.fibers[i].state = State::Ready;
        released = true;
    }
    return released;
}

bool run_block(Worker& w, const Launch& L, uint3 bidx, unsigned long long blockLinear)
{
    int n = (int)(L.block.x * L.block.y * L.block.z);
    tls_block_idx = bidx;
    if (w.fibers.size() < (size_t)n) w.fibers.resize(n);
    while (w.stacks.size() < (size_t)n) w.stacks.push_back(static_cast<char*>(std::malloc(StackBytes)));
    w.slots.assign(((n + 31) / 32) * 32, 0);
    if (w.shared.size() < L.sharedBytes) w.shared.resize(L.sharedBytes);
    for (int i = 0; i < n; i++)
    {
        Fiber& f = w.fibers[i];
        f.linear = i;
        f.tid = uint3{ (unsigned)(i % L.block.x), (unsigned)((i / L.block.x) % L.block.y), (unsigned)(i / (L.block.x * L.block.y)) };
        f.state = State::Ready;
        f.warpMask = 0;
        if (f.entered) continue; // parked at the top of fiber_loop: resuming it starts the new thread
        f.stack = w.stacks[i];
        prepare(f);
    }
    auto& order = w.order;
    order.resize(n);
    for (int i = 0; i < n; i++) order[i] = L.schedule == Schedule::Reverse ? n - 1 - i : i;
    std::mt19937_64 rng;
    if (L.schedule == Schedule::Random) rng.seed(L.seed * 0x9E3779B97F4A7C15ull + blockLinear);
    for (;;)
    {
        if (L.schedule == Schedule::Random) std::shuffle(order.begin(), order.end(), rng);
        bool ran = false;
        for (int i : order)
        {
            Fiber& f = w.fibers[i];
            if (f.state != State::Ready) continue;
            resume(w, f);
            ran = true;
        }
        bool allDone = true;
        for (int i = 0; i < n; i++) if (w.fibers[i].state != State::Done) { allDone = false; break; }
        if (allDone) return true;
        if (!release_barriers(w, n) && !ran)
        {
            char buf[256];
            std::snprintf(buf, sizeof buf, "deadlock in block (%u,%u,%u): live threads wait at barriers that can never complete "
                "(a __syncthreads or warp collective inside divergent code?)", bidx.x, bidx.y, bidx.z);
            w.error = buf;
            // The waiting fibers are stuck mid-kernel: give every fiber a fresh context before this worker runs another block.
            for (auto& fiber : w.fibers) fiber.entered = false;
            return false;
        }
    }
}

void run_blocks(const Launch& L, std::atomic<unsigned long long>& next, unsigned long long total, std::string& error, std::mutex& errorMutex)
{
    Worker& w = this_worker();
    w.launch = &L;
    tls_worker = &w;
    tls_block_dim = L.block;
    tls_grid_dim = L.grid;
    for (;;)
    {
        unsigned long long b = next.fetch_add(1);
        if (b >= total) break;
        unsigned long long id = L.schedule == Schedule::Reverse ? total - 1 - b : b;
        uint3 bidx{ (unsigned)(id % L.grid.x), (unsigned)((id / L.grid.x) % L.grid.y), (unsigned)(id / ((unsigned long long)L.grid.x * L.grid.y)) };
        if (!run_block(w, L, bidx, id))
        {
            std::lock_guard<std::mutex> g(errorMutex);
            if (error.empty()) error = w.error;
            next.store(total);
            break;
        }
    }
    tls_worker = nullptr;
}

/// One launch as the pool sees it.
struct Job
{
    const Launch* launch;
    std::atomic<unsigned long long>* next;
    unsigned long long total;
    std::string* error;
    std::mutex* errorMutex;
};

/// Persistent helper OS threads: a launch wakes as many as it needs and runs blocks on the calling thread too; the blocks go
/// to whoever asks first. When the caller runs out of blocks it closes the job and waits only for the helpers that joined
/// it, so a helper the OS has not scheduled yet (a loaded machine) costs the launch nothing: it skips the closed job.
/// Launches are serialised (one job at a time). Never destroyed: the helpers are detached and sleep on a condition
/// variable, so process exit needs nothing from them.
class Pool
{
public:
    void run(const Job& job, int helpers)
    {
        while (threads_ < helpers)
        {
            int index = threads_++;
            std::thread([this, index] { serve(index); }).detach();
        }
        {
            std::lock_guard<std::mutex> g(mutex_);
            job_ = job;
            helpers_ = helpers;
            joined_ = 0;
            left_ = 0;
            open_ = true;
            generation_++;
        }
        wake_.notify_all();
        run_blocks(*job.launch, *job.next, job.total, *job.error, *job.errorMutex);
        std::unique_lock<std::mutex> lock(mutex_);
        open_ = false;
        finished_.wait(lock, [this] { return left_ == joined_; });
    }

private:
    void serve(int index)
    {
        unsigned long long seen = 0;
        for (;;)
        {
            Job job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen; });
                seen = generation_;
                if (!open_ || index >= helpers_) continue;
                joined_++;
                job = job_;
            }
            run_blocks(*job.launch, *job.next, job.total, *job.error, *job.errorMutex);
            std::lock_guard<std::mutex> g(mutex_);
            if (++left_ == joined_) finished_.notify_one();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    Job job_{};
    int helpers_ = 0;
    int joined_ = 0;
    int left_ = 0;
    bool open_ = false;
    unsigned long long generation_ = 0;
    int threads_ = 0; // only touched under g_launch_mutex
};

std::mutex g_launch_mutex;

Pool& pool()
{
    static Pool* p = new Pool(); // deliberately leaked: see Pool
    return *p;
}

void read_environment()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (const char* s = std::getenv("ASTMT_EMU_SCHEDULE"))
        {
            std::string v(s);
            if (v.rfind("reverse", 0) == 0) g_schedule = Schedule::Reverse;
            else if (v.rfind("random", 0) == 0)
            {
                g_schedule = Schedule::Random;
                auto colon = v.find(':');
                if (colon != std::string::npos) g_seed = std::strtoull(v.c_str() + colon + 1, nullptr, 10);
            }
        }
        if (const char* s = std::getenv("ASTMT_EMU_WORKERS")) g_workers = std::atoi(s);
    });
}

} // namespace

uint3 const& thread_idx() { return tls_fiber->tid; }
int lane_id() { return tls_fiber->linear & 31; }
void* dynamic_shared() { return tls_worker->shared.data(); }

void block_barrier()
{
    tls_fiber->state = State::AtBlockBarrier;
    yield_to_scheduler();
}

void warp_barrier(unsigned mask)
{
    tls_fiber->state = State::AtWarpBarrier;
    tls_fiber->warpMask = mask;
    yield_to_scheduler();
}

uint64_t warp_exchange(unsigned mask, uint64_t bits, int srcLane)
{
    int base = tls_fiber->linear & ~31;
    auto& slots = tls_worker->slots;
    slots[tls_fiber->linear] = bits;
    warp_barrier(mask);
    uint64_t r = slots[base + srcLane];
    warp_barrier(mask);
    return r;
}

unsigned warp_ballot(unsigned mask, bool predicate)
{
    // Slot value 2 marks "took part and true", 1 "took part and false"; lanes that did not take part keep 0.
    int base = tls_fiber->linear & ~31;
    auto& slots = tls_worker->slots;
    slots[tls_fiber->linear] = predicate ? 2 : 1;
    warp_barrier(mask);
    unsigned r = 0;
    for (int i = 0; i < 32 && base + i < (int)slots.size(); i++) if (slots[base + i] == 2) r |= 1u << i;
    warp_barrier(mask);
    slots[tls_fiber->linear] = 0;
    warp_barrier(mask);
    return r;
}

void register_kernel(const char* name, void* fn, Trampoline trampoline)
{
    registry().push_back(KernelEntry{ name, fn, trampoline });
}

} // namespace astmt_emu

using namespace astmt_emu;

extern "C" {

/// Number of registered kernels.
int astmt_emu_kernel_count() { return (int)registry().size(); }

/// Name of registered kernel i.
const char* astmt_emu_kernel_name(int i) { return i >= 0 && i < (int)registry().size() ? registry()[i].name.c_str() : nullptr; }

/// Looks up a kernel by name (cuModuleGetFunction). Returns 0, or 1 when there is no such kernel.
int astmt_emu_get_function(const char* name, void** handle)
{
    for (auto& e : registry())
        if (e.name == name) { *handle = &e; return 0; }
    tls_error = std::string("no kernel named '") + name + "' is compiled into the emulator";
    return 1;
}

/// Sets the thread schedule: 0 forward, 1 reverse, 2 seeded random.
void astmt_emu_set_schedule(int kind, unsigned long long seed)
{
    read_environment();
    std::lock_guard<std::mutex> g(g_config_mutex);
    g_schedule = (Schedule)kind;
    g_seed = seed;
}

/// The schedule in force (after the ASTMT_EMU_SCHEDULE environment variable).
int astmt_emu_get_schedule()
{
    read_environment();
    std::lock_guard<std::mutex> g(g_config_mutex);
    return (int)g_schedule;
}

/// Message of the last failure on this thread.
const char* astmt_emu_last_error() { return tls_error.c_str(); }

/// Launches a kernel with cuLaunchKernel's shape; returns when every block has finished. 0 on success, else an error code
/// with the message in astmt_emu_last_error.
int astmt_emu_launch(void* handle, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                     unsigned sharedBytes, void** args)
{
    read_environment();
    auto* entry = static_cast<KernelEntry*>(handle);
    if (!entry) { tls_error = "null kernel handle"; return 1; }
    unsigned long long threads = (unsigned long long)bx * by * bz;
    if (threads == 0 || threads > 1024 || bz > 64)
    {
        tls_error = "invalid block " + std::to_string(bx) + "x" + std::to_string(by) + "x" + std::to_string(bz) +
                    " for " + entry->name + " (1 to 1024 threads, z at most 64)";
        return 2;
    }
    unsigned long long total = (unsigned long long)gx * gy * gz;
    if (total == 0 || gy > 65535 || gz > 65535)
    {
        tls_error = "invalid grid " + std::to_string(gx) + "x" + std::to_string(gy) + "x" + std::to_string(gz) + " for " + entry->name;
        return 2;
    }
    if (sharedBytes > 96 * 1024)
    {
        tls_error = "dynamic shared memory of " + std::to_string(sharedBytes) + " bytes for " + entry->name + " exceeds 96 KiB";
        return 2;
    }
    Launch L{ entry->fn, entry->trampoline, args, uint3{ gx, gy, gz }, uint3{ bx, by, bz }, sharedBytes, Schedule::Forward, 1 };
    {
        std::lock_guard<std::mutex> g(g_config_mutex);
        L.schedule = g_schedule;
        L.seed = g_seed;
    }
    int workers = g_workers > 0 ? g_workers : (int)std::max(1u, std::thread::hardware_concurrency());
    if ((unsigned long long)workers > total) workers = (int)total;
    std::atomic<unsigned long long> next{ 0 };
    std::string error;
    std::mutex errorMutex;
    {
        std::lock_guard<std::mutex> g(g_launch_mutex);
        if (workers <= 1) run_blocks(L, next, total, error, errorMutex);
        else pool().run(Job{ &L, &next, total, &error, &errorMutex }, workers - 1);
    }
    if (!error.empty()) { tls_error = entry->name + ": " + error; return 3; }
    return 0;
}

}
