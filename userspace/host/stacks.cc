#include "userspace/host/stacks.h"

extern "C" {
#include "bpf/host.h"
}

#include <bpf/bpf.h>

#include <array>
#include <string>

namespace gputrace {

namespace {

// x86-64 modules (and BPF programs, ftrace trampolines) live above this address.
constexpr uint64_t kModuleSpace = 0xffffffffa0000000ull;

// The tracer's own frames on top of every stack: the BPF program and the tracepoint glue.
bool is_tracing_frame(std::string_view name) {
  return name.starts_with("bpf_prog_") || name.starts_with("bpf_trace_run") || name.starts_with("__traceiter_") ||
         name.starts_with("__bpf_trace_") || name.starts_with("bpf_trampoline_") || name == "kprobe_ftrace_handler" ||
         name.starts_with("trace_call_bpf") || name.starts_with("kretprobe_");
}

}  // namespace

StackRecorder::StackRecorder(int stack_map_fd, std::string kallsyms_path)
    : fd_(stack_map_fd),
      kallsyms_path_(std::move(kallsyms_path)),
      symbols_(Kallsyms::load(kallsyms_path_)),
      loaded_at_(std::chrono::steady_clock::now()) {}

void StackRecorder::refresh_symbols_for(std::span<const uint64_t> ips) {
  // A module loaded after start (a driver's probe is where its mappings come from) is not in
  // the symbols read then; new stacks are rare, so re-read at most every 100 ms.
  bool module_frame = false;
  for (uint64_t ip : ips) module_frame |= ip >= kModuleSpace;
  auto now = std::chrono::steady_clock::now();
  if (!module_frame || now - loaded_at_ < std::chrono::milliseconds(100)) return;
  symbols_ = Kallsyms::load(kallsyms_path_);
  loaded_at_ = now;
}

std::optional<OwnedRecord> StackRecorder::record_for(int32_t stack_id, uint64_t ts) {
  if (stack_id < 0 || fd_ < 0 || sent_.count(stack_id)) return std::nullopt;
  std::array<uint64_t, GT_MAX_STACK_DEPTH> ips{};
  uint32_t key = static_cast<uint32_t>(stack_id);
  if (bpf_map_lookup_elem(fd_, &key, ips.data()) != 0) return std::nullopt;
  size_t n = 0;
  while (n < ips.size() && ips[n] != 0) ++n;
  sent_.insert(stack_id);
  refresh_symbols_for(std::span(ips.data(), n));
  return build(stack_id, std::span(ips.data(), n), symbols_, ts);
}

OwnedRecord StackRecorder::build(int32_t stack_id, std::span<const uint64_t> ips, const Kallsyms& symbols,
                                 uint64_t ts) {
  gt_stack_event e{};
  fill_user_header(e.hdr, GT_EV_STACK, ts);
  e.stack_id = stack_id;
  std::vector<gt_stack_frame> frames;
  std::string names;
  bool leading = true;
  for (uint64_t ip : ips) {
    auto r = symbols.resolve(ip);
    if (leading && is_tracing_frame(r.name)) continue;
    leading = false;
    frames.push_back({ip, static_cast<uint32_t>(r.offset), 0});
    names.append(r.name.empty() ? std::string_view("[unknown]") : r.name);
    names.push_back('\0');
  }
  e.nr_frames = static_cast<uint32_t>(frames.size());
  e.names_len = static_cast<uint32_t>(names.size());
  std::vector<std::byte> tail(frames.size() * sizeof(gt_stack_frame) + names.size());
  std::memcpy(tail.data(), frames.data(), frames.size() * sizeof(gt_stack_frame));
  std::memcpy(tail.data() + frames.size() * sizeof(gt_stack_frame), names.data(), names.size());
  return OwnedRecord::of(e, tail);
}

}  // namespace gputrace
