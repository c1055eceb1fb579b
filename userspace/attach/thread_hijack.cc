#include "userspace/attach/thread_hijack.h"

#include "userspace/attach/ptrace_permission.h"
#include "userspace/attach/ptrace_thread.h"
#include "userspace/attach/remote_code.h"
#include "userspace/attach/seccomp_check.h"
#include "userspace/attach/sigframe.h"
#include "userspace/attach/thread_picker.h"
#include "userspace/util/fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstring>

namespace gputrace::attach {
namespace {

using namespace std::chrono_literals;

constexpr auto kStopLimit = 1000ms;
constexpr auto kCallLimit = 2000ms;
constexpr uint64_t kRedZone = 128;               // the System V ABI's, below rsp
constexpr uint64_t kScratch = 256;               // our scratch words, below the red zone
constexpr uint64_t kStackNeeded = 64 * 1024;     // scratch, frame, and pthread_create's own use
constexpr long kRestartCodes[] = {-512, -513, -514, -516};

HijackError again(Error e) { return {std::move(e), true, false}; }
HijackError failed(Error e) { return {std::move(e), false, false}; }

bool is_error(long r) { return r < 0 && r > -4096; }

// What was done to the process, to undo it when a later step fails.
struct Undo {
  bool mask = false;
  uint64_t old_mask = 0;
  uint64_t fresh_region = 0;
  long memfd = -1;
};

class Hijack {
 public:
  Hijack(HijackPlan& plan, PtraceThread& t, const user_regs_struct& at)
      : plan_(plan), t_(t), at_(at), insn_(at.rip - 2), scratch_((at.rsp - kRedZone - kScratch) & ~uint64_t{63}) {}

  tl::expected<HijackResult, HijackError> run();
  void rollback();

 private:
  Result<long> call(long nr, std::array<uint64_t, 6> args) {
    auto r = t_.syscall(insn_, nr, args, kCallLimit);
    if (r && is_error(*r)) return fail_errno(static_cast<int>(-*r), "{} in process {} failed", syscall_name(nr), plan_.pid);
    return r;
  }
  Result<void> put(uint64_t at, const void* data, size_t size) { return write_memory(plan_.pid, at, data, size); }
  Result<uint64_t> block_signals();
  Result<stack_t> altstack();
  Result<uint64_t> region();
  Result<std::string> memfd_copy();

