#include "userspace/attach/seccomp_check.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

namespace gputrace::attach {
namespace {

// struct seccomp_data as the filter sees it: nr, arch, instruction_pointer, args[6].
std::array<uint32_t, 16> seccomp_words(const SeccompCall& c) {
  std::array<uint32_t, 16> w{};
  w[0] = static_cast<uint32_t>(c.nr);
  w[1] = AUDIT_ARCH_X86_64;
  w[2] = static_cast<uint32_t>(c.ip);
  w[3] = static_cast<uint32_t>(c.ip >> 32);
  for (int i = 0; i < 6; ++i) {
    w[4 + 2 * i] = static_cast<uint32_t>(c.args[i]);
    w[5 + 2 * i] = static_cast<uint32_t>(c.args[i] >> 32);
  }
  return w;
}

uint32_t alu(uint16_t op, uint32_t a, uint32_t b, bool& bad) {
  switch (op) {
    case BPF_ADD: return a + b;
    case BPF_SUB: return a - b;
    case BPF_MUL: return a * b;
    case BPF_DIV: if (b == 0) { bad = true; return 0; } return a / b;
    case BPF_MOD: if (b == 0) { bad = true; return 0; } return a % b;
    case BPF_OR: return a | b;
    case BPF_AND: return a & b;
    case BPF_XOR: return a ^ b;
    case BPF_LSH: return b >= 32 ? 0 : a << b;
    case BPF_RSH: return b >= 32 ? 0 : a >> b;
    case BPF_NEG: return -a;
    default: bad = true; return 0;
  }
}

// Precedence order of SECCOMP_RET_ACTION_FULL values: lower (as signed) wins.
int32_t rank(uint32_t ret) { return static_cast<int32_t>(ret & SECCOMP_RET_ACTION_FULL); }

struct Needed {
  SeccompCall call;
  const char* what;
};

SeccompCall call(long nr, std::array<uint64_t, 6> args = {}) { return {nr, args, 0}; }

// What attaching makes the process do, with the arguments it uses.
std::vector<Needed> attach_calls() {
  const uint64_t any = 0x7f0000001000;  // a pointer
  const uint64_t thread_clone = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                                CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  return {
      {call(SYS_rt_sigprocmask, {SIG_SETMASK, any, any, 8}), "rt_sigprocmask"},
      {call(SYS_sigaltstack, {0, any}), "sigaltstack"},
      {call(SYS_mmap, {0, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0}),
       "mmap"},
      {call(SYS_mprotect, {any, 4096, PROT_READ | PROT_EXEC}), "mprotect"},
      {call(SYS_memfd_create, {any, MFD_CLOEXEC}), "memfd_create"},
      {call(SYS_rt_sigreturn), "rt_sigreturn"},
      {call(SYS_clone, {thread_clone, any, any, any, any}), "clone (a new thread)"},
      {call(SYS_mmap, {0, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       static_cast<uint64_t>(-1), 0}),
       "mmap (a thread stack)"},
      {call(SYS_mprotect, {any, 4096, PROT_NONE}), "mprotect (a guard page)"},
      {call(SYS_set_robust_list, {any, 24}), "set_robust_list"},
      {call(SYS_futex, {any, 0x80 /* FUTEX_WAIT_PRIVATE */, 2, 0}), "futex"},
      {call(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), any, O_RDONLY | O_CLOEXEC}), "openat"},
      {call(SYS_read, {3, any, 832}), "read"},
      {call(SYS_pread64, {3, any, 784, 64}), "pread64"},
      {call(SYS_newfstatat, {3, any, any, AT_EMPTY_PATH}), "newfstatat"},
      {call(SYS_mmap, {0, 1 << 20, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_DENYWRITE, 3, 0}), "mmap (a library)"},
      {call(SYS_munmap, {any, 4096}), "munmap"},
      {call(SYS_close, {3}), "close"},
      {call(SYS_socket, {AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0}), "socket (AF_UNIX)"},
      {call(SYS_bind, {3, any, 40}), "bind"},
      {call(SYS_listen, {3, 8}), "listen"},
      {call(SYS_accept4, {3, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK}), "accept4"},
      {call(SYS_getsockopt, {3, SOL_SOCKET, SO_PEERCRED, any, any}), "getsockopt"},
      {call(SYS_poll, {any, 2, 100}), "poll"},
      {call(SYS_recvfrom, {3, any, 16, MSG_DONTWAIT, 0, 0}), "recvfrom"},
      {call(SYS_sendto, {3, any, 352, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0}), "sendto"},
      {call(SYS_eventfd2, {0, EFD_CLOEXEC | EFD_NONBLOCK}), "eventfd2"},
      {call(SYS_write, {2, any, 80}), "write"},
      {call(SYS_exit, {0}), "exit (a thread's end)"},
  };
}

}  // namespace

