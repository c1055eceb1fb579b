// The table of record kinds: name and minimum size of each. Adding a kind means one line here.
#pragma once

#include <cstdint>
#include <string_view>

namespace gputrace {

struct KindInfo {
  std::string_view name;  // stable, used in stats and JSON ("dma_map", ...)
  uint32_t min_size = 0;  // 0: unknown kind
};

const KindInfo& kind_info(uint16_t kind);

// A record from the CUPTI injection library (bpf/gpu.h, kinds 61..79), as the engine and the
// capture see it: unpacked from its batch (kind 60, which never leaves GpuIngest).
inline bool is_gpu_activity_kind(uint16_t kind) { return kind > 60 && kind < 80; }

}  // namespace gputrace
