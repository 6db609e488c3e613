// The emulator's runtime: kernel registry, launch entry shaped like cuLaunchKernel, and the block scheduler.
//
// Each block runs on one OS thread; its CUDA threads are fibers. A fiber runs until it reaches a barrier (__syncthreads, or
// a warp collective) or returns; when no fiber can run, the scheduler releases the barrier every live thread of its scope
// has reached. Returned threads count as arrived. If nothing can run and no barrier can be released, the launch fails with
// a deadlock error instead of hanging. Blocks are spread over worker OS threads, so atomics must be real atomics and shared
// memory is per OS thread (see emu_shim.h).
//
// Cost (what a launch pays beyond the kernel's own work; the MTAN emulator step test went from ~13 s to ~5 s of CPU):
// - Fibers are persistent. A fiber that finishes its CUDA thread parks at the top of fiber_loop and the next block (or
//   launch) resumes it there, so a fiber context is made once per fiber per OS thread. Before, every CUDA thread of every
//   block paid getcontext + makecontext + swapcontext (two signal-mask system calls): ~32k system calls per 64-block launch.
// - The OS threads are a persistent pool (the launching thread is one of them) and each keeps its fibers' stacks, so a
//   launch creates no thread and allocates no stack (before: a thread per core and 64 KiB per CUDA thread per launch).
// - On x86-64 a switch is astmt_emu_switch: push the six callee-saved registers, swap stack pointers, pop. glibc's
//   _setjmp/_longjmp (the portable fallback) cost several times more: pointer mangling, __sigjmp_save and
//   __pthread_cleanup_upto on every jump, and a block switches twice per thread per barrier.
// - A CUDA thread finds its state (threadIdx, blockIdx, its fiber) at the bottom of its own stack (FiberView in emu_shim.h),
//   not through thread_local variables, which in a shared library cost a __tls_get_addr call per access.
// - One pass over the block per scheduling round finds both the barriers to release and whether the block is done; within a
//   round a stopping fiber switches straight to the next ready one (x86-64), so a thread costs one switch per round.
// - A shuffle is one warp barrier: its exchange slots alternate between two phases (warp_exchange).
// longjmp between fiber stacks is what we want; the fortified variant would reject it as an "uninitialized stack frame".
#undef _FORTIFY_SOURCE
#include "emu_shim.h"
#include <algorithm>
#include <condition_variable>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <ucontext.h>

namespace astmt_emu {

enum class State { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber
{
    int linear = 0;
    State state = State::Ready;
    unsigned warpMask = 0;
    /// True once the fiber has a context of its own: parked at the top of fiber_loop between threads (or, after a failed
    /// launch, abandoned mid-kernel, which is why a failure resets it).
    bool entered = false;
    void* sp = nullptr; // x86-64: the saved stack pointer while the fiber is switched out
    char* stack = nullptr;
};

/// The portable fallback's contexts, kept out of Fiber so that the scheduler's passes over a block's fibers read a few
/// cache lines rather than one ~1 KiB ucontext per thread.
struct FallbackContext
{
    jmp_buf jump;   // where the fiber continues
    ucontext_t ctx; // the context a fresh fiber starts from
};

namespace {

constexpr size_t StackBytes = FiberStackBytes;

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

} // namespace

/// Per OS thread, for the life of the thread: the fibers of the block it runs and their stacks (reused across blocks and
/// launches), the warp exchange slots, the block's dynamic shared memory, what its kernels read about the block, and the
/// schedule order.
struct Worker
{
    std::vector<Fiber> fibers;
    std::vector<FallbackContext> contexts; // the fallback's, by fiber index (unused on x86-64)
    std::vector<char*> stacks; // StackBytes each, aligned to StackBytes: a FiberView near the bottom
    std::vector<uint64_t> exchange;   // two phases × the block's lanes (warp_exchange)
    std::vector<unsigned> warpPhase;  // per warp: how many of its warp barriers have been released
    std::vector<uint64_t> ballots;    // the block's lanes (warp_ballot)
    std::vector<unsigned char> shared;
    std::vector<int> order;
    BlockView view{};
    ucontext_t scheduler;
    jmp_buf schedulerJump;
    void* schedulerSp = nullptr; // x86-64: the scheduler's saved stack pointer while a fiber runs
    size_t cursor = 0;           // x86-64: the position in order of the fiber running in this round
    const Launch* launch = nullptr;
    std::string error;

