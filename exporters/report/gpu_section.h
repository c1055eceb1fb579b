// The text report's GPU section: per process kernels, copies and what the correlation
// concluded, the injection libraries' own notes, transfer totals and learned baselines.
#pragma once

#include "userspace/model/host_snapshot.h"

#include <string>

namespace gputrace {

void render_gpu_section(std::string& out, const GpuSection& gpu);

}  // namespace gputrace
