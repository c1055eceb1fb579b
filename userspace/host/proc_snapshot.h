// Reads the processes alive when tracing starts from /proc, as GT_EV_PROC_INFO records,
// so mappings made by processes started earlier still have a named owner.
#pragma once

#include "userspace/host/synthesized.h"

#include <string>
#include <vector>

namespace gputrace {

std::vector<OwnedRecord> snapshot_processes(uint64_t ts, const std::string& proc_root = "/proc");

}  // namespace gputrace