uint32_t run_seccomp_filter(const SeccompFilter& f, const SeccompCall& c) {
  const auto data = seccomp_words(c);
  uint32_t a = 0, x = 0;
  std::array<uint32_t, BPF_MEMWORDS> mem{};
  for (size_t pc = 0; pc < f.size(); ++pc) {
    const sock_filter& i = f[pc];
    bool bad = false;
    switch (BPF_CLASS(i.code)) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t v = 0;
        switch (BPF_MODE(i.code)) {
          case BPF_ABS:
            if (BPF_SIZE(i.code) != BPF_W || i.k % 4 != 0 || i.k / 4 >= data.size()) return SECCOMP_RET_KILL_THREAD;
            v = data[i.k / 4];
            break;
          case BPF_LEN: v = sizeof(data); break;
          case BPF_IMM: v = i.k; break;
          case BPF_MEM:
            if (i.k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_THREAD;
            v = mem[i.k];
            break;
          default: return SECCOMP_RET_KILL_THREAD;
        }
        (BPF_CLASS(i.code) == BPF_LD ? a : x) = v;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (i.k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_THREAD;
        mem[i.k] = BPF_CLASS(i.code) == BPF_ST ? a : x;
        break;
      case BPF_ALU:
        a = alu(BPF_OP(i.code), a, BPF_SRC(i.code) == BPF_X ? x : i.k, bad);
        if (bad) return SECCOMP_RET_KILL_THREAD;
        break;
      case BPF_JMP: {
        if (BPF_OP(i.code) == BPF_JA) {
          pc += i.k;
          break;
        }
        const uint32_t b = BPF_SRC(i.code) == BPF_X ? x : i.k;
        bool taken = false;
        switch (BPF_OP(i.code)) {
          case BPF_JEQ: taken = a == b; break;
          case BPF_JGT: taken = a > b; break;
          case BPF_JGE: taken = a >= b; break;
          case BPF_JSET: taken = (a & b) != 0; break;
          default: return SECCOMP_RET_KILL_THREAD;
        }
        pc += taken ? i.jt : i.jf;
        break;
      }
      case BPF_RET: return BPF_RVAL(i.code) == BPF_A ? a : i.k;
      case BPF_MISC:
        if (BPF_MISCOP(i.code) == BPF_TAX) x = a;
        else a = x;
        break;
      default: return SECCOMP_RET_KILL_THREAD;
    }
  }
  return SECCOMP_RET_KILL_THREAD;  // ran off the end: the kernel never loads such a filter
}

uint32_t run_seccomp_filters(const std::vector<SeccompFilter>& filters, const SeccompCall& c) {
  uint32_t best = SECCOMP_RET_ALLOW;
  for (const SeccompFilter& f : filters) {
    const uint32_t r = run_seccomp_filter(f, c);
    if (rank(r) < rank(best)) best = r;
  }
  return best;
}

std::string seccomp_action_name(uint32_t ret) {
  switch (ret & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_KILL_PROCESS: return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD: return "KILL_THREAD";
    case SECCOMP_RET_TRAP: return "TRAP (SIGSYS)";
    case SECCOMP_RET_ERRNO: return fmt::format("ERRNO({})", ret & SECCOMP_RET_DATA);
    case SECCOMP_RET_USER_NOTIF: return "USER_NOTIF";
    case SECCOMP_RET_TRACE: return "TRACE";
    case SECCOMP_RET_LOG: return "LOG";
    case SECCOMP_RET_ALLOW: return "ALLOW";
    default: return fmt::format("0x{:x}", ret);
  }
}

Result<std::vector<SeccompFilter>> read_seccomp_filters(pid_t tid) {
  std::vector<SeccompFilter> filters;
  for (unsigned long index = 0;; ++index) {
    const long n = ::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index, nullptr);
    if (n < 0) {
      if (errno == ENOENT) break;  // past the last filter
      return fail_errno(errno, "cannot read the target's seccomp filter {}", index);
    }
    SeccompFilter f(static_cast<size_t>(n));
    if (::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index, f.data()) != n)
      return fail_errno(errno, "cannot read the target's seccomp filter {}", index);
    filters.push_back(std::move(f));
    if (index > 64) break;
  }
  return filters;
}

std::string seccomp_refusal(const std::vector<SeccompFilter>& filters) {
  const auto allowed = [](uint32_t r) {
    const uint32_t action = r & SECCOMP_RET_ACTION_FULL;
    return action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG;
  };
  for (const Needed& n : attach_calls()) {
    uint32_t r = run_seccomp_filters(filters, n.call);
    // glibc tries clone3 first and falls back to clone on ENOSYS (how container runtimes
    // refuse clone3): clone3 needs no check of its own when it is refused that way.
    if (!allowed(r))
      return fmt::format("its seccomp filter answers {} with {}", n.what, seccomp_action_name(r));
  }
  const uint32_t clone3 = run_seccomp_filters(filters, call(SYS_clone3, {0x7f0000001000, 88}));
  if (!allowed(clone3) && clone3 != (SECCOMP_RET_ERRNO | ENOSYS))
    return fmt::format("its seccomp filter answers clone3 with {}", seccomp_action_name(clone3));
  return {};
}

}  // namespace gputrace::attach
