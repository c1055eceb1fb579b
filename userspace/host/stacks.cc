#include "host/stacks.h"

extern "C" {
#include "host.h"
}

#include <bpf/bpf.h>

#include <array>
#include <string>

namespace gputrace {

std::optional<OwnedRecord> StackRecorder::record_for(int32_t stack_id, uint64_t ts) {
  if (stack_id < 0 || fd_ < 0 || sent_.count(stack_id)) return std::nullopt;
  std::array<uint64_t, GT_MAX_STACK_DEPTH> ips{};
  uint32_t key = static_cast<uint32_t>(stack_id);
  if (bpf_map_lookup_elem(fd_, &key, ips.data()) != 0) return std::nullopt;
  size_t n = 0;
  while (n < ips.size() && ips[n] != 0) ++n;
  sent_.insert(stack_id);
  return build(stack_id, std::span(ips.data(), n), symbols_, ts);
}

OwnedRecord StackRecorder::build(int32_t stack_id, std::span<const uint64_t> ips, const Kallsyms& symbols,
                                 uint64_t ts) {
  gt_stack_event e{};
  fill_user_header(e.hdr, GT_EV_STACK, ts);
  e.stack_id = stack_id;
  e.nr_frames = static_cast<uint32_t>(ips.size());
  std::vector<gt_stack_frame> frames;
  std::string names;
  for (uint64_t ip : ips) {
    auto r = symbols.resolve(ip);
    frames.push_back({ip, static_cast<uint32_t>(r.offset), 0});
    names.append(r.name.empty() ? std::string_view("[unknown]") : r.name);
    names.push_back('\0');
  }
  e.names_len = static_cast<uint32_t>(names.size());
  std::vector<std::byte> tail(frames.size() * sizeof(gt_stack_frame) + names.size());
  std::memcpy(tail.data(), frames.data(), frames.size() * sizeof(gt_stack_frame));
  std::memcpy(tail.data() + frames.size() * sizeof(gt_stack_frame), names.data(), names.size());
  return OwnedRecord::of(e, tail);
}

}  // namespace gputrace