    ~Worker() { for (auto s : stacks) std::free(s); }
};

namespace {

/// This OS thread's worker (created on first use, destroyed with the thread).
Worker& this_worker()
{
    thread_local Worker w;
    return w;
}

// ASTMT_EMU_PORTABLE_SWITCH=1 builds the portable fallback on x86-64 too (to test it).
#if defined(__x86_64__) && !defined(ASTMT_EMU_PORTABLE_SWITCH)

} // namespace
} // namespace astmt_emu

// void astmt_emu_switch(void** saveSp, void* toSp): pushes rbp, rbx and r12–r15, stores rsp in *saveSp, loads toSp and
// pops the same from the other stack. System V makes every other register caller-saved, so this is a complete switch
// between two call sites of this function. MXCSR and the x87 control word are not switched: every fiber of a worker runs
// with its OS thread's, and no kernel changes them.
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
    movq %rsp, (%rdi)
    movq %rsi, %rsp
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

/// The stack of a fiber that has not run yet, as astmt_emu_switch would have left it: six zeroed callee-saved registers and
/// fiber_entry as the return address, placed so that fiber_entry starts with rsp ≡ 8 (mod 16), as after a call. The top
/// is lowered by a per-stack offset (stack_color) so the hot top lines of a block's stacks spread over the cache sets.
void* fresh_stack(char* stack)
{
    auto base = reinterpret_cast<uintptr_t>(stack);
    auto top = (base + StackBytes - 64 - stack_color(base)) & ~uintptr_t(15);
    auto* slot = reinterpret_cast<uint64_t*>(top - 16);
    slot[1] = 0;                                        // top − 8: padding
    slot[0] = reinterpret_cast<uint64_t>(&fiber_entry); // top − 16: return address
    uint64_t* regs = slot - 6;                          // r15, r14, r13, r12, rbx, rbp: popped from the lowest up
    for (int i = 0; i < 6; i++) regs[i] = 0;
    return regs;
}

/// The stack pointer to switch to for fiber f: its saved one, or a fresh stack the first time.
void* entry_sp(Fiber& f)
{
    if (!f.entered)
    {
        f.entered = true;
        f.sp = fresh_stack(f.stack);
    }
    return f.sp;
}

/// Position in w.order of the next Ready fiber at or after position from, or order.size().
size_t next_ready(Worker& w, size_t from)
{
    while (from < w.order.size() && w.fibers[w.order[from]].state != State::Ready) from++;
    return from;
}

/// A fiber that stops (at a barrier, or done) hands over straight to the next Ready fiber of the round, and only the last
/// one returns to the scheduler: one switch per thread per round instead of two.
void switch_to_scheduler(Fiber& f, Worker& w)
{
    size_t k = next_ready(w, w.cursor + 1);
    w.cursor = k;
    astmt_emu_switch(&f.sp, k < w.order.size() ? entry_sp(w.fibers[w.order[k]]) : w.schedulerSp);
}

/// Runs every Ready fiber once, in schedule order; true if any ran. A fiber made Ready by a barrier release waits for the
/// next round (releases happen only between rounds).
bool run_round(Worker& w)
{
    size_t k = next_ready(w, 0);
    if (k == w.order.size()) return false;
    w.cursor = k;
    astmt_emu_switch(&w.schedulerSp, entry_sp(w.fibers[w.order[k]]));
    return true;
}

/// Nothing to prepare on x86-64: entry_sp lays out a fresh fiber's stack.
void prepare(Worker&, Fiber&) {}

#else

void fiber_loop();

void fiber_main() { fiber_loop(); }

void switch_to_scheduler(Fiber& f, Worker& w)
{
    if (_setjmp(w.contexts[f.linear].jump) == 0) _longjmp(w.schedulerJump, 1);
}

/// Runs fiber f until it yields or finishes.
void resume(Worker& w, Fiber& f)
{
    if (_setjmp(w.schedulerJump) == 0)
    {
        if (!f.entered)
        {
            f.entered = true;
            swapcontext(&w.scheduler, &w.contexts[f.linear].ctx);
        }
        else _longjmp(w.contexts[f.linear].jump, 1);
    }
}

/// Runs every Ready fiber once, in schedule order; true if any ran.
bool run_round(Worker& w)
{
    bool ran = false;
    for (int i : w.order)
    {
        Fiber& f = w.fibers[i];
        if (f.state != State::Ready) continue;
        resume(w, f);
        ran = true;
    }
    return ran;
}

/// Gives fiber f (which has no context yet) a context that starts fiber_main on its stack.
void prepare(Worker& w, Fiber& f)
{
    if (w.contexts.size() < w.fibers.size()) w.contexts.resize(w.fibers.size());
    ucontext_t& ctx = w.contexts[f.linear].ctx;
    getcontext(&ctx);
    ctx.uc_stack.ss_sp = f.stack;
    ctx.uc_stack.ss_size = StackBytes;
    ctx.uc_link = nullptr;
    makecontext(&ctx, fiber_main, 0);
}

#endif

/// A fiber's whole life: run one CUDA thread of the current launch, mark it done, park; the next block resumes it here.
void fiber_loop()
{
    FiberView* v = fiber_view();
    for (;;)
    {
        const Launch* launch = v->worker->launch;
        launch->trampoline(launch->fn, launch->args);
        v->fiber->state = State::Done;
        switch_to_scheduler(*v->fiber, *v->worker);
    }
}

/// One pass over the block: releases each warp barrier whose scope has fully arrived and, failing any, the block barrier
/// once every live thread waits at it. Returns the number of live threads; <paramref name="released"/> says whether a
/// barrier was released.
int release_barriers(Worker& w, int n, bool& released)
{
    released = false;
    int alive = 0, atBlock = 0;
    for (int lo = 0; lo < n; lo += 32)
    {
        int hi = std::min(n, lo + 32);
        unsigned waitingMask = 0, scope = 0, liveMask = 0;
        for (int i = lo; i < hi; i++)
        {
            const Fiber& f = w.fibers[i];
            unsigned bit = 1u << (i - lo);
            switch (f.state)
            {
            case State::Done: break;
            case State::AtWarpBarrier: liveMask |= bit; waitingMask |= bit; scope |= f.warpMask; break;
            case State::AtBlockBarrier: liveMask |= bit; atBlock++; break;
            default: liveMask |= bit; break;
            }
        }
        alive += __builtin_popcount(liveMask);
        if (waitingMask != 0 && (scope & liveMask & ~waitingMask) == 0)
        {
            w.warpPhase[lo / 32]++;
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
    return alive;
}

/// SplitMix64: the random schedule's generator (seeded per block; far cheaper than mt19937_64 for a shuffle per round).
struct SplitMix64
{
    uint64_t state;
    uint64_t next()
    {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

/// Fisher–Yates with Lemire's multiply-shift bound (the bias of 32 random bits over at most 1024 items is negligible here).
void shuffle(std::vector<int>& order, SplitMix64& rng)
{
    for (int i = (int)order.size() - 1; i > 0; i--)
    {
        int j = (int)(((rng.next() >> 32) * (uint64_t)(i + 1)) >> 32);
        std::swap(order[i], order[j]);
    }
}

bool run_block(Worker& w, const Launch& L, uint3 bidx, unsigned long long blockLinear)
{
    int n = (int)(L.block.x * L.block.y * L.block.z);
    if (w.fibers.size() < (size_t)n) w.fibers.resize(n);
    while (w.stacks.size() < (size_t)n) w.stacks.push_back(static_cast<char*>(std::aligned_alloc(StackBytes, StackBytes)));
    int lanes = ((n + 31) / 32) * 32;
    w.exchange.assign(2 * (size_t)lanes, 0);
    w.warpPhase.assign(lanes / 32, 0);
    w.ballots.assign(lanes, 0);
    if (w.shared.size() < L.sharedBytes) w.shared.resize(L.sharedBytes);
    w.view.index = bidx;
    w.view.shared = w.shared.data();
    for (int i = 0; i < n; i++)
    {
        Fiber& f = w.fibers[i];
        f.linear = i;
        f.state = State::Ready;
        f.warpMask = 0;
        f.stack = w.stacks[i];
        // Written every block: the fibers vector may have moved, and the thread index depends on the block shape.
        FiberView* v = view_at(reinterpret_cast<uintptr_t>(f.stack));
        v->tid = uint3{ (unsigned)(i % L.block.x), (unsigned)((i / L.block.x) % L.block.y), (unsigned)(i / (L.block.x * L.block.y)) };
        v->linear = i;
        v->block = &w.view;
        v->fiber = &f;
        v->worker = &w;
        if (!f.entered) prepare(w, f); // else parked at the top of fiber_loop: resuming it starts the new thread
    }
    auto& order = w.order;
    order.resize(n);
    for (int i = 0; i < n; i++) order[i] = L.schedule == Schedule::Reverse ? n - 1 - i : i;
    SplitMix64 rng{ L.seed * 0x9E3779B97F4A7C15ull + blockLinear };
    for (;;)
    {
        if (L.schedule == Schedule::Random) shuffle(order, rng);
        bool ran = run_round(w);
        bool released;
        if (release_barriers(w, n, released) == 0) return true;
        if (!released && !ran)
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
    w.view.size = L.block;
    w.view.grid = L.grid;
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

void block_barrier()
{
    FiberView* v = fiber_view();
    v->fiber->state = State::AtBlockBarrier;
    switch_to_scheduler(*v->fiber, *v->worker);
}

void warp_barrier(unsigned mask)
{
    FiberView* v = fiber_view();
    v->fiber->state = State::AtWarpBarrier;
    v->fiber->warpMask = mask;
    switch_to_scheduler(*v->fiber, *v->worker);
}

uint64_t warp_exchange(unsigned mask, uint64_t bits, int srcLane)
{
    // One barrier, not two: the slots alternate between two phases, flipped by each release of this warp's barrier. A lane
    // writes the current phase, waits, and reads the same phase; its next exchange writes the other one. The phase it wrote
    // is written again only after the next release, and by then every lane of this exchange has read it: released lanes
    // all run in the scheduling round that follows a release, before the next release can happen.
    FiberView* v = fiber_view();
    Worker* w = v->worker;
    int warp = v->linear >> 5;
    size_t lanes = w->ballots.size();
    uint64_t* slots = w->exchange.data() + (w->warpPhase[warp] & 1) * lanes;
    slots[v->linear] = bits;
    warp_barrier(mask);
    return slots[(warp << 5) + srcLane];
}

unsigned warp_ballot(unsigned mask, bool predicate)
{
    // Slot value 2 marks "took part and true", 1 "took part and false"; lanes that did not take part keep 0.
    FiberView* v = fiber_view();
    int base = v->linear & ~31;
    auto& slots = v->worker->ballots;
    slots[v->linear] = predicate ? 2 : 1;
    warp_barrier(mask);
    unsigned r = 0;
    for (int i = 0; i < 32 && base + i < (int)slots.size(); i++) if (slots[base + i] == 2) r |= 1u << i;
    warp_barrier(mask);
    slots[v->linear] = 0;
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

/// Sets how many host threads run a launch's blocks (0 = one per core; ASTMT_EMU_WORKERS sets the initial value). With one,
/// float atomics from different blocks add in an order fixed by the schedule, so a launch is reproducible bit for bit.
void astmt_emu_set_workers(int workers)
{
    read_environment();
    std::lock_guard<std::mutex> g(g_config_mutex);
    g_workers = workers < 0 ? 0 : workers;
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
    int configuredWorkers = 0;
    {
        std::lock_guard<std::mutex> g(g_config_mutex);
        L.schedule = g_schedule;
        L.seed = g_seed;
        configuredWorkers = g_workers;
    }
    int workers = configuredWorkers > 0 ? configuredWorkers : (int)std::max(1u, std::thread::hardware_concurrency());
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
