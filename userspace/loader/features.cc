#include "userspace/loader/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <unistd.h>
#include <cstring>
#include <fmt/format.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace gputrace {
namespace {

bool path_exists(const char* p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

// The per-CPU preempt counter (see bpf/core_fixes.bpf.h) must be in kallsyms for BPF to use it.
bool kallsyms_has_percpu_preempt_count() {
  std::ifstream in("/proc/kallsyms");
  std::string line;
  while (std::getline(in, line))
    if (line.ends_with(" __preempt_count") || line.ends_with(" pcpu_hot")) return true;
  return false;
}

// Loads `r0 = 0; exit` as fentry on a function every kernel has; 0 or -errno.
int try_load_fentry(const struct btf* kernel_btf) {
  int func = btf__find_by_name_kind(kernel_btf, "ksys_write", BTF_KIND_FUNC);
  if (func < 0) return -ENOENT;
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
              .attach_btf_id = static_cast<__u32>(func));
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "gt_probe", "GPL", insns, 2, &opts);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}

}  // namespace

Features Features::probe() {
  Features f;
  utsname u{};
  if (uname(&u) == 0) f.kernel_release_ = u.release;
  f.kernel_btf_ = btf__load_vmlinux_btf();
  if (!f.kernel_btf_) f.kernel_btf_ = nullptr;  // libbpf returns NULL + errno

  int err = f.has_btf() ? try_load_fentry(f.kernel_btf_) : 0;
  f.trampolines_ = err == 0 && f.has_btf();
  if (err != 0)
    f.trampolines_reason_ = fmt::format("this kernel refuses BPF trampolines: a minimal fentry program on "
                                        "ksys_write fails to load with {} ({})",
                                        strerrorname_np(-err) ? strerrorname_np(-err) : "?", std::strerror(-err));
  if (!f.has_btf()) {
    f.trampolines_ = false;
    f.trampolines_reason_ = "no kernel BTF (/sys/kernel/btf/vmlinux): fentry needs CONFIG_DEBUG_INFO_BTF=y";
  }

  // libbpf_probe_bpf_prog_type(KPROBE) says yes even without CONFIG_KPROBES (uprobes share the
  // program type), so look for the kprobe PMU or the legacy kprobe_events file instead.
  f.kprobes_ = path_exists("/sys/bus/event_source/devices/kprobe") ||
               path_exists("/sys/kernel/tracing/kprobe_events") || path_exists("/sys/kernel/debug/tracing/kprobe_events");
  if (!f.kprobes_)
    f.kprobes_reason_ = "kprobes are not available on this kernel (CONFIG_KPROBES off: no "
                        "/sys/bus/event_source/devices/kprobe and no kprobe_events)";
  f.percpu_ksyms_ = kallsyms_has_percpu_preempt_count();
  return f;
}

Features::Features(Features&& o) noexcept
    : kernel_btf_(std::exchange(o.kernel_btf_, nullptr)),
      trampolines_(o.trampolines_),
      kprobes_(o.kprobes_),
      percpu_ksyms_(o.percpu_ksyms_),
      trampolines_reason_(std::move(o.trampolines_reason_)),
      kprobes_reason_(std::move(o.kprobes_reason_)),
      kernel_release_(std::move(o.kernel_release_)) {}

Features& Features::operator=(Features&& o) noexcept {
  if (this != &o) {
    if (kernel_btf_) btf__free(kernel_btf_);
    kernel_btf_ = std::exchange(o.kernel_btf_, nullptr);
    trampolines_ = o.trampolines_;
    kprobes_ = o.kprobes_;
    percpu_ksyms_ = o.percpu_ksyms_;
    trampolines_reason_ = std::move(o.trampolines_reason_);
    kprobes_reason_ = std::move(o.kprobes_reason_);
    kernel_release_ = std::move(o.kernel_release_);
  }
  return *this;
}

Features::~Features() {
  if (kernel_btf_) btf__free(kernel_btf_);
}

bool Features::has_tracepoint(std::string_view name) const {
  if (!kernel_btf_) return false;
  std::string type = "btf_trace_" + std::string(name);
  return btf__find_by_name_kind(kernel_btf_, type.c_str(), BTF_KIND_TYPEDEF) > 0;
}

bool Features::has_function(std::string_view name) const {
  if (!kernel_btf_) return false;
  return btf__find_by_name_kind(kernel_btf_, std::string(name).c_str(), BTF_KIND_FUNC) > 0;
}

}  // namespace gputrace