  HijackPlan& plan_;
  PtraceThread& t_;
  user_regs_struct at_;
  uint64_t insn_, scratch_;
  Undo undo_;
};

// Before the thread runs anything for gputrace: blocked now, it cannot take a signal on the
// way into its first system call (a handler would then run on gputrace's registers, or cut its
// own call short with EINTR). The signal frame gives it its mask back.
Result<uint64_t> Hijack::block_signals() {
  auto old = t_.signal_mask();
  if (!old) return tl::unexpected(old.error());
  if (auto r = t_.set_signal_mask(~uint64_t{0}); !r) return tl::unexpected(r.error());  // bar SIGKILL, SIGSTOP
  undo_.mask = true;
  undo_.old_mask = *old;
  return *old;
}

Result<stack_t> Hijack::altstack() {
  if (auto r = call(SYS_sigaltstack, {0, scratch_ + 16}); !r) return tl::unexpected(r.error());
  stack_t ss{};
  if (auto r = read_memory(plan_.pid, scratch_ + 16, &ss, sizeof(ss)); !r) return tl::unexpected(r.error());
  return ss;
}

// The region an earlier attach left (its block still says so), or a fresh one with the code.
Result<uint64_t> Hijack::region() {
  if (plan_.region != 0) {
    uint32_t magic = 0;
    if (read_memory(plan_.pid, plan_.region + kBlockOffset, &magic, sizeof(magic)) && magic == GT_ATTACH_MAGIC)
      return plan_.region;
  }
  auto mapped = call(SYS_mmap, {0, kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                static_cast<uint64_t>(-1), 0});
  if (!mapped) return tl::unexpected(mapped.error());
  const auto region = static_cast<uint64_t>(*mapped);
  undo_.fresh_region = region;
  const RemoteCode code = remote_code();
  if (auto w = put(region, code.bytes.data(), code.bytes.size()); !w) return tl::unexpected(w.error());
  if (auto r = call(SYS_mprotect, {region, kRegionCodeBytes, PROT_READ | PROT_EXEC}); !r) return tl::unexpected(r.error());
  return region;
}

// A copy of the library the process can open whatever its mount namespace: a memfd of its
// own, filled through /proc/PID/fd. Nothing is written into its file systems.
Result<std::string> Hijack::memfd_copy() {
  const char name[] = "gputrace-cupti";
  if (auto w = put(scratch_ + 64, name, sizeof(name)); !w) return tl::unexpected(w.error());
  auto fd = call(SYS_memfd_create, {scratch_ + 64, MFD_CLOEXEC | plan_.memfd_flags});
  if (!fd) return tl::unexpected(fd.error());
  undo_.memfd = *fd;
  Fd src(::open(plan_.memfd_source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return fail_errno(errno, "cannot open {}", plan_.memfd_source);
  const std::string dst_path = fmt::format("/proc/{}/fd/{}", plan_.pid, *fd);
  Fd dst(::open(dst_path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!dst.valid()) return fail_errno(errno, "cannot open {}", dst_path);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return fail_errno(errno, "cannot stat {}", plan_.memfd_source);
  for (off_t done = 0; done < st.st_size;) {
    const ssize_t n = ::sendfile(dst.get(), src.get(), &done, static_cast<size_t>(st.st_size - done));
    if (n <= 0) return fail_errno(n < 0 ? errno : EIO, "cannot copy the library into process {}", plan_.pid);
  }
  return fmt::format("/proc/self/fd/{}", *fd);
}

tl::expected<HijackResult, HijackError> Hijack::run() {
  auto mask = block_signals();
  if (!mask) return tl::unexpected(failed(mask.error()));
  auto xstate = t_.xstate();
  if (!xstate) return tl::unexpected(failed(xstate.error()));
  auto ss = altstack();
  if (!ss) return tl::unexpected(failed(ss.error()));
  auto base = region();
  if (!base) return tl::unexpected(failed(base.error()));
  gt_attach_block& b = plan_.block;
  if (!plan_.memfd_source.empty()) {
    auto path = memfd_copy();
    if (!path) return tl::unexpected(failed(path.error()));
    plan_.dlopen_path = *path;
  }
  b.magic = GT_ATTACH_MAGIC;
  b.abi = GT_ATTACH_ABI;
  b.fn_pthread_create = plan_.libc.pthread_create;
  b.fn_pthread_self = plan_.libc.pthread_self;
  b.fn_pthread_detach = plan_.libc.pthread_detach;
  b.fn_dlopen = plan_.libc.dlopen;
  b.fn_dlsym = plan_.libc.dlsym;
  b.fn_dlerror = plan_.libc.dlerror;
  b.fn_close = plan_.libc.close;
  b.entry = plan_.entry;
  b.create_rc = GT_ATTACH_PENDING;
  b.stage = GT_ATTACH_STAGE_NONE;
  b.close_fd = static_cast<int32_t>(undo_.memfd);
  std::snprintf(b.path, sizeof(b.path), "%s", plan_.dlopen_path.c_str());
  std::snprintf(b.symbol, sizeof(b.symbol), "%s", GT_ATTACH_ENTRY_SYMBOL);
  b.args.region = *base;
  b.args.region_size = kRegionBytes;
  const uint64_t block_at = *base + kBlockOffset;
  if (auto w = put(block_at, &b, sizeof(b)); !w) return tl::unexpected(failed(w.error()));
  auto frame = build_sigframe(restarted(at_), *xstate, *mask, *ss, scratch_);
  if (!frame) return tl::unexpected(failed(frame.error()));
  if (auto w = put(frame->address, frame->bytes.data(), frame->bytes.size()); !w) return tl::unexpected(failed(w.error()));
  user_regs_struct go = at_;
  go.rip = *base + remote_code().trampoline;
  go.r12 = block_at;
  go.r13 = frame->address;
  go.rsp = (frame->address - 512) & ~uint64_t{15};
  go.orig_rax = static_cast<unsigned long long>(-1);
  if (auto r = t_.release_into(go); !r) return tl::unexpected(failed(r.error()));
  return HijackResult{*base, {}};
}

void Hijack::rollback() {
  // Best effort, at a syscall stop: each step needs the thread to run one more call.
  if (t_.last_stop().kind == StopKind::SyscallExit) {
    if (undo_.memfd >= 0) (void)call(SYS_close, {static_cast<uint64_t>(undo_.memfd)});
    if (undo_.fresh_region) (void)call(SYS_munmap, {undo_.fresh_region, kRegionBytes});
  }
  if (undo_.mask) (void)t_.set_signal_mask(undo_.old_mask);
  (void)t_.release(t_.last_stop().kind == StopKind::Signal ? t_.last_stop().signal : 0);
}

// The thread must be where it was seen: stopped inside the same call, which the kernel
// will restart. Anything else and it may be anywhere (inside malloc): leave it alone.
bool still_idle(const user_regs_struct& r, const ThreadFacts& seen) {
  if (static_cast<long>(r.orig_rax) != seen.syscall.nr || r.rip != seen.syscall.pc) return false;
  const auto ret = static_cast<long>(r.rax);
  if (waits_relative_timeout(seen.syscall.nr, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9})) return false;
  for (long code : kRestartCodes)
    if (ret == code) return true;
  return ret == -EINTR && returns_eintr_when_stopped(seen.syscall.nr);
}

}  // namespace

tl::expected<HijackResult, HijackError> hijack_thread(HijackPlan plan) {
  const pid_t tid = plan.thread.tid;
  auto seized = PtraceThread::seize(tid);
  if (!seized) {
    const int e = seized.error().errnum;
    if (e == EPERM || e == EACCES)
      return tl::unexpected(HijackError{Error{explain_ptrace_refusal(e, ptrace_context(plan.pid), plan.pid), 0}, false, true});
    return tl::unexpected(again(seized.error()));  // ESRCH: the thread ended
  }
  PtraceThread& t = *seized;
  const auto started = std::chrono::steady_clock::now();
  auto stop = t.interrupt(kStopLimit);
  if (!stop) return tl::unexpected(again(stop.error()));
  if (stop->kind != StopKind::Interrupt) {
    // A signal got there first, or the process is being stopped: let it have its way.
    (void)t.release(stop->kind == StopKind::Signal ? stop->signal : 0);
    return tl::unexpected(again(Error{fmt::format("thread {} was busy with a signal", tid), 0}));
  }
  auto regs = t.registers();
  if (!regs) return tl::unexpected(again(regs.error()));
  t.remember_original(*regs);
  if (!still_idle(*regs, plan.thread))
    return tl::unexpected(again(Error{fmt::format("thread {} woke up before it stopped", tid), 0}));
  auto maps = read_maps(plan.pid);
  if (!maps) return tl::unexpected(failed(maps.error()));
  const Mapping* stack = mapping_at(*maps, regs->rsp);
  if (stack == nullptr || regs->rsp - stack->start < kStackNeeded)
    return tl::unexpected(again(Error{fmt::format("thread {} has too little stack left", tid), 0}));
  uint8_t insn[2] = {};
  if (!read_memory(plan.pid, regs->rip - 2, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05)
    return tl::unexpected(again(Error{fmt::format("thread {} did not stop after a syscall instruction", tid), 0}));
  if (plan.check_seccomp) {
    auto filters = read_seccomp_filters(tid);
    if (!filters) return tl::unexpected(failed(filters.error()));
    if (std::string why = seccomp_refusal(*filters); !why.empty())
      return tl::unexpected(HijackError{Error{fmt::format("process {} runs under seccomp and {}: attaching would "
                                                          "break it",
                                                          plan.pid, why),
                                              0},
                                        false, true});
  }
  Hijack h(plan, t, *regs);
  auto done = h.run();
  if (!done) {
    h.rollback();
    return done;
  }
  done->stopped = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  return done;
}

}  // namespace gputrace::attach
