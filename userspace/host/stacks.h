// StackRecorder: turns the kernel stack ids that map events carry into GT_EV_STACK
// records, symbolized on this host (another host's kallsyms would name other functions).
// Each id is read from the BPF stack map and emitted once, before the first event using it.
#pragma once

#include "userspace/host/kallsyms.h"
#include "userspace/host/synthesized.h"

#include <chrono>
#include <optional>
#include <string>
#include <unordered_set>

namespace gputrace {

class StackRecorder {
 public:
  // symbols are reloaded when a stack reaches into module space after a module loaded
  StackRecorder(int stack_map_fd, std::string kallsyms_path = "/proc/kallsyms");

  // The record to emit before an event with this stack id, or nothing if already sent.
  std::optional<OwnedRecord> record_for(int32_t stack_id, uint64_t ts);

  // Builds a stack record from raw instruction pointers (exposed for tests).
  static OwnedRecord build(int32_t stack_id, std::span<const uint64_t> ips, const Kallsyms& symbols, uint64_t ts);

 private:
  void refresh_symbols_for(std::span<const uint64_t> ips);

  int fd_;
  std::string kallsyms_path_;
  Kallsyms symbols_;
  std::chrono::steady_clock::time_point loaded_at_;
  std::unordered_set<int32_t> sent_;
};

}  // namespace gputrace
