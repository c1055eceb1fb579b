// Features: what this kernel lets gputrace attach, probed once at start and passed down.
//
// Never compares kernel versions: a tracepoint exists when the kernel's BTF has its
// btf_trace_<name> typedef, a function can be hooked when BTF lists it (inlined functions
// are absent), trampolines work when the kernel accepts a tracing program, kprobes when
// the kprobe PMU or kprobe_events exists.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct btf;

namespace gputrace {

class Features {
 public:
  static Features probe();
  Features(Features&&) noexcept;
  Features& operator=(Features&&) noexcept;
  ~Features();

  bool has_btf() const { return kernel_btf_ != nullptr; }
  bool has_tracepoint(std::string_view name) const;  // via BTF typedef btf_trace_<name>
  bool has_function(std::string_view name) const;    // a FUNC in kernel BTF

  bool trampolines() const { return trampolines_; }  // fentry/fexit
  bool kprobes() const { return kprobes_; }
  // kallsyms lists per-CPU variables (CONFIG_KALLSYMS_ALL): BPF can read preempt_count
  bool percpu_ksyms() const { return percpu_ksyms_; }
  // Why trampolines / kprobes are unavailable, in words a person can act on.
  const std::string& trampolines_reason() const { return trampolines_reason_; }
  const std::string& kprobes_reason() const { return kprobes_reason_; }
  const std::string& kernel_release() const { return kernel_release_; }

 private:
  Features() = default;
  struct btf* kernel_btf_ = nullptr;
  bool trampolines_ = false;
  bool kprobes_ = false;
  bool percpu_ksyms_ = false;
  std::string trampolines_reason_, kprobes_reason_, kernel_release_;
};

}  // namespace gputrace
